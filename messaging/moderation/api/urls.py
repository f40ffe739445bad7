"""The moderation API, mounted at ``api/`` before messaging's (whose last
route answers 404 for any other path). docs/api.md describes each endpoint."""

from django.urls import path

from messaging.moderation.api import blocks, reports, warnings

urlpatterns = [
    path(
        "conversations/<uuid:conversation_id>/warnings/",
        warnings.WarningListView.as_view(),
        name="api-conversation-warnings",
    ),
    path(
        "messages/<uuid:message_id>/report/",
        reports.ReportMessageView.as_view(),
        name="api-message-report",
    ),
    path("blocks/", blocks.BlockListView.as_view(), name="api-blocks"),
    path("blocks/<uuid:user_id>/", blocks.BlockDetailView.as_view(), name="api-block"),
]
