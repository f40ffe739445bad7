"""Routes under /api/ of the notifications app (config/urls.py puts them
before messaging's, whose last pattern answers every other /api/ path)."""

from django.urls import path

from notifications.api import feed, preferences, push

urlpatterns = [
    path("notifications/", feed.NotificationListView.as_view(), name="api-notifications"),
    path(
        "notifications/read-all/",
        feed.NotificationReadAllView.as_view(),
        name="api-notifications-read-all",
    ),
    path(
        "notifications/unread-count/",
        feed.UnreadCountView.as_view(),
        name="api-notifications-unread-count",
    ),
    path(
        "notifications/<uuid:notification_id>/read/",
        feed.NotificationReadView.as_view(),
        name="api-notification-read",
    ),
    path(
        "notifications/preferences/",
        preferences.PreferencesView.as_view(),
        name="api-notification-preferences",
    ),
    path(
        "conversations/<uuid:conversation_id>/mute/",
        preferences.MuteView.as_view(),
        name="api-conversation-mute",
    ),
    path(
        "push/subscriptions/",
        push.PushSubscriptionListView.as_view(),
        name="api-push-subscriptions",
    ),
    path(
        "push/subscriptions/<uuid:subscription_id>/",
        push.PushSubscriptionDetailView.as_view(),
        name="api-push-subscription",
    ),
    path("push/vapid-public-key/", push.VapidPublicKeyView.as_view(), name="api-push-vapid-key"),
]
