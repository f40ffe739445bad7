"""Thin API views over ``messaging.files.services`` and ``serving``."""

from messaging.api.views import ParleyAPIView


class UploadView(ParleyAPIView):
    pass


class AttachmentView(ParleyAPIView):
    pass


class ContentView(ParleyAPIView):
    pass


class ThumbnailView(ParleyAPIView):
    pass


class PreviewView(ParleyAPIView):
    pass
