"""The integrations' API routes, mounted under ``/api/`` before messaging's
catch-all 404. Each integration adds its own module's ``urlpatterns``."""

from django.urls import URLPattern, URLResolver

from messaging.integrations.calendar import api as calendar_api
from messaging.integrations.reminders import api as reminders_api

urlpatterns: list[URLPattern | URLResolver] = []
urlpatterns += reminders_api.urlpatterns
urlpatterns += calendar_api.urlpatterns
