"""The integrations' API routes, mounted under ``/api/`` before messaging's
catch-all 404. Each integration adds its own module's ``urlpatterns``."""

from django.urls import URLPattern, URLResolver

from messaging.integrations.bots import api as bots_api
from messaging.integrations.webhooks import api as webhooks_api

urlpatterns: list[URLPattern | URLResolver] = []
urlpatterns += bots_api.urlpatterns
urlpatterns += webhooks_api.urlpatterns
