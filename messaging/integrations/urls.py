"""The integrations' pages and public endpoints (calendar feeds, incoming
webhooks). Each integration adds its own module's ``urlpatterns``."""

from django.urls import URLPattern, URLResolver

from messaging.integrations.scheduling import views as scheduling_views

urlpatterns: list[URLPattern | URLResolver] = [*scheduling_views.urlpatterns]
