"""The one table of a support request's status moves, and who may make each.

``TRANSITIONS[(from_status, to_status)]`` is the set of parties that may
move a request that way: ``STAFF`` (platform admins, who work the queue)
and/or ``REQUESTER`` (the student or mentor who opened it). Nothing else
decides a move: the services check it, the API and pages offer
``allowed_targets``, and docs/api.md prints the same table.

The requester's own messages move a request too (``services.message_posted``):
pending → open, resolved → open. Those automatic moves are the
conversation's, not a choice anyone makes, and are listed in ``AUTOMATIC``.
A closed request stays closed.
"""

from typing import Final

from accounts.models import User
from messaging import policy
from messaging.support.models import SupportRequest, SupportStatus

STAFF: Final = policy.SUPPORT_STAFF
REQUESTER: Final = policy.SUPPORT_REQUESTER

OPEN, PENDING, RESOLVED, CLOSED = (
    SupportStatus.OPEN.value,
    SupportStatus.PENDING.value,
    SupportStatus.RESOLVED.value,
    SupportStatus.CLOSED.value,
)

TRANSITIONS: Final[dict[tuple[str, str], frozenset[str]]] = {
    (OPEN, PENDING): frozenset({STAFF}),  # asked the requester something
    (PENDING, OPEN): frozenset({STAFF}),
    (OPEN, RESOLVED): frozenset({STAFF}),
    (PENDING, RESOLVED): frozenset({STAFF}),
    (RESOLVED, OPEN): frozenset({STAFF, REQUESTER}),  # reopen
    (OPEN, CLOSED): frozenset({STAFF, REQUESTER}),  # the requester withdraws it
    (PENDING, CLOSED): frozenset({STAFF, REQUESTER}),
    (RESOLVED, CLOSED): frozenset({STAFF}),
}

# What a message from the requester does to the status it finds.
AUTOMATIC: Final[dict[str, str]] = {PENDING: OPEN, RESOLVED: OPEN}


def parties_for(from_status: str, to_status: str) -> frozenset[str]:
    """Who may move a request from ``from_status`` to ``to_status`` (empty:
    nobody, the move does not exist)."""
    return TRANSITIONS.get((from_status, to_status), frozenset())


def allowed_targets(request: SupportRequest, user: User) -> list[str]:
    """The statuses ``user`` may move ``request`` to now, in the order of
    ``SupportStatus`` (empty for someone who may not see the request)."""
    parties = policy.support_parties(user, request)
    return [
        status for status in SupportStatus.values if parties & parties_for(request.status, status)
    ]


def may_move(request: SupportRequest, user: User, to_status: str) -> bool:
    """Whether ``user`` may move ``request`` to ``to_status`` now."""
    return bool(policy.support_parties(user, request) & parties_for(request.status, to_status))
