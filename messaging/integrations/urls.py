"""The integrations' pages and public endpoints (calendar feeds, incoming
webhooks). Each integration adds its own module's ``urlpatterns``."""

from django.urls import URLPattern, URLResolver

from messaging.integrations.calendar import urls as calendar_urls
from messaging.integrations.meetings import urls as meetings_urls
from messaging.integrations.reminders import urls as reminders_urls
from messaging.integrations.scheduling import views as scheduling_views
from messaging.integrations.webhooks import urls as webhook_urls

urlpatterns: list[URLPattern | URLResolver] = [
    *calendar_urls.urlpatterns,
    *meetings_urls.urlpatterns,
    *reminders_urls.urlpatterns,
    *scheduling_views.urlpatterns,
    *webhook_urls.urlpatterns,
]
