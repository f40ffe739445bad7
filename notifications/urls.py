from django.urls import path

from notifications import views

urlpatterns = [
    path("sw.js", views.service_worker, name="service_worker"),
    path("settings/push/", views.push_settings, name="push_settings"),
    path(
        "settings/notifications/",
        views.notification_settings,
        name="notification_settings",
    ),
    path("c/<uuid:conversation_id>/mute/", views.mute, name="mute_conversation"),
    path(
        "notifications/unsubscribe/<str:token>/",
        views.unsubscribe,
        name="notifications_unsubscribe",
    ),
]
