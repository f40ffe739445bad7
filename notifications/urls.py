from django.urls import path

from notifications import views

urlpatterns = [
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
