"""Input of the threads commands and endpoints, parsed at the edge in the
style of ``messaging.validation`` (``InvalidInput``, code ``invalid``)."""

from uuid import UUID

from django.utils.translation import gettext as _

from messaging import limits, validation
from messaging.errors import InvalidInput

# A page of the followed-threads list (``GET /api/threads/``).
THREADS_LIST_DEFAULT = 20
THREADS_LIST_MAX = 100


def parse_optional_uuid(value: object, *, what: str) -> UUID | None:
    """Absent or ``null``: None; otherwise ``validation.parse_uuid``."""
    return None if value is None else validation.parse_uuid(value, what=what)


def clean_flag(value: object, *, what: str, default: bool | None = None) -> bool:
    """A JSON boolean, strictly ``true`` or ``false`` (not ``1``, not
    ``"true"``). Absent (``None``) is ``default`` when one is given."""
    if value is None and default is not None:
        return default
    if not isinstance(value, bool):
        raise InvalidInput(_("%(field)s must be true or false.") % {"field": what})
    return value


def clean_thread_page_size(value: object) -> int:
    """A thread page's size: ``limit`` as history's rule reads it
    (``validation.clean_page_size``); absent, ``THREAD_PAGE_SIZE``."""
    if value is None:
        return limits.thread_page_size()
    return validation.clean_page_size(value)


def clean_list_window(limit: object, offset: object) -> tuple[int, int]:
    """``limit`` and ``offset`` of the followed-threads list
    (``validation.clean_list_window``; default ``THREADS_LIST_DEFAULT``, at
    most ``THREADS_LIST_MAX``)."""
    return validation.clean_list_window(
        limit, offset, default=THREADS_LIST_DEFAULT, most=THREADS_LIST_MAX
    )
