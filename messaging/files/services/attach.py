"""Attaching uploads to a message: the part of ``send_message`` that is
about files. The send reads the uploads before its transaction (refusing
what it cannot send), claims them inside it, and hands the message its
attachments so its payload needs no further query."""

from collections.abc import Sequence
from uuid import UUID

from django.conf import settings
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils.translation import gettext as _

from accounts.models import User
from messaging.errors import FileRefused, InvalidInput
from messaging.files import payloads
from messaging.files.models import Attachment, AttachmentKind
from messaging.models import Message, MessageType


class AlreadyClaimed(InvalidInput):
    """The claim found an upload no longer unsent: another send took it
    first (or this is a resend of that send; ``send_message`` tells which)."""

    def __init__(self) -> None:
        super().__init__(_("An attachment was already sent."))


def max_attachments() -> int:
    return int(settings.PARLEY["MAX_ATTACHMENTS_PER_MESSAGE"])


def uploads_to_send(
    *, sender: User, conversation_id: UUID, attachment_ids: Sequence[UUID]
) -> list[Attachment]:
    """The uploads ``attachment_ids`` names, in that order: each the
    sender's, made in this conversation. Read before the send's
    transaction; whether each is still unsent is the claim's to decide.

    Refused, with nothing changed: the same id twice (``invalid``), more
    than ``MAX_ATTACHMENTS_PER_MESSAGE`` (``FileRefused``,
    ``too_many_files``), an id that is not such an upload (``invalid``:
    someone else's upload and another conversation's are no different from
    one that does not exist).
    """
    ids = list(attachment_ids)
    if len(set(ids)) != len(ids):
        raise InvalidInput(_("attachments lists the same upload twice."))
    limit = max_attachments()
    if len(ids) > limit:
        raise FileRefused.too_many_files(limit)
    found = {
        a.pk: a
        for a in Attachment.objects.filter(
            pk__in=ids, uploader=sender, conversation_id=conversation_id
        )
    }
    missing = [str(i) for i in ids if i not in found]
    if missing:
        raise InvalidInput(
            _("No such upload of yours in this conversation: %(id)s.") % {"id": missing[0]}
        )
    return [found[i] for i in ids]


def message_type_for(uploads: Sequence[Attachment]) -> str:
    """``image`` when every file is an image (a gallery), else ``file``."""
    if all(u.kind == AttachmentKind.IMAGE for u in uploads):
        return MessageType.IMAGE
    return MessageType.FILE


def file_url_for(uploads: Sequence[Attachment]) -> str:
    """The seed's ``file_url`` column: the first file's content URL (Parley's
    own checked endpoint, never a storage address)."""
    return payloads.content_url(uploads[0])


def _unsent(ids: Sequence[UUID]) -> QuerySet[Attachment]:
    return Attachment.objects.filter(pk__in=ids, message__isnull=True)


def claim(*, message: Message, uploads: Sequence[Attachment]) -> None:
    """Give ``uploads`` to ``message``, in their order, in the caller's
    transaction: one ``UPDATE … WHERE message IS NULL`` (positions by
    ``CASE``), so two sends of one upload cannot both take it. The UPDATE
    locks the rows: a
    preview task writing one of them either finished first (and the load
    below sees its result) or waits for this commit (and then sees the
    message and announces the preview).

    Raises ``AlreadyClaimed`` if any upload was sent meanwhile; the caller's
    transaction must then roll back (the others stay unsent).

    Then loads the uploads as stored into ``message``'s prefetch cache, so
    ``events.message_payload(message)`` shows them without another query.
    """
    ids = [u.pk for u in uploads]
    position = Case(
        *(When(pk=pk, then=Value(n)) for n, pk in enumerate(ids)),
        output_field=IntegerField(),
    )
    claimed = _unsent(ids).update(message=message.pk, position=position, sent_at=message.sent_at)
    if claimed != len(ids):
        raise AlreadyClaimed()
    attach_loaded(message, list(Attachment.objects.filter(pk__in=ids).order_by("position")))


def attach_loaded(message: Message, attachments: list[Attachment]) -> None:
    """Put ``attachments`` in ``message``'s prefetch cache
    (``message.attachments.all()`` answers from it)."""
    cache = getattr(message, "_prefetched_objects_cache", None)
    if cache is None:
        cache = {}
        # Django's own attribute for prefetched relations.
        setattr(message, "_prefetched_objects_cache", cache)  # noqa: B010
    cache["attachments"] = attachments


def sent_ids(message: Message) -> list[UUID]:
    """The ids of a stored message's attachments, in order (a resend
    compares them); none for a text message, without a query. Answers from
    the prefetch cache when the message was read with its attachments."""
    if message.message_type not in (MessageType.FILE, MessageType.IMAGE, MessageType.ENCRYPTED):
        return []
    return [a.pk for a in message.attachments.all()]
