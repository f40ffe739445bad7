"""A document's preview page: its rendered pages, its name, a download."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from messaging.errors import MessagingError
from messaging.files.models import AttachmentKind, PreviewState
from messaging.files.payloads import attachment_payload
from messaging.files.selectors import access

KIND_WORDS: dict[str, str | Promise] = {
    AttachmentKind.IMAGE: gettext_lazy("Image"),
    AttachmentKind.PDF: gettext_lazy("PDF document"),
    AttachmentKind.OFFICE: gettext_lazy("Office document"),
    AttachmentKind.TEXT: gettext_lazy("Text file"),
    AttachmentKind.ARCHIVE: gettext_lazy("Archive"),
}


@login_required
def preview_page(request, attachment_id):
    """The pages rendered so far (``PREVIEW_MAX_PAGES`` of them at most),
    with their sizes reserved, and a download of the whole file. Who may see
    it is exactly who may fetch the file (``selectors.access``, the API's
    rule); anyone else gets a 404, as for a file that does not exist."""
    try:
        attachment = access.attachment_for(user=request.user, attachment_id=attachment_id)
    except MessagingError:
        raise Http404("No such file.") from None
    payload = attachment_payload(attachment)
    preview = payload["preview"]
    message = attachment.message
    return render(
        request,
        "messaging/file_preview.html",
        {
            "attachment": attachment,
            "kind_words": KIND_WORDS.get(attachment.kind, _("File")),
            "file": payload,
            "pages": preview["pages"],
            "page_count": preview["page_count"],
            "excerpt": preview["excerpt"],
            "pending": attachment.preview_state == PreviewState.PENDING,
            "download_url": f"{payload['url']}?download=1",
            "conversation_id": attachment.conversation_id,
            "message_seq": message.seq if message is not None else None,
        },
    )
