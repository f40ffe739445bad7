"""Pages for files: a document's preview page."""

from django.urls import path

from messaging.files import views

urlpatterns = [
    path("files/<uuid:attachment_id>/", views.preview_page, name="file-preview"),
]
