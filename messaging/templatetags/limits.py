"""Limits the pages tell the browser, from ``messaging.limits`` (so a
deployment's setting reaches the page too)."""

from django import template

from messaging import limits

register = template.Library()


@register.simple_tag
def max_content_chars() -> int:
    """The most characters a message may hold (``PARLEY_MAX_CONTENT_CHARS``)."""
    return limits.max_content_chars()
