"""Every write of support requests. Views, the API, the admin, the import
command and the notification fan-out call these; nothing else writes
``support_requests`` rows or emits ``support.updated``.

Each change runs in one transaction, under its conversation's lock (taken
before the request's row, in the order every send takes it): it posts a
system message in the conversation (``metadata["support"]["event"]``:
``opened``, ``status``, ``assign``, ``priority`` or ``rated``), writes an
audit row, publishes ``support.updated`` to the conversation's group after
commit and, for status and assignee changes, notifies the requester
(``Kind.SUPPORT``) unless they made the change themselves.

Timers: ``first_response_at`` is the time of the first message (not a
system message, not a status change) written by someone other than the
requester; ``resolved_at`` the last move to resolved (cleared by a reopen);
``closed_at`` the move to closed.

The package's rooms: ``requests`` (opening, status, assignee, priority,
rating, bulk), ``posted`` (what a message does to its request), ``importing``
(the old Messages page's submissions), ``categories`` (the defaults) and
``steps`` (what they share).
"""

from messaging.support.services.categories import ensure_default_categories
from messaging.support.services.importing import import_request, legacy_key
from messaging.support.services.posted import is_imported, message_posted
from messaging.support.services.requests import (
    assign,
    bulk_assign,
    bulk_close,
    change_status,
    open_request,
    rate,
    set_priority,
)
from messaging.support.services.steps import clean_rating_comment
from messaging.support.subjects import clean_subject

__all__ = [
    "assign",
    "bulk_assign",
    "bulk_close",
    "change_status",
    "clean_rating_comment",
    "clean_subject",
    "ensure_default_categories",
    "import_request",
    "is_imported",
    "legacy_key",
    "message_posted",
    "open_request",
    "rate",
    "set_priority",
]
