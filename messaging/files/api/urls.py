"""The files API, mounted at ``api/`` before messaging's (whose last route
answers 404 for any other path). docs/api.md describes each endpoint."""

from django.urls import path

from messaging.files.api import views

urlpatterns = [
    path(
        "conversations/<uuid:conversation_id>/attachments/",
        views.UploadView.as_view(),
        name="api-attachments-upload",
    ),
    path(
        "attachments/<uuid:attachment_id>/", views.AttachmentView.as_view(), name="api-attachment"
    ),
    path(
        "attachments/<uuid:attachment_id>/content/",
        views.ContentView.as_view(),
        name="api-attachment-content",
    ),
    path(
        "attachments/<uuid:attachment_id>/thumbnail/",
        views.ThumbnailView.as_view(),
        name="api-attachment-thumbnail",
    ),
    path(
        "attachments/<uuid:attachment_id>/preview/<int:page>/",
        views.PreviewView.as_view(),
        name="api-attachment-preview",
    ),
]
