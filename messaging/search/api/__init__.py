"""The search REST API (docs/api.md)."""
