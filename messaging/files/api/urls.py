"""The files API, mounted at ``api/`` before messaging's (whose last route
answers 404 for any other path). docs/api.md describes each endpoint."""

from django.urls import path

from messaging.files.api import downloads, uploads

urlpatterns = [
    path(
        "conversations/<uuid:conversation_id>/attachments/",
        uploads.UploadView.as_view(),
        name="api-attachments-upload",
    ),
    path(
        "attachments/<uuid:attachment_id>/", uploads.AttachmentView.as_view(), name="api-attachment"
    ),
    path(
        "attachments/<uuid:attachment_id>/content/",
        downloads.ContentView.as_view(),
        name="api-attachment-content",
    ),
    path(
        "attachments/<uuid:attachment_id>/thumbnail/",
        downloads.ThumbnailView.as_view(),
        name="api-attachment-thumbnail",
    ),
    path(
        "attachments/<uuid:attachment_id>/preview/<int:page>/",
        downloads.PreviewView.as_view(),
        name="api-attachment-preview",
    ),
]
