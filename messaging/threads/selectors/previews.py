"""Reads of link previews."""

from uuid import UUID

from django.utils.translation import gettext as _

from accounts.models import User
from messaging import policy
from messaging.errors import NotFound
from messaging.models import Message
from messaging.threads.models import LinkPreview, PreviewState


def image_for(user: User, message_id: UUID) -> LinkPreview:
    """The ready card with an image of a message ``user`` may read, by the
    attachments' rule: a current member of its conversation, the message
    neither deleted nor hidden. Anything else is ``NotFound`` (a refusal
    does not tell that a card is there)."""
    message = Message.objects.select_related("conversation").filter(pk=message_id).first()
    if (
        message is None
        or message.deleted_at is not None
        or message.hidden_at is not None
        or not policy.may_read(user, message.conversation)
    ):
        raise NotFound(_("No such link preview image."))
    preview = LinkPreview.objects.filter(message_id=message_id, state=PreviewState.READY).first()
    if preview is None or not preview.image_name:
        raise NotFound(_("No such link preview image."))
    return preview
