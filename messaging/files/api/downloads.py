"""Fetching a file, its thumbnail or a preview page, after the access check
(docs/api.md, "Fetching files, thumbnails and previews"). Session or token
auth: a page's ``<img>`` sends the session cookie with its GET."""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from messaging.api import serializers as s
from messaging.api.views import ParleyAPIView
from messaging.errors import InvalidInput
from messaging.files import serving
from messaging.files.selectors.access import attachment_for

_FETCH_RESPONSES = {
    # The detected type of the file (an image, a PDF, text…), or PNG/JPEG
    # renditions for thumbnails and preview pages.
    (200, "*/*"): OpenApiResponse(
        OpenApiTypes.BINARY, description="The bytes (filesystem storage), of the file's type."
    ),
    302: OpenApiResponse(description="S3 storage: a short-lived signed URL to the bytes."),
    401: OpenApiResponse(s.ErrorOut, description="not authenticated"),
    404: OpenApiResponse(
        s.ErrorOut,
        description="no such file, or not yours to fetch (not a current member, "
        "message deleted, someone else's unsent upload)",
    ),
}


class ContentView(ParleyAPIView):
    @extend_schema(
        operation_id="attachments_content",
        parameters=[
            OpenApiParameter(
                "download",
                OpenApiTypes.STR,
                enum=["1"],
                description="1: Content-Disposition attachment, for images too.",
            )
        ],
        responses=_FETCH_RESPONSES,
    )
    def get(self, request, attachment_id):
        download = request.query_params.get("download")
        if download not in (None, "1"):
            raise InvalidInput(_("download is 1 or absent."))
        attachment = attachment_for(request.user, attachment_id)
        download = download == "1"
        return serving.serve_content(request.user, attachment, download=download)


class ThumbnailView(ParleyAPIView):
    @extend_schema(operation_id="attachments_thumbnail", responses=_FETCH_RESPONSES)
    def get(self, request, attachment_id):
        return serving.serve_thumbnail(attachment_for(request.user, attachment_id))


class PreviewView(ParleyAPIView):
    @extend_schema(operation_id="attachments_preview_page", responses=_FETCH_RESPONSES)
    def get(self, request, attachment_id, page):
        return serving.serve_preview_page(attachment_for(request.user, attachment_id), page)
