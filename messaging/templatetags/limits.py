"""Limits the pages tell the browser, from ``messaging.limits`` (so a
deployment's setting reaches the page too)."""

from django import template
from django.conf import settings

from messaging import limits

register = template.Library()


@register.simple_tag
def max_content_chars() -> int:
    """The most characters a message may hold (``PARLEY_MAX_CONTENT_CHARS``)."""
    return limits.max_content_chars()


@register.simple_tag
def scheduled_max_days() -> int:
    """How far ahead a message may be scheduled (``PARLEY_SCHEDULED_MESSAGES_MAX_DAYS``)."""
    return settings.SCHEDULED_MESSAGES_MAX_DAYS


@register.simple_tag
def reminder_max_days() -> int:
    """How far ahead a reminder may be set (``REMINDERS_MAX_DAYS_AHEAD``)."""
    return settings.REMINDERS["MAX_DAYS_AHEAD"]
