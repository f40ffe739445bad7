"""Reminders: "remind me about this message" at a time or a preset, fired
by a periodic sweep as a ``reminder`` notification (docs/integrations/
reminders-and-calendar.md)."""
