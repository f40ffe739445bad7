"""Incoming webhooks (a secret URL that posts into a conversation as a bot)
and outgoing webhooks (a bot's URL told, by a signed POST, of the messages
that mention it or are sent to it directly). docs/integrations/
webhooks-and-bots.md is the operator's guide."""
