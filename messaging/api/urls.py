from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView

from messaging.api import errors, views

urlpatterns = [
    path("conversations/", views.ConversationListView.as_view(), name="api-conversations"),
    path(
        "conversations/<uuid:conversation_id>/",
        views.ConversationDetailView.as_view(),
        name="api-conversation",
    ),
    path(
        "conversations/<uuid:conversation_id>/archive/",
        views.ConversationArchiveView.as_view(),
        name="api-conversation-archive",
    ),
    path(
        "conversations/<uuid:conversation_id>/unarchive/",
        views.ConversationUnarchiveView.as_view(),
        name="api-conversation-unarchive",
    ),
    path(
        "conversations/<uuid:conversation_id>/participants/",
        views.ParticipantListView.as_view(),
        name="api-participants",
    ),
    path(
        "conversations/<uuid:conversation_id>/participants/<uuid:user_id>/",
        views.ParticipantDetailView.as_view(),
        name="api-participant",
    ),
    path(
        "conversations/<uuid:conversation_id>/messages/",
        views.MessageListView.as_view(),
        name="api-messages",
    ),
    path(
        "conversations/<uuid:conversation_id>/read/",
        views.ReadView.as_view(),
        name="api-read",
    ),
    path("messages/<uuid:message_id>/", views.MessageDetailView.as_view(), name="api-message"),
    path("presence/", views.PresenceView.as_view(), name="api-presence"),
    path("me/", views.MeView.as_view(), name="api-me"),
    path(
        "users/messageable/",
        views.MessageableUsersView.as_view(),
        name="api-users-messageable",
    ),
    path("auth/token/", views.ObtainTokenView.as_view(), name="api-token"),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", views.DocsView.as_view(), name="api-docs"),
    # Last: anything else under /api/ is a JSON 404, not Django's HTML page
    # (newlines included: a path may carry an encoded one).
    re_path(r"^[\s\S]*$", errors.not_found),
]
