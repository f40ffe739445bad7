"""Link previews: the card (title, description, site, image) of the first
link in a message, when the deployment turns them on
(``PARLEY_LINK_PREVIEWS``).

A send whose rendered text links to an http(s) address gets a pending
``LinkPreview`` row in its transaction, and ``tasks.fetch_link_preview`` is
queued after commit (in the embedded default, which runs live tasks in the
sending process, it runs on a small thread pool there, so the send is not
held up). The task fetches the page through ``net`` (public
addresses only, bounded in time and size), reads its Open Graph tags
(``og:title``, ``og:description``, ``og:image``, ``og:site_name``) or
``<title>`` and the meta description, fetches the image the same way and
re-encodes it through the uploads' image path (``messaging.files.images``:
decoded fully, metadata dropped, ``MAX_IMAGE_PIXELS`` applies; the card
keeps its thumbnail), then marks the row ready and tells the conversation
(``link_preview.updated``). A page that cannot be fetched or says nothing
fails the row, and nothing is shown; an image that cannot be fetched or
decoded leaves a card without an image.

Whatever goes wrong after the card was queued (a refusal, a page or image
that cannot be read, storage) ends the card ``failed`` (logged), never
pending. Deleting the message removes its card and stored image
(``discard_for_deleted``), and a fetch that finishes after the deletion
stores nothing.

An edit does not fetch again: the card stays the one of the link the
message was sent with (its sender may remove it).
"""

import datetime as dt
import html
import html.parser
import logging
import re
from dataclasses import dataclass
from urllib.parse import urljoin
from uuid import UUID

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from config import broker
from messaging import audit, events, limits, policy
from messaging.errors import FileRefused, NotFound, UnsupportedFile
from messaging.files import images, sniffing, storage
from messaging.models import AuditAction, Message
from messaging.threads import net, tasks
from messaging.threads.models import LinkPreview, PreviewState

logger = logging.getLogger(__name__)

MAX_URL_CHARS = 2000  # LinkPreview.url's length: a longer link gets no card
TITLE_CHARS = 300
DESCRIPTION_CHARS = 1000
SITE_NAME_CHARS = 200
# Only the start of a page is parsed: the head is where these tags live.
MAX_PARSED_CHARS = 512 * 1024
MAX_PARSED_TAGS = 5000
_IMAGE_TYPES = (sniffing.PNG, sniffing.JPEG, sniffing.GIF, sniffing.WEBP)
_FIRST_LINK = re.compile(r'<a href="(https?://[^"]+)"', re.IGNORECASE)


def first_link(message: Message) -> str | None:
    """The first http(s) address the message's rendered text links to
    (written or bare, not a mention or an email address), unescaped."""
    found = _FIRST_LINK.search(message.content_html or "")
    if found is None:
        return None
    return html.unescape(found.group(1))


def card_url(message: Message) -> str | None:
    """The address a card is made for when ``message`` is sent (previews
    on, and the message links somewhere), or None."""
    if not limits.link_previews_enabled():
        return None
    url = first_link(message)
    if url is None or len(url) > MAX_URL_CHARS:
        return None
    return url


def queue_on_send(message: Message, url: str | None) -> None:
    """Give a message just sent its pending card for ``url`` (its
    ``card_url``, None for no card) and queue the fetch after commit.
    Called inside the send's transaction."""
    if url is None:
        return
    LinkPreview.objects.create(message=message, url=url)
    # A fetch takes seconds: where live tasks run in the sending process
    # (the embedded default) it runs beside the send, not before its answer.
    events.enqueue_on_commit(tasks.fetch_link_preview, str(message.pk), beside=True)


@dataclass
class Card:
    title: str = ""
    description: str = ""
    site_name: str = ""
    image: str = ""


