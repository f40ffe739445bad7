"""The moderation API, mounted at ``api/`` before messaging's (whose last
route answers 404 for any other path). docs/api.md describes each endpoint."""

from django.urls import path

from messaging.moderation.api import warnings

urlpatterns = [
    path(
        "conversations/<uuid:conversation_id>/warnings/",
        warnings.WarningListView.as_view(),
        name="api-conversation-warnings",
    ),
]
