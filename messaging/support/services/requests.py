"""Opening a support request and changing it: status, assignee, priority,
rating, one at a time or in bulk."""

from collections.abc import Iterable
from uuid import UUID

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import limits, notices, policy, validation
from messaging.errors import (
    AccessDenied,
    ClientIdConflict,
    InvalidInput,
    InvalidTransition,
    NotFound,
    TooManyOpenRequests,
)
from messaging.models import AuditAction, ConversationType
from messaging.moderation import filtering
from messaging.services.conversations import add_participants, create_conversation
from messaging.services.messages import send_message
from messaging.services.transactions import lock_conversation, lock_person, write_transaction
from messaging.support import selectors, transitions
from messaging.support.models import SupportPriority, SupportRequest, SupportStatus
from messaging.support.services import steps
from messaging.support.subjects import clean_subject

# --- Opening ----------------------------------------------------------------------------


def open_request(
    *,
    requester: User,
    category_id: UUID | str,
    subject: str,
    body: str,
    client_id: UUID,
    opened_by: User | None = None,
) -> SupportRequest:
    """Open a support request: its support conversation (the requester and
    every active admin, ``create_conversation``), an "opened" system message,
    the first message (``body``, sent by whoever opens it) and an audit row.

    A student or mentor opens one for themselves; an admin (``opened_by``)
    for a student or mentor, and then the request counts as answered
    (``first_response_at`` is its opening time): staff wrote first.
    ``client_id`` is the first message's key: opening again with it returns
    the same request and adds nothing; it is a ``ClientIdConflict`` if it
    was used for another message. ``subject`` and ``body`` are checked here
    (``clean_subject``, ``validation.clean_content``). A first message a
    blocking filter rule refuses (``ContentBlocked``) opens nothing; its
    hit and ``moderation.filter_hit`` audit row are kept. Someone with
    ``SUPPORT_MAX_OPEN_PER_PERSON`` requests open or pending opens no more
    (``TooManyOpenRequests``) until one is resolved or closed; an admin
    opening one for them is not held to it."""
    opener = opened_by or requester
    existing = selectors.opened_with(opener=opener, client_id=client_id)
    if existing is not None:
        steps.check_visible(opener, existing)
        return existing
    subject = clean_subject(subject)
    body = validation.clean_content(body)
    category = steps.category(category_id)
    try:
        # The first message goes through the content filter inside this
        # transaction: a blocking rule's hit is recorded once it has rolled
        # back (blocks_recorded outermost), as for any refused send.
        with (
            filtering.blocks_recorded(),
            write_transaction(actor=opener, attempted=AuditAction.SUPPORT_OPEN),
        ):
            if not policy.may_open_support(opener, requester):
                raise AccessDenied(
                    _(
                        "Support requests are opened by students and mentors (or by an admin "
                        "for one of them)."
                    )
                )
            if opener.pk == requester.pk:
                _check_room_for_one_more(requester)
            conversation = create_conversation(
                creator=opener,
                kind=ConversationType.SUPPORT,
                participants=[requester] if opener.pk != requester.pk else [],
                title=subject,
            )
            now = timezone.now()
            request = SupportRequest.objects.create(
                conversation=conversation,
                requester=requester,
                category=category,
                subject=subject,
                created_at=now,
                first_response_at=now if opener.pk != requester.pk else None,
            )
            conversation = lock_conversation(conversation.pk)
            request = steps.announce(
                request,
                conversation,
                actor=opener,
                event="opened",
                words=notices.notice(
                    notices.SUPPORT_OPENED,
                    actor=opener.display_name,
                    category=category.name,
                    subject=subject,
                ),
                audit_action=AuditAction.SUPPORT_OPEN,
                notify=False,
                category=category.slug,
                requester_id=str(requester.pk),
            )
            send_message(
                sender=opener, conversation_id=conversation.pk, content=body, client_id=client_id
            )
    except ClientIdConflict:
        # The same open, committed by a concurrent call a moment ago.
        existing = selectors.opened_with(opener=opener, client_id=client_id)
        if existing is None:
            raise
        return existing
    return request