class _HeadParser(html.parser.HTMLParser):
    """The page's Open Graph tags, ``<title>`` and meta description, read
    from a bounded number of tags."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title_parts: list[str] = []
        self.in_title = False
        self.tags = 0
        self.done = False

    def handle_starttag(self, tag, attrs):
        self.tags += 1
        if self.tags > MAX_PARSED_TAGS or tag == "body":
            self.done = True
        if self.done:
            return
        if tag == "title":
            self.in_title = True
        elif tag == "meta":
            named = dict(attrs)
            key = (named.get("property") or named.get("name") or "").strip().lower()
            content = named.get("content")
            if key and content is not None and key not in self.meta:
                self.meta[key] = content

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
        elif tag == "head":
            self.done = True

    def handle_data(self, data):
        if self.in_title and not self.done:
            self.title_parts.append(data)


def _clean(text: str, limit: int) -> str:
    return " ".join(text.split())[:limit]


def parse_card(page: str) -> Card:
    """What a card shows of ``page`` (HTML)."""
    parser = _HeadParser()
    text = page[:MAX_PARSED_CHARS]
    # Fed in pieces so a huge head stops being parsed once enough was seen.
    for start in range(0, len(text), 8192):
        if parser.done:
            break
        parser.feed(text[start : start + 8192])
    meta = parser.meta
    return Card(
        title=_clean(meta.get("og:title") or "".join(parser.title_parts), TITLE_CHARS),
        description=_clean(
            meta.get("og:description") or meta.get("description") or "", DESCRIPTION_CHARS
        ),
        site_name=_clean(meta.get("og:site_name") or "", SITE_NAME_CHARS),
        image=(meta.get("og:image:secure_url") or meta.get("og:image") or "").strip(),
    )


@dataclass
class _Image:
    content: bytes
    file_type: sniffing.FileType
    width: int
    height: int


def _fetch_image(url: str, *, timeout: float) -> _Image | None:
    """The card's image, fetched and re-encoded like an upload's (its
    thumbnail); None when it cannot be had."""
    try:
        fetched = net.fetch(
            url, expect="image", max_bytes=limits.link_preview_max_bytes(), timeout=timeout
        )
        file_type = sniffing.sniff(fetched.body)
        if file_type not in _IMAGE_TYPES:
            return None
        processed = images.process(fetched.body, file_type)
    except (net.Refused, FileRefused, UnsupportedFile) as error:
        logger.info("Link preview image %s not used: %s", url, error)
        return None
    except Exception:
        # A decoder's own error: the card goes without its image.
        logger.exception("Link preview image %s could not be processed", url)
        return None
    return _Image(
        content=processed.thumbnail,
        file_type=processed.thumbnail_type,
        width=processed.thumbnail_width,
        height=processed.thumbnail_height,
    )


def image_key(message_id: UUID, file_type: sniffing.FileType) -> str:
    return f"link-previews/{message_id.hex[:2]}/{message_id.hex}/image{file_type.extension}"


def fetch(*, message_id: UUID) -> str | None:
    """Fetch the pending card of ``message_id`` and store what it shows;
    the state it ends in (``None`` when there was nothing pending: safe to
    run twice). Tells the conversation when the card is ready. Any failure,
    expected or not, ends the card ``failed``: never left pending."""
    preview = LinkPreview.objects.filter(message_id=message_id, state=PreviewState.PENDING).first()
    if preview is None:
        return None
    try:
        card, image = _fetch_card(preview.url)
        return _record(message_id=message_id, card=card, image=image)
    except Exception:
        logger.exception("Link preview of message %s failed", message_id)
        return _fail(message_id=message_id)


def _fetch_card(url: str) -> tuple[Card | None, _Image | None]:
    timeout = limits.link_preview_timeout_seconds()
    card = None
    image = None
    try:
        page = net.fetch(
            url, expect="page", max_bytes=limits.link_preview_max_bytes(), timeout=timeout
        )
        card = parse_card(page.body.decode(page.charset or "utf-8", errors="replace"))
        if card.image:
            image = _fetch_image(urljoin(page.url, card.image), timeout=timeout)
    except (net.Refused, LookupError) as error:
        logger.info("Link preview of %s failed: %s", url, error)
    if card is not None and not (card.title or card.description):
        card = None
    return card, image


# A card still pending this long after its message lost its fetch (the
# broker or Redis restarted empty, the worker died): it is queued again,
# until ABANDONED_AFTER, when it is given up.
STALE_AFTER = dt.timedelta(minutes=2)
ABANDONED_AFTER = dt.timedelta(hours=1)


def requeue_stale() -> int:
    """Queue the fetch of the cards still pending well after their fetch
    should have ended, and end as ``failed`` those pending for an hour (a
    failed card shows nothing, as a page without a card does). A card fetched
    twice is stored once (``fetch`` takes only a pending card). Returns how
    many were queued."""
    now = timezone.now()
    pending = LinkPreview.objects.filter(state=PreviewState.PENDING)
    for message_id in list(
        pending.filter(created_at__lt=now - ABANDONED_AFTER).values_list("message_id", flat=True)
    ):
        _fail(message_id=message_id)
    stale = list(
        pending.filter(
            created_at__lt=now - STALE_AFTER, created_at__gte=now - ABANDONED_AFTER
        ).values_list("message_id", flat=True)
    )
    for message_id in stale:
        try:
            broker.send(tasks.fetch_link_preview, str(message_id))
        except Exception:
            logger.exception("Could not queue the link preview of message %s again", message_id)
    return len(stale)


def _fail(*, message_id: UUID) -> str | None:
    """End a card still pending as ``failed`` (after an unexpected error)."""
    failed = LinkPreview.objects.filter(message_id=message_id, state=PreviewState.PENDING).update(
        state=PreviewState.FAILED, fetched_at=timezone.now()
    )
    return PreviewState.FAILED if failed else None


def _record(
    *,
    message_id: UUID,
    card: Card | None,
    image: _Image | None,
) -> str | None:
    stored_key = ""
    if card is not None and image is not None:
        stored_key = storage.save(image_key(message_id, image.file_type), image.content)
    try:
        return _store(
            message_id=message_id,
            card=card,
            image=image,
            stored_key=stored_key,
        )
    except BaseException:
        storage.delete_quietly(stored_key)
        raise


def _store(
    *,
    message_id: UUID,
    card: Card | None,
    image: _Image | None,
    stored_key: str,
) -> str | None:
    with transaction.atomic():
        preview = (
            LinkPreview.objects.select_for_update()
            .select_related("message")
            .filter(message_id=message_id, state=PreviewState.PENDING)
            .first()
        )
        if preview is None:
            # Removed (or finished by another run) meanwhile.
            storage.delete_quietly(stored_key)
            return None
        if preview.message.deleted_at:
            # Deleted meanwhile (its card is removed with it): nothing kept.
            storage.delete_quietly(stored_key)
            preview.state = PreviewState.REMOVED
            preview.save(update_fields=["state"])
            return preview.state
        preview.fetched_at = timezone.now()
        if card is None:
            preview.state = PreviewState.FAILED
            preview.save(update_fields=["state", "fetched_at"])
            return preview.state
        preview.state = PreviewState.READY
        preview.title = card.title
        preview.description = card.description
        preview.site_name = card.site_name
        preview.image_name = stored_key
        preview.image_width = image.width if image and stored_key else None
        preview.image_height = image.height if image and stored_key else None
        preview.save()
        message = preview.message
        if not message.hidden_at:
            events.publish_on_commit(
                events.conversation_group(message.conversation_id),
                events.link_preview_updated(message),
            )
        return preview.state


def discard_for_deleted(*, message_id: UUID) -> None:
    """The card of a message being deleted (called in the deletion's
    transaction): state ``removed``, its stored image deleted after commit.
    No frame (``message.deleted`` says it all) and no audit row (the
    deletion has its own). Nothing to do without a card."""
    preview = LinkPreview.objects.select_for_update().filter(message_id=message_id).first()
    if preview is None or preview.state == PreviewState.REMOVED:
        return
    key = preview.image_name
    preview.state = PreviewState.REMOVED
    preview.image_name = ""
    preview.save(update_fields=["state", "image_name"])
    if key:
        transaction.on_commit(lambda: storage.delete_quietly(key))


def remove(*, actor: User, message_id: UUID) -> LinkPreview:
    """The sender removes their message's card: state ``removed``, its
    image deleted, a ``preview.remove`` audit row, ``link_preview.updated``
    with ``null``. Removing a removed card changes nothing. ``NotFound``
    for a message the actor cannot read or without a card;
    ``AccessDenied`` for anyone but the sender."""
    with transaction.atomic():
        message = Message.objects.select_related("conversation").filter(pk=message_id).first()
        if message is None or not policy.may_read(actor, message.conversation):
            raise NotFound(_("No such message."))
        preview = LinkPreview.objects.select_for_update().filter(message_id=message_id).first()
        if preview is None or message.deleted_at or message.hidden_at:
            raise NotFound(_("This message has no link preview."))
        policy.check_remove_link_preview(actor, message)
        if preview.state == PreviewState.REMOVED:
            return preview
        key = preview.image_name
        preview.state = PreviewState.REMOVED
        preview.image_name = ""
        preview.save(update_fields=["state", "image_name"])
        audit.record(
            actor=actor,
            action=AuditAction.PREVIEW_REMOVE,
            conversation_id=message.conversation_id,
            message_id=message.pk,
            url=preview.url,
        )
        message.link_preview = preview
        events.publish_on_commit(
            events.conversation_group(message.conversation_id),
            events.link_preview_updated(message),
        )
        if key:
            transaction.on_commit(lambda: storage.delete_quietly(key))
    return preview
