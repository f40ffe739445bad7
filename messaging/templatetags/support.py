"""How a support request's page words its times."""

from datetime import datetime

from django import template
from django.utils.timesince import timesince
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag
def after(start: datetime, end: datetime) -> str:
    """ "after 2 hours, 5 minutes" from ``start`` to ``end``; "within a
    minute" below one (timesince would say "after 0 minutes"), as
    static/js/support.js words it."""
    if (end - start).total_seconds() < 60:
        return _("within a minute")
    return _("after %(duration)s") % {"duration": timesince(start, end)}
