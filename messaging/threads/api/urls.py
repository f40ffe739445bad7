"""The threads package's API routes, mounted under ``/api/`` before the
catch-all 404."""

from messaging.threads.api import previews, reactions, threads

urlpatterns = [*threads.urlpatterns, *reactions.urlpatterns, *previews.urlpatterns]
