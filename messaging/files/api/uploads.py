"""Uploading a file, reading and discarding an upload (docs/api.md, Files).

The upload is the API's one body that is not JSON: ``multipart/form-data``
with one file field, ``file``. Its size is refused from ``Content-Length``
before the body is parsed, and again while it is parsed, so an oversized
file is never parsed whole. (daphne receives the body before any of this
runs: the reverse proxy's body limit bounds what reaches the server.)"""

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from messaging.api.serializers import ErrorOut
from messaging.api.views import ParleyAPIView
from messaging.errors import FileTooLarge, InvalidInput
from messaging.files.api.serializers import AttachmentOut
from messaging.files.selectors import access
from messaging.files.services import uploads
from messaging.realtime import ratelimit

# Room for the multipart framing (boundaries, part headers, a long file
# name) around the file itself.
MULTIPART_OVERHEAD_BYTES = 64 * 1024


def _max_upload_bytes() -> int:
    return settings.PARLEY["MAX_UPLOAD_BYTES"]


def _too_large() -> FileTooLarge:
    return FileTooLarge(_max_upload_bytes())


class _SizeLimit(FileUploadHandler):
    """First of the request's upload handlers: refuses a file once more
    than ``MAX_UPLOAD_BYTES`` of it arrived (a body sent without an honest
    ``Content-Length``), before the next handler writes it anywhere."""

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > _max_upload_bytes():
            raise _too_large()
        return raw_data

    def file_complete(self, file_size):
        return None


@extend_schema_field(OpenApiTypes.BINARY)
class _FilePart(serializers.FileField):
    """A file part: bytes in the request (the schema's ``binary``)."""


class UploadIn(serializers.Serializer):
    file = _FilePart(
        allow_empty_file=True,  # refused by the service, as empty_file
        help_text="The file. Its type is read from its bytes, never from its name "
        "or the part's Content-Type.",
    )
    encrypted = serializers.ChoiceField(
        choices=["true", "false"],
        required=False,
        help_text="true: the file is end-to-end encrypted (docs/e2e.md), stored opaque as "
        "encrypted.bin; required in an encrypted conversation, refused in a plain one.",
    )


_ERRORS = {
    400: "invalid: no `file` part, more than one, or `file` not a file; or a body that is "
    "not well-formed multipart; e2e_required: a plain file for an end-to-end encrypted "
    "conversation; e2e_not_allowed: encrypted=true for a plain one",
    401: "not authenticated",
    403: "forbidden: a session's write without its CSRF token",
    404: "not_found: no such conversation, or not a member of it",
    409: "archived: the conversation is archived",
    413: "file_too_large: over MAX_UPLOAD_BYTES (refused from Content-Length before the "
    "body is parsed)",
    415: "unsupported_file: the bytes are not of an allowed type (HTML, SVG and XML never "
    "are); unsupported_media_type: the body is not multipart/form-data",
    422: "empty_file, damaged_file (truncated or undecodable), or image_too_large "
    "(more pixels than MAX_IMAGE_PIXELS)",
    429: "upload_quota (the uploader's files or bytes in 24 hours), or rate_limited, "
    "with Retry-After",
}


def _errors(*codes: int) -> dict:
    return {code: OpenApiResponse(ErrorOut, description=_ERRORS[code]) for code in codes}


class UploadView(ParleyAPIView):
    parser_classes = [MultiPartParser]  # type: ignore[list-item]  # JSON elsewhere

    def initial(self, request, *args, **kwargs):
        # Before authentication: a session's CSRF check reads the form, which
        # would parse (and spool) the whole body first.
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > _max_upload_bytes() + MULTIPART_OVERHEAD_BYTES:
            raise _too_large()
        request.upload_handlers.insert(0, _SizeLimit(request))
        super().initial(request, *args, **kwargs)

    @extend_schema(
        operation_id="attachments_upload",
        request={"multipart/form-data": UploadIn},
        responses={201: AttachmentOut, **_errors(400, 401, 403, 404, 409, 413, 415, 422, 429)},
        description="Upload one file to a conversation you may post in. The answer is the "
        "unsent upload (message_id null): name it in a send's `attachments` to share it. "
        "Images are stored re-encoded (upright, without metadata) with a thumbnail; PDF, "
        "office and text files get a preview made after the upload (preview.state pending).",
    )
    def post(self, request, conversation_id):
        parts = request.data.getlist("file") if hasattr(request.data, "getlist") else []
        if len(parts) != 1 or not hasattr(parts[0], "read"):
            raise InvalidInput(_("Send one file as the multipart field 'file'."))
        upload = parts[0]
        encrypted = request.data.get("encrypted", "false")
        if encrypted not in ("true", "false"):
            raise InvalidInput(_("encrypted must be true or false."))
        ratelimit.spend_send(request.user)
        attachment = uploads.create_upload(
            uploader=request.user,
            conversation_id=conversation_id,
            upload=upload,
            encrypted=encrypted == "true",
        )
        return Response(AttachmentOut(attachment).data, status=status.HTTP_201_CREATED)


class AttachmentView(ParleyAPIView):
    @extend_schema(
        operation_id="attachments_retrieve",
        responses={200: AttachmentOut, **_errors(401, 404)},
        description="One attachment: your own unsent upload, or a file of a message in a "
        "conversation you are a member of. Pages poll it while preview.state is pending.",
    )
    def get(self, request, attachment_id):
        return Response(AttachmentOut(access.attachment_for(request.user, attachment_id)).data)

    @extend_schema(
        operation_id="attachments_discard",
        responses={204: None, **_errors(401, 404)},
        description="Discard your own upload that no message has claimed; its bytes go too.",
    )
    def delete(self, request, attachment_id):
        uploads.discard_upload(actor=request.user, attachment_id=attachment_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
