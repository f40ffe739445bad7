"""A support request's clocks: when it is overdue, in Python and in SQL.

A request still waiting (open or pending) is overdue once
``SUPPORT_FIRST_RESPONSE_HOURS`` passed since it was opened without a first
response (someone other than the requester writing in its conversation), or
once ``SUPPORT_RESOLUTION_HOURS`` passed since it was opened. Resolved and
closed requests are never overdue. Both hours are read at call time
(``messaging.limits``).
"""

from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from messaging import limits
from messaging.support.models import SupportRequest, SupportStatus

WAITING = (SupportStatus.OPEN, SupportStatus.PENDING)


def _deadlines(now: datetime) -> tuple[datetime, datetime]:
    """The latest ``created_at`` that is still in time for a first response,
    and for a resolution."""
    return (
        now - timedelta(hours=limits.support_first_response_hours()),
        now - timedelta(hours=limits.support_resolution_hours()),
    )


def is_overdue(request: SupportRequest, *, now: datetime | None = None) -> bool:
    if request.status not in WAITING:
        return False
    first_response_by, resolution_by = _deadlines(now or timezone.now())
    if request.first_response_at is None and request.created_at < first_response_by:
        return True
    return request.created_at < resolution_by


def overdue_condition(*, now: datetime | None = None) -> Q:
    """``is_overdue`` as a condition on ``SupportRequest`` rows."""
    first_response_by, resolution_by = _deadlines(now or timezone.now())
    return Q(status__in=WAITING) & (
        Q(first_response_at__isnull=True, created_at__lt=first_response_by)
        | Q(created_at__lt=resolution_by)
    )
