from functools import wraps

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.permissions import BasePermission

from messaging.api import errors, views


def schema_is_public() -> bool:
    return settings.PARLEY_PUBLIC_API_SCHEMA


class SchemaReaders(BasePermission):
    """Signed-in people (session or token), or anyone when
    ``PARLEY_PUBLIC_API_SCHEMA`` is on."""

    def has_permission(self, request, view):
        return schema_is_public() or bool(request.user and request.user.is_authenticated)


def signed_in_page(view):
    """The docs page (and its script) send anonymous visitors to the login
    page, unless ``PARLEY_PUBLIC_API_SCHEMA`` is on."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not (schema_is_public() or request.user.is_authenticated):
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


# Token first: an anonymous request is told 401 with WWW-Authenticate.
schema_view = SpectacularAPIView.as_view(
    authentication_classes=[TokenAuthentication, SessionAuthentication],
    permission_classes=[SchemaReaders],
)

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
        "conversations/<uuid:conversation_id>/personal-archive/",
        views.PersonalArchiveView.as_view(),
        name="api-conversation-personal-archive",
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
    # Threads, reactions, pins, saved messages, link previews.
    path("", include("messaging.threads.api.urls")),
    path("schema/", schema_view, name="api-schema"),
    path("docs/", signed_in_page(views.DocsView.as_view()), name="api-docs"),
    # Last: anything else under /api/ is a JSON 404, not Django's HTML page
    # (newlines included: a path may carry an encoded one).
    re_path(r"^[\s\S]*$", errors.not_found),
]
