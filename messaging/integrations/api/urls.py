"""The integrations' API routes, mounted under ``/api/`` before messaging's
catch-all 404. Each integration adds its own module's ``urlpatterns``."""

from django.urls import URLPattern, URLResolver

from messaging.integrations.scheduling import api as scheduling_api

urlpatterns: list[URLPattern | URLResolver] = [*scheduling_api.urlpatterns]
