"""API views for reactions (docs/api.md)."""

urlpatterns: list = []
