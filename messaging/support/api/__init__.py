"""The support REST API (docs/api.md)."""