def _check_room_for_one_more(requester: User) -> None:
    """Refuse a request past the requester's waiting ones. Their row is
    locked first, so two opens at once cannot both see room for one."""
    lock_person(requester)
    waiting = SupportRequest.objects.filter(
        requester=requester, status__in=[SupportStatus.OPEN, SupportStatus.PENDING]
    ).count()
    cap = limits.support_max_open_per_person()
    if waiting >= cap:
        raise TooManyOpenRequests(
            _(
                "You have %(count)s support requests waiting already: add to one of them, "
                "or close one first."
            )
            % {"count": cap}
        )


# --- Status, assignee, priority, rating -------------------------------------------------


def change_status(*, actor: User, request_id: UUID | str, status: str) -> SupportRequest:
    """Move the request to ``status`` if ``transitions`` lets ``actor`` make
    that move from its current status (``InvalidTransition`` otherwise,
    asking for the status it has included); NotFound for a request
    ``actor`` may not see."""
    if status not in SupportStatus.values:
        raise InvalidInput(_("Unknown status %(status)s.") % {"status": repr(status)})
    with write_transaction(actor=actor, attempted=AuditAction.SUPPORT_STATUS):
        request, conversation = steps.locked(request_id)
        steps.check_may_act(actor, request, conversation)
        if not transitions.may_move(request, actor, status):
            raise InvalidTransition(
                _("A request that is %(current)s cannot be moved to %(status)s by you.")
                % {
                    "current": steps.label(SupportStatus, request.status),
                    "status": steps.label(SupportStatus, status),
                }
            )
        return steps.move(request, conversation, actor=actor, status=status, automatic=False)


def assign(
    *, actor: User, request_id: UUID | str, assignee_id: UUID | str | None
) -> SupportRequest:
    """Give the request to an active platform admin (``assignee_id``), or to
    nobody (None). Staff only (AccessDenied). An assignee who is not in the
    conversation (an admin who joined the platform after it was opened) is
    added to it. Assigning the current assignee again changes nothing."""
    with write_transaction(actor=actor, attempted=AuditAction.SUPPORT_ASSIGN):
        request, conversation = steps.locked(request_id)
        steps.check_staff(actor, request, _("Only platform admins assign support requests."))
        assignee = None
        if assignee_id is not None:
            assignee = User.objects.filter(pk=assignee_id).first()
            if assignee is None or not policy.may_be_assigned_support(assignee):
                raise InvalidInput(_("A support request is assigned to an active admin."))
        if request.assignee_id == (assignee.pk if assignee else None):
            return steps.fresh(request.pk)
        if (
            assignee is not None
            and not conversation.participants.active().filter(user=assignee).exists()
        ):
            conversation = add_participants(
                actor=actor, conversation_id=conversation.pk, users=[assignee]
            )
        request.assignee = assignee
        request.save(update_fields=["assignee", "updated_at"])
        if assignee is None:
            words = notices.notice(notices.SUPPORT_UNASSIGNED, actor=actor.display_name)
        elif assignee.pk == actor.pk:
            words = notices.notice(notices.SUPPORT_TOOK, actor=actor.display_name)
        else:
            words = notices.notice(
                notices.SUPPORT_ASSIGNED, actor=actor.display_name, name=assignee.display_name
            )
        return steps.announce(
            request,
            conversation,
            actor=actor,
            event="assign",
            words=words,
            audit_action=AuditAction.SUPPORT_ASSIGN,
            notify=True,
            target_user_id=assignee.pk if assignee else None,
            assignee_id=str(assignee.pk) if assignee else None,
        )


