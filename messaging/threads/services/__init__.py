"""Writes of messaging.threads: replies and threads, reactions, pins,
saved messages, link previews."""
