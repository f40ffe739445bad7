"""The calendar feed: a person's pending reminders, scheduled messages and
meetings as RFC 5545 iCalendar, at a secret URL (docs/integrations/
reminders-and-calendar.md)."""
