"""Reads of messaging.threads."""
