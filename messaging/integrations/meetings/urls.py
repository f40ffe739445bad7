"""The video calls' pages."""

from django.urls import path

from messaging.integrations.meetings import views

urlpatterns = [
    path("meetings/<uuid:meeting_id>/join/", views.join, name="meeting_join"),
]
