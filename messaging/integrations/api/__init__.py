"""The integrations' REST API (docs/api.md, "Integrations")."""
