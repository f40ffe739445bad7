"""The integrations' API routes, mounted under ``/api/`` before messaging's
catch-all 404. Each integration adds its own module's ``urlpatterns``."""

from django.urls import URLPattern, URLResolver

from messaging.integrations.assistant import api as assistant_api
from messaging.integrations.bots import api as bots_api
from messaging.integrations.calendar import api as calendar_api
from messaging.integrations.meetings import api as meetings_api
from messaging.integrations.reminders import api as reminders_api
from messaging.integrations.scheduling import api as scheduling_api
from messaging.integrations.webhooks import api as webhooks_api

urlpatterns: list[URLPattern | URLResolver] = [
    *assistant_api.urlpatterns,
    *bots_api.urlpatterns,
    *calendar_api.urlpatterns,
    *meetings_api.urlpatterns,
    *reminders_api.urlpatterns,
    *scheduling_api.urlpatterns,
    *webhooks_api.urlpatterns,
]
