"""Integrations: scheduled messages, reminders, the calendar feed, video
calls, incoming and outgoing webhooks, bots and the AI assistant
(docs/integrations.md). Each lives in its own subpackage; their tables are
in ``models``."""
