"""The integrations' API routes, mounted under ``/api/`` before messaging's
catch-all 404. Each integration adds its own module's ``urlpatterns``."""

from django.urls import URLPattern, URLResolver

from messaging.integrations.assistant import api as assistant_api
from messaging.integrations.meetings import api as meetings_api

urlpatterns: list[URLPattern | URLResolver] = [
    *assistant_api.urlpatterns,
    *meetings_api.urlpatterns,
]
