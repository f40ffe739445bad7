"""The webhooks' writes: ``incoming`` (create, revoke, post through one) and
``outgoing`` (route a message to its bots, call a bot's URL)."""
