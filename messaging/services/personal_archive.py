"""A member's own archive of a conversation: it leaves their inbox (into
the Archived view) without changing it for anyone else. The conversation's
own archive (``conversations.set_archived``, by its admins) is another
thing and stays.

The rule of which archived conversations come back lives with the inbox
(``messaging.selectors.inbox``): one comes back when a message newer than
the archiving arrives, unless the member has it muted."""

from uuid import UUID

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import policy
from messaging.errors import NotFound
from messaging.models import Conversation, ConversationParticipant


def set_archived_for_me(
    *, user: User, conversation_id: UUID, archived: bool
) -> ConversationParticipant:
    """Archive the conversation for ``user`` (now: archiving again moves the
    time on), or bring it back (``archived`` False; harmless when it was
    not archived). Any active member may, whether or not the conversation
    itself is archived; anyone else gets ``NotFound``, as if it did not
    exist."""
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    membership = (
        ConversationParticipant.objects.active()
        .filter(conversation_id=conversation_id, user_id=user.pk)
        .first()
    )
    if (
        conversation is None
        or membership is None
        or not policy.may_read(user, conversation, membership=membership)
    ):
        raise NotFound(_("No such conversation."))
    membership.archived_at = timezone.now() if archived else None
    membership.save(update_fields=["archived_at"])
    return membership
