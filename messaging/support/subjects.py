"""A support request's subject rule, apart from the request services: the
conversation services apply it too (a support conversation's title is its
request's subject) and are imported by those services."""

from django.utils.translation import gettext as _

from messaging import limits, validation
from messaging.errors import InvalidInput


def clean_subject(value: object) -> str:
    """A request's subject: one line, stripped, not empty, at most
    ``SUPPORT_SUBJECT_MAX_CHARS``."""
    if not isinstance(value, str):
        raise InvalidInput(_("subject must be text."))
    value = value.strip()
    if not value:
        raise InvalidInput(_("A subject is required."))
    limit = limits.support_subject_max_chars()
    if len(value) > limit:
        raise InvalidInput(_("A subject has at most %(count)s characters.") % {"count": limit})
    return validation.check_text(value, what="subject", one_line=True)
