"""Reads of support requests: the staff's queue, a requester's own list,
one request as its requester or the staff may see it.

Every list comes with its category, requester, assignee and conversation
(``select_related``), so rendering a page of payloads costs no further
query. Lists are newest first (``created_at``, then id).
"""

from datetime import datetime, timedelta
from uuid import UUID

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import policy
from messaging.errors import InvalidInput, NotFound
from messaging.models import Message
from messaging.support import timers
from messaging.support.models import SupportCategory, SupportPriority, SupportRequest, SupportStatus

RELATED = ("category", "requester", "assignee", "conversation")


def _listed(requests: QuerySet[SupportRequest]) -> QuerySet[SupportRequest]:
    return requests.select_related(*RELATED).order_by("-created_at", "-id")


def is_overdue(request: SupportRequest, *, now: datetime | None = None) -> bool:
    """Whether a waiting request passed its first-response or resolution time
    (``messaging.support.timers``)."""
    return timers.is_overdue(request, now=now)


def categories(*, include_inactive: bool = False) -> QuerySet[SupportCategory]:
    """The categories offered to requesters (active ones), in their order."""
    found = SupportCategory.objects.all()
    return found if include_inactive else found.filter(is_active=True)


def category_by_slug(slug: str) -> SupportCategory:
    """An active category by its slug, or InvalidInput naming it."""
    category = SupportCategory.objects.filter(slug=slug, is_active=True).first()
    if category is None:
        raise InvalidInput(_("Unknown support category %(slug)s.") % {"slug": repr(slug)})
    return category


def _as_uuid(value: object, what: str) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidInput(_("%(field)s must be a UUID.") % {"field": what}) from None


def queue(
    *,
    user: User,
    status: str | None = None,
    category: str | None = None,
    assignee: str | UUID | None = None,
    overdue: bool | None = None,
    older_than_hours: int | None = None,
    priority: str | None = None,
    now: datetime | None = None,
) -> QuerySet[SupportRequest]:
    """Every request, for the staff (AccessDenied for anyone else), narrowed
    by the filters given: ``status`` and ``priority`` (their values),
    ``category`` (a slug, active or not), ``assignee`` (``"me"``, ``"none"``
    or an admin's id), ``overdue`` (True: overdue only; False: not overdue),
    ``older_than_hours`` (opened more than that many hours ago). A bad filter
    value is InvalidInput."""
    policy.check_work_support_queue(user, refusal=_("Only platform admins see the support queue."))
    now = now or timezone.now()
    requests = SupportRequest.objects.all()
    if status:
        if status not in SupportStatus.values:
            raise InvalidInput(_("Unknown status %(status)s.") % {"status": repr(status)})
        requests = requests.filter(status=status)
    if priority:
        if priority not in SupportPriority.values:
            raise InvalidInput(_("Unknown priority %(priority)s.") % {"priority": repr(priority)})
        requests = requests.filter(priority=priority)
    if category:
        if not SupportCategory.objects.filter(slug=category).exists():
            raise InvalidInput(_("Unknown support category %(slug)s.") % {"slug": repr(category)})
        requests = requests.filter(category__slug=category)
    if assignee:
        if assignee == "me":
            requests = requests.filter(assignee=user)
        elif assignee == "none":
            requests = requests.filter(assignee__isnull=True)
        else:
            requests = requests.filter(assignee_id=_as_uuid(assignee, "assignee"))
    if overdue is not None:
        condition = timers.overdue_condition(now=now)
        requests = requests.filter(condition) if overdue else requests.exclude(condition)
    if older_than_hours is not None:
        if older_than_hours < 0:
            raise InvalidInput(_("older_than_hours must not be negative."))
        requests = requests.filter(created_at__lt=now - timedelta(hours=older_than_hours))
    return _listed(requests)


def requests_of(user: User) -> QuerySet[SupportRequest]:
    """The requests ``user`` opened (or an admin opened for them)."""
    return _listed(policy.visible_support_requests(user).filter(requester=user))


def request_for(user: User, request_id: UUID | str) -> SupportRequest:
    """One request, for its requester or the staff; NotFound for anyone else
    (a request is never revealed to those who may not see it)."""
    request = (
        SupportRequest.objects.select_related(*RELATED)
        .filter(pk=_as_uuid_or_not_found(request_id))
        .first()
    )
    if request is None:
        raise NotFound(_("No such support request."))
    policy.check_see_support_request(user, request)
    return request


def _as_uuid_or_not_found(value: UUID | str) -> UUID:
    try:
        return _as_uuid(value, "id")
    except InvalidInput:
        raise NotFound(_("No such support request.")) from None


def request_for_conversation(user: User, conversation_id: UUID | str) -> SupportRequest | None:
    """The request whose conversation this is, if ``user`` may see it; None
    for a conversation that carries no request (or one they may not see)."""
    request = (
        SupportRequest.objects.select_related(*RELATED)
        .filter(conversation_id=_as_uuid_or_not_found(conversation_id))
        .first()
    )
    if request is None or not policy.may_see_support_request(user, request):
        return None
    return request


def opened_with(*, opener: User, client_id: UUID) -> SupportRequest | None:
    """The request ``opener`` opened with ``client_id`` (its first message's
    key), if any: a repeated open answers it rather than a second one."""
    message = (
        Message.objects.filter(sender=opener, client_id=client_id)
        .select_related("conversation")
        .first()
    )
    if message is None:
        return None
    return (
        SupportRequest.objects.select_related(*RELATED)
        .filter(conversation_id=message.conversation_id)
        .first()
    )