def set_priority(*, actor: User, request_id: UUID | str, priority: str) -> SupportRequest:
    """Set the request's priority; staff only. The same priority again
    changes nothing."""
    if priority not in SupportPriority.values:
        raise InvalidInput(_("Unknown priority %(priority)s.") % {"priority": repr(priority)})
    with write_transaction(actor=actor, attempted=AuditAction.SUPPORT_PRIORITY):
        request, conversation = steps.locked(request_id)
        steps.check_staff(
            actor, request, _("Only platform admins set a support request's priority.")
        )
        if request.priority == priority:
            return steps.fresh(request.pk)
        previous = request.priority
        request.priority = priority
        request.save(update_fields=["priority", "updated_at"])
        return steps.announce(
            request,
            conversation,
            actor=actor,
            event="priority",
            words=notices.notice(
                notices.SUPPORT_PRIORITY, actor=actor.display_name, priority=priority
            ),
            audit_action=AuditAction.SUPPORT_PRIORITY,
            notify=False,
            previous=previous,
            priority=priority,
        )


def rate(
    *, actor: User, request_id: UUID | str, satisfied: bool, comment: str = ""
) -> SupportRequest:
    """The requester's rating, once, after the request was resolved or
    closed (``InvalidTransition`` before, or a second time); AccessDenied for
    the staff, who see it but do not rate it."""
    comment = steps.clean_rating_comment(comment)
    with write_transaction(actor=actor, attempted=AuditAction.SUPPORT_RATE):
        request, conversation = steps.locked(request_id)
        steps.check_may_act(actor, request, conversation)
        if request.requester_id != actor.pk:
            raise AccessDenied(_("Only the requester rates a support request."))
        if not policy.may_rate_support(actor, request):
            if request.rated_at is not None:
                raise InvalidTransition(_("This support request was rated already."))
            raise InvalidTransition(_("A support request is rated once it is resolved or closed."))
        request.satisfied = bool(satisfied)
        request.rating_comment = comment
        request.rated_at = timezone.now()
        request.save(update_fields=["satisfied", "rating_comment", "rated_at", "updated_at"])
        return steps.announce(
            request,
            conversation,
            actor=actor,
            event="rated",
            words=notices.notice(
                notices.SUPPORT_SATISFIED if satisfied else notices.SUPPORT_NOT_SATISFIED,
                actor=actor.display_name,
            ),
            audit_action=AuditAction.SUPPORT_RATE,
            notify=False,
            satisfied=bool(satisfied),
        )


# --- Bulk -----------------------------------------------------------------------------------


def _bulk_requests(actor: User, request_ids: Iterable[UUID | str]) -> list[UUID]:
    policy.check_work_support_queue(
        actor, refusal=_("Only platform admins work the support queue.")
    )
    try:
        ids = list(dict.fromkeys(UUID(str(i)) for i in request_ids))
    except ValueError:
        raise InvalidInput(_("ids must be support request ids.")) from None
    if not ids:
        raise InvalidInput(_("Name at least one support request."))
    found = set(SupportRequest.objects.filter(pk__in=ids).values_list("pk", flat=True))
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(_("No such support request: %(id)s.") % {"id": missing[0]})
    return ids


def bulk_assign(
    *, actor: User, request_ids: Iterable[UUID | str], assignee_id: UUID | str | None
) -> int:
    """``assign`` each request (in one transaction); returns how many changed."""
    with write_transaction(actor=actor, attempted=AuditAction.SUPPORT_ASSIGN):
        ids = _bulk_requests(actor, request_ids)
        changed = 0
        for request_id in ids:
            before = SupportRequest.objects.values_list("assignee_id", flat=True).get(pk=request_id)
            after = assign(actor=actor, request_id=request_id, assignee_id=assignee_id)
            changed += before != after.assignee_id
        return changed


def bulk_close(*, actor: User, request_ids: Iterable[UUID | str]) -> int:
    """Close each request not closed yet (in one transaction); returns how
    many were closed."""
    with write_transaction(actor=actor, attempted=AuditAction.SUPPORT_STATUS):
        ids = _bulk_requests(actor, request_ids)
        changed = 0
        for request_id in ids:
            if SupportRequest.objects.filter(pk=request_id, status=SupportStatus.CLOSED).exists():
                continue
            change_status(actor=actor, request_id=request_id, status=SupportStatus.CLOSED)
            changed += 1
        return changed
