"""The public shape of an attachment, in message payloads, ``attachment.*``
frames and the API (docs/protocol.md, docs/api.md).

URLs are Parley's own endpoints, never a storage address: every fetch is
checked there (``messaging.files.serving``)."""

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext

from messaging import notices
from messaging.files.models import Attachment, AttachmentKind, PreviewState
from messaging.threads import markdown


def content_url(attachment: Attachment) -> str:
    return reverse("api-attachment-content", args=[attachment.pk])


def thumbnail_url(attachment: Attachment) -> str:
    return reverse("api-attachment-thumbnail", args=[attachment.pk])


def preview_url(attachment: Attachment, page: int) -> str:
    """``page`` counts from 1."""
    return reverse("api-attachment-preview", args=[attachment.pk, page])


def excerpt(attachment: Attachment) -> str | None:
    """The start of a text file's text (plain text: pages escape it)."""
    if attachment.kind != AttachmentKind.TEXT or attachment.preview_state != PreviewState.READY:
        return None
    return attachment.extracted_text[: settings.PARLEY["EXCERPT_MAX_CHARS"]]


def attachment_payload(attachment: Attachment) -> dict:
    has_thumbnail = bool(attachment.thumbnail_key)
    return {
        "id": str(attachment.pk),
        "message_id": str(attachment.message_id) if attachment.message_id else None,
        "name": attachment.name,
        "size": attachment.size,
        "content_type": attachment.content_type,
        "kind": attachment.kind,
        "url": content_url(attachment),
        "width": attachment.width,
        "height": attachment.height,
        "thumbnail": (
            {
                "url": thumbnail_url(attachment),
                "width": attachment.thumbnail_width,
                "height": attachment.thumbnail_height,
            }
            if has_thumbnail
            else None
        ),
        "preview": {
            "state": attachment.preview_state,
            "page_count": attachment.page_count,
            "pages": [
                {"url": preview_url(attachment, n), "width": p["width"], "height": p["height"]}
                for n, p in enumerate(attachment.preview_pages, start=1)
            ],
            "excerpt": excerpt(attachment),
        },
    }


def message_text(message) -> str:
    """What a message says, for a notification, an email or the inbox: its
    words as the page shows them (its rendered text, without the Markdown
    marks), or, for files sent without a caption, their names
    (``Sent a.pdf, b.png``). An end-to-end encrypted message says only that
    it is one, in the active language: the server has neither its text nor
    its files' names."""
    if message.deleted_at:
        return ""
    if message.message_type == "encrypted":
        return gettext("New encrypted message")
    if message.message_type == "system":
        # "Maria added Sam" in the active language (messaging.notices).
        return notices.worded(message.metadata) or message.content
    words = markdown.words_of(message)
    if words:
        return words
    names = [a.name for a in message.attachments.all()]
    return gettext("Sent %(names)s") % {"names": ", ".join(names)} if names else ""


def worded_by_the_server(message) -> bool:
    """Whether ``message_text`` words ``message`` in the active language
    (files sent without a caption, a system message's notice) rather than
    quoting its sender: what is built from it for many people is then built
    in each one's language."""
    if message.message_type == "system" and not message.deleted_at:
        return notices.worded(message.metadata) is not None
    return not (
        message.deleted_at
        or message.message_type == "encrypted"
        or message.content_html
        or message.content
    )
