"""Bots: accounts of role ``bot`` owned by a person, with an API token for
the REST API and the socket, and no password (docs/integrations/
webhooks-and-bots.md)."""
