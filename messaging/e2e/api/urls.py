"""The end-to-end encryption API's routes, mounted under ``/api/`` before
messaging's catch-all 404."""

from messaging.e2e.api.views import urlpatterns

__all__ = ["urlpatterns"]
