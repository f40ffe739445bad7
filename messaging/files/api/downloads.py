"""Fetching a file, its thumbnail or a preview page, after the access check."""

from messaging.api.views import ParleyAPIView


class ContentView(ParleyAPIView):
    pass


class ThumbnailView(ParleyAPIView):
    pass


class PreviewView(ParleyAPIView):
    pass
