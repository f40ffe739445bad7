"""The integrations' pages and public endpoints (calendar feeds, incoming
webhooks). Each integration adds its own module's ``urlpatterns``."""

from django.urls import URLPattern, URLResolver

from messaging.integrations.webhooks import urls as webhook_urls

urlpatterns: list[URLPattern | URLResolver] = []
urlpatterns += webhook_urls.urlpatterns
