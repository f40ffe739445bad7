"""The notification centre's API, under ``/api/notifications/``."""

from django.urls import path

from notifications import api

urlpatterns = [
    path("", api.NotificationListView.as_view(), name="api-notifications"),
    path("read-all/", api.NotificationReadAllView.as_view(), name="api-notifications-read-all"),
    path(
        "unread-count/",
        api.UnreadCountView.as_view(),
        name="api-notifications-unread-count",
    ),
    path(
        "<uuid:notification_id>/read/",
        api.NotificationReadView.as_view(),
        name="api-notification-read",
    ),
]
