"""Uploading a file, reading and discarding an upload (docs/api.md, Files)."""

from messaging.api.views import ParleyAPIView


class UploadView(ParleyAPIView):
    pass


class AttachmentView(ParleyAPIView):
    pass
