"""The public calendar feed's URL."""

from django.urls import path

from messaging.integrations.calendar import views

urlpatterns = [
    path("calendar/<str:token>.ics", views.feed, name="calendar-feed"),
]
