"""API views for threads (docs/api.md)."""

urlpatterns: list = []
