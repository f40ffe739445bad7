"""API views for link previews (docs/api.md, "Link previews")."""

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from messaging.api import serializers as s
from messaging.api.views import ParleyAPIView
from messaging.files import serving
from messaging.threads.selectors import previews as selectors
from messaging.threads.services import previews


class PreviewView(ParleyAPIView):
    @extend_schema(
        operation_id="link_preview_remove",
        responses={
            204: None,
            401: OpenApiResponse(s.ErrorOut, description="not authenticated"),
            403: OpenApiResponse(s.ErrorOut, description="forbidden: not the message's sender"),
            404: OpenApiResponse(
                s.ErrorOut,
                description="not_found: no such message, not a member, or no link preview",
            ),
        },
        description="The sender removes their message's link card (state removed, "
        "link_preview.updated with null). Removing it again changes nothing.",
    )
    def delete(self, request, message_id):
        previews.remove(actor=request.user, message_id=message_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PreviewImageView(ParleyAPIView):
    @extend_schema(
        operation_id="link_preview_image",
        responses={
            (200, "image/*"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The card's re-encoded image (PNG or JPEG)."
            ),
            302: OpenApiResponse(description="S3 storage: a short-lived signed URL."),
            401: OpenApiResponse(s.ErrorOut, description="not authenticated"),
            404: OpenApiResponse(
                s.ErrorOut, description="not_found: no such image, or not yours to see"
            ),
        },
    )
    def get(self, request, message_id):
        preview = selectors.image_for(request.user, message_id)
        return serving.serve_stored_image(
            key=preview.image_name, filename=f"link-preview-{preview.image_name.rsplit('/', 1)[-1]}"
        )


urlpatterns: list = [
    path(
        "messages/<uuid:message_id>/preview/",
        PreviewView.as_view(),
        name="api-message-preview",
    ),
    path(
        "messages/<uuid:message_id>/preview/image/",
        PreviewImageView.as_view(),
        name="api-message-preview-image",
    ),
]
