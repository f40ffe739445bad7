"""Saved messages: a person's own bookmarks (the "Saved" list).

Private: nobody else is told, and nothing is audited (a bookmark changes
nothing anyone else sees, and the audit log is for what people do to each
other and to conversations). The person's other tabs hear
``saved.changed`` on their own group.
"""

from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import events, policy
from messaging.errors import NotFound
from messaging.models import Message
from messaging.services.transactions import write_transaction
from messaging.threads.models import SavedMessage
from messaging.threads.services.reactions import membership_of, refuse_if_gone


def save_message(*, user: User, message_id: UUID) -> SavedMessage:
    """Save a message of a conversation ``user`` is a member of now;
    saving it again returns the saved row and publishes nothing.
    ``not_found`` (no such message, a system or deleted one, or not a
    member: the same answer, recorded), ``hidden``."""
    with write_transaction(actor=user, attempted="message.save"):
        message = Message.objects.select_related("conversation").filter(pk=message_id).first()
        if message is None:
            raise NotFound(_("No such message."))
        policy.check_read_message(user, message, membership=membership_of(user, message))
        refuse_if_gone(message)
        existing = SavedMessage.objects.filter(user=user, message=message).first()
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                saved = SavedMessage.objects.create(user=user, message=message)
        except IntegrityError:
            return SavedMessage.objects.get(user=user, message=message)  # another tab, just now
        events.publish_on_commit(
            events.user_group(user.pk), events.saved_changed(message_id=message.pk, saved=True)
        )
    return saved


def unsave_message(*, user: User, message_id: UUID) -> bool:
    """Take a message off one's saved list, whatever became of it or of
    one's membership since; True when it was saved, False when not
    (nothing published)."""
    policy.check_acting(user)
    with transaction.atomic():
        removed, _ = SavedMessage.objects.filter(user=user, message_id=message_id).delete()
        if removed:
            events.publish_on_commit(
                events.user_group(user.pk), events.saved_changed(message_id=message_id, saved=False)
            )
    return bool(removed)
