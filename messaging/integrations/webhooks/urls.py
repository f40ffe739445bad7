"""The incoming webhooks' public endpoint (``views.incoming_webhook``)."""

from django.urls import path

from messaging.integrations.webhooks import views

urlpatterns = [
    path("hooks/<str:token>", views.incoming_webhook, name="incoming-webhook"),
]
