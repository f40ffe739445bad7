"""The integrations' pages and public endpoints (calendar feeds, incoming
webhooks). Each integration adds its own module's ``urlpatterns``."""

from django.urls import URLPattern, URLResolver

from messaging.integrations.meetings import urls as meetings_urls

urlpatterns: list[URLPattern | URLResolver] = [*meetings_urls.urlpatterns]
