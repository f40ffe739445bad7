"""The Reminders page's URL."""

from django.urls import path

from messaging.integrations.reminders import views

urlpatterns = [
    path("reminders/", views.reminders, name="reminders"),
]
