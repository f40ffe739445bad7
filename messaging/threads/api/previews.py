"""API views for previews (docs/api.md)."""

urlpatterns: list = []
