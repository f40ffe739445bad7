"""The integrations' pages and public endpoints (calendar feeds, incoming
webhooks). Each integration adds its own module's ``urlpatterns``."""

from django.urls import URLPattern, URLResolver

urlpatterns: list[URLPattern | URLResolver] = []
