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
"""

import hashlib
import uuid
from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from messaging import audit, events, limits, policy, validation
from messaging.errors import (
    AccessDenied,
    ClientIdConflict,
    InvalidInput,
    InvalidTransition,
    NotFound,
)
from messaging.models import AuditAction, Conversation, ConversationType, Message, MessageType
from messaging.services.conversations import _post_notice, add_participants, create_conversation
from messaging.services.messages import send_message
from messaging.services.transactions import lock_conversation, write_transaction
from messaging.support import selectors, transitions
from messaging.support.models import SupportCategory, SupportPriority, SupportRequest, SupportStatus
from notifications.models import Kind
from notifications.services import fanout as notification_fanout

# The namespace of the client_ids of imported first messages (uuid5 of the
# row's legacy key): a second import of a row sends nothing new.
IMPORT_NAMESPACE = UUID("5d0f3b1e-6a43-4c1e-9a55-0c7e2a0b9d13")


# --- Input ----------------------------------------------------------------------------


def clean_subject(value: object) -> str:
    """A request's subject: one line, stripped, not empty, at most
    ``SUPPORT_SUBJECT_MAX_CHARS``."""
    if not isinstance(value, str):
        raise InvalidInput("subject must be text.")
    value = value.strip()
    if not value:
        raise InvalidInput("A support request needs a subject.")
    limit = limits.support_subject_max_chars()
    if len(value) > limit:
        raise InvalidInput(f"A subject has at most {limit} characters.")
    return validation.check_text(value, what="subject", one_line=True)


def clean_rating_comment(value: object) -> str:
    """A rating's comment: may be empty, at most
    ``SUPPORT_RATING_COMMENT_MAX_CHARS``."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput("comment must be text.")
    limit = limits.support_rating_comment_max_chars()
    if len(value) > limit:
        raise InvalidInput(f"A comment has at most {limit} characters.")
    return validation.check_text(value.strip(), what="comment")


def _category(category_id: UUID | str) -> SupportCategory:
    category = SupportCategory.objects.filter(pk=category_id, is_active=True).first()
    if category is None:
        raise InvalidInput("Unknown support category.")
    return category


# --- Shared steps -----------------------------------------------------------------------


def _locked(request_id: UUID | str) -> tuple[SupportRequest, Conversation]:
    """The request and its conversation, locked (conversation first)."""
    conversation_id = (
        SupportRequest.objects.filter(pk=request_id)
        .values_list("conversation_id", flat=True)
        .first()
    )
    if conversation_id is None:
        raise NotFound("No such support request.")
    conversation = lock_conversation(conversation_id)
    request = SupportRequest.objects.select_for_update().get(pk=request_id)
    return request, conversation


def _visible(actor: User, request: SupportRequest) -> None:
    policy.check_see_support_request(actor, request)


def _staff_only(actor: User, request: SupportRequest, refusal: str) -> None:
    _visible(actor, request)
    policy.check_work_support_queue(actor, refusal=refusal)


def _fresh(request_id: UUID) -> SupportRequest:
    """The request with what its payload shows."""
    return SupportRequest.objects.select_related(*selectors.RELATED).get(pk=request_id)


def _announce(
    request: SupportRequest,
    conversation: Conversation,
    *,
    actor: User,
    event: str,
    content: str,
    audit_action: str,
    notify: bool,
    **details: object,
) -> SupportRequest:
    """The steps every change shares: its system message, audit row,
    ``support.updated`` frame and, when ``notify``, the requester's
    notification. Returns the request as its payload shows it."""
    request = _fresh(request.pk)
    notice = _post_notice(
        conversation,
        actor=actor,
        content=content,
        metadata={"support": {"event": event, "request_id": str(request.pk), **details}},
    )
    audit.record(
        actor=actor,
        action=audit_action,
        conversation_id=conversation.pk,
        message_id=notice.pk,
        request_id=str(request.pk),
        **details,
    )
    events.publish_on_commit(
        events.conversation_group(conversation.pk), events.support_updated(request)
    )
    if notify and actor.pk != request.requester_id:
        notification_fanout.notify(
            user=request.requester,
            kind=Kind.SUPPORT,
            conversation_id=conversation.pk,
            message=notice,
            actor=actor,
            data={
                "excerpt": content,
                "seq": notice.seq,
                "conversation_title": conversation.title,
                "conversation_type": conversation.type,
                "support_request_id": str(request.pk),
                "status": request.status,
            },
        )
    return request


def _label(choices, value: str) -> str:
    return str(dict(choices.choices).get(value, value)).lower()


def _set_status(request: SupportRequest, status: str, *, now: datetime) -> None:
    """Move ``request`` to ``status`` with its timers (unsaved)."""
    request.status = status
    if status == SupportStatus.RESOLVED:
        request.resolved_at = now
    elif status in (SupportStatus.OPEN, SupportStatus.PENDING):
        request.resolved_at = None
    if status == SupportStatus.CLOSED:
        request.closed_at = now


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
    (``clean_subject``, ``validation.clean_content``)."""
    opener = opened_by or requester
    existing = selectors.opened_with(opener=opener, client_id=client_id)
    if existing is not None:
        _visible(opener, existing)
        return existing
    subject = clean_subject(subject)
    body = validation.clean_content(body)
    category = _category(category_id)
    try:
        with write_transaction(actor=opener, attempted=AuditAction.SUPPORT_OPEN):
            if not policy.may_open_support(opener, requester):
                raise AccessDenied(
                    "Support requests are opened by students and mentors (or by an admin "
                    "for one of them)."
                )
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
            request = _announce(
                request,
                conversation,
                actor=opener,
                event="opened",
                content=f"{opener.display_name} opened a support request ({category.name}): "
                f"{subject}",
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


# --- Status, assignee, priority, rating -------------------------------------------------


def change_status(*, actor: User, request_id: UUID | str, status: str) -> SupportRequest:
    """Move the request to ``status`` if ``transitions`` lets ``actor`` make
    that move from its current status (``InvalidTransition`` otherwise,
    asking for the status it has included); NotFound for a request
    ``actor`` may not see."""
    if status not in SupportStatus.values:
        raise InvalidInput(f"Unknown status {status!r}.")
    with write_transaction(actor=actor, attempted=AuditAction.SUPPORT_STATUS):
        request, conversation = _locked(request_id)
        _visible(actor, request)
        if not transitions.may_move(request, actor, status):
            raise InvalidTransition(
                f"A {request.status} request cannot be moved to {status} by you."
            )
        return _move(request, conversation, actor=actor, status=status, automatic=False)


def _move(
    request: SupportRequest,
    conversation: Conversation,
    *,
    actor: User,
    status: str,
    automatic: bool,
) -> SupportRequest:
    previous = request.status
    _set_status(request, status, now=timezone.now())
    request.save(update_fields=["status", "resolved_at", "closed_at", "updated_at"])
    label = _label(SupportStatus, status)
    if automatic:
        content = f"{actor.display_name} wrote again: the request is {label}"
    else:
        content = f"{actor.display_name} changed the status to {label}"
    return _announce(
        request,
        conversation,
        actor=actor,
        event="status",
        content=content,
        audit_action=AuditAction.SUPPORT_STATUS,
        notify=True,
        previous=previous,
        status=status,
        automatic=automatic,
    )


def assign(
    *, actor: User, request_id: UUID | str, assignee_id: UUID | str | None
) -> SupportRequest:
    """Give the request to an active platform admin (``assignee_id``), or to
    nobody (None). Staff only (AccessDenied). An assignee who is not in the
    conversation (an admin who joined the platform after it was opened) is
    added to it. Assigning the current assignee again changes nothing."""
    with write_transaction(actor=actor, attempted=AuditAction.SUPPORT_ASSIGN):
        request, conversation = _locked(request_id)
        _staff_only(actor, request, "Only platform admins assign support requests.")
        assignee = None
        if assignee_id is not None:
            assignee = User.objects.filter(pk=assignee_id).first()
            if assignee is None or not policy.may_be_assigned_support(assignee):
                raise InvalidInput("A support request is assigned to an active admin.")
        if request.assignee_id == (assignee.pk if assignee else None):
            return _fresh(request.pk)
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
            content = f"{actor.display_name} unassigned the request"
        elif assignee.pk == actor.pk:
            content = f"{actor.display_name} took the request"
        else:
            content = f"{actor.display_name} assigned the request to {assignee.display_name}"
        return _announce(
            request,
            conversation,
            actor=actor,
            event="assign",
            content=content,
            audit_action=AuditAction.SUPPORT_ASSIGN,
            notify=True,
            assignee_id=str(assignee.pk) if assignee else None,
        )


def set_priority(*, actor: User, request_id: UUID | str, priority: str) -> SupportRequest:
    """Set the request's priority; staff only. The same priority again
    changes nothing."""
    if priority not in SupportPriority.values:
        raise InvalidInput(f"Unknown priority {priority!r}.")
    with write_transaction(actor=actor, attempted=AuditAction.SUPPORT_PRIORITY):
        request, conversation = _locked(request_id)
        _staff_only(actor, request, "Only platform admins set a support request's priority.")
        if request.priority == priority:
            return _fresh(request.pk)
        previous = request.priority
        request.priority = priority
        request.save(update_fields=["priority", "updated_at"])
        return _announce(
            request,
            conversation,
            actor=actor,
            event="priority",
            content=f"{actor.display_name} set the priority to {_label(SupportPriority, priority)}",
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
    comment = clean_rating_comment(comment)
    with write_transaction(actor=actor, attempted=AuditAction.SUPPORT_RATE):
        request, conversation = _locked(request_id)
        _visible(actor, request)
        if request.requester_id != actor.pk:
            raise AccessDenied("Only the requester rates a support request.")
        if not policy.may_rate_support(actor, request):
            if request.rated_at is not None:
                raise InvalidTransition("This support request was rated already.")
            raise InvalidTransition("A support request is rated once it is resolved or closed.")
        request.satisfied = bool(satisfied)
        request.rating_comment = comment
        request.rated_at = timezone.now()
        request.save(update_fields=["satisfied", "rating_comment", "rated_at", "updated_at"])
        verdict = "satisfied" if satisfied else "not satisfied"
        return _announce(
            request,
            conversation,
            actor=actor,
            event="rated",
            content=f"{actor.display_name} rated the support: {verdict}",
            audit_action=AuditAction.SUPPORT_RATE,
            notify=False,
            satisfied=bool(satisfied),
        )


# --- Messages in the conversation ---------------------------------------------------------


def is_imported(message: Message) -> bool:
    """An imported request's first message: history, not news."""
    support = (message.metadata or {}).get("support")
    return isinstance(support, dict) and bool(support.get("imported"))


def message_posted(message: Message) -> None:
    """A message was posted in a support conversation (the notification
    fan-out calls this, after the send committed, off its hot path).

    From someone other than the requester, the first such message sets
    ``first_response_at`` (its ``sent_at``). From the requester, a pending
    request becomes open and a resolved one reopens (``transitions.AUTOMATIC``;
    the requester is not notified of their own move). A closed request stays
    closed. Idempotent: run again (a redelivered task), it finds the timer
    set, or a status change after the message, and does nothing."""
    if message.message_type == MessageType.SYSTEM or message.deleted_at or is_imported(message):
        return
    request = SupportRequest.objects.filter(conversation_id=message.conversation_id).first()
    if request is None:
        return
    from_requester = message.sender_id == request.requester_id
    if not from_requester and request.first_response_at is not None:
        return
    if from_requester and request.status not in transitions.AUTOMATIC:
        return
    sender = message.sender
    assert sender is not None  # only system messages may lack one
    with write_transaction(actor=sender, attempted=AuditAction.SUPPORT_STATUS):
        request, conversation = _locked(request.pk)
        if not from_requester:
            if request.first_response_at is None:
                request.first_response_at = message.sent_at
                request.save(update_fields=["first_response_at", "updated_at"])
                events.publish_on_commit(
                    events.conversation_group(conversation.pk),
                    events.support_updated(_fresh(request.pk)),
                )
            return
        target = transitions.AUTOMATIC.get(request.status)
        if target is None or _status_changed_after(message):
            return
        _move(request, conversation, actor=sender, status=target, automatic=True)


def _status_changed_after(message: Message) -> bool:
    """Whether the request's status was set after ``message`` (a rerun of the
    hook must not undo a later change)."""
    return Message.objects.filter(
        conversation_id=message.conversation_id,
        message_type=MessageType.SYSTEM,
        seq__gt=message.seq,
        metadata__support__event__in=["status", "opened"],
    ).exists()


# --- Bulk -----------------------------------------------------------------------------------


def _bulk_requests(actor: User, request_ids: Iterable[UUID | str]) -> list[UUID]:
    policy.check_work_support_queue(actor, refusal="Only platform admins work the support queue.")
    try:
        ids = list(dict.fromkeys(UUID(str(i)) for i in request_ids))
    except ValueError:
        raise InvalidInput("ids must be support request ids.") from None
    if not ids:
        raise InvalidInput("Name at least one support request.")
    found = set(SupportRequest.objects.filter(pk__in=ids).values_list("pk", flat=True))
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"No such support request: {missing[0]}.")
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


# --- Import from the old Messages page -------------------------------------------------------


def legacy_key(*, email: str, category: str, subject: str, body: str, created_at: str) -> str:
    """A row's identity: the same row imported twice is found by this."""
    identity = "\x1f".join(
        (email.strip().lower(), category.strip().lower(), subject.strip(), body, created_at.strip())
    )
    return hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()


def import_request(
    *,
    requester: User,
    category: SupportCategory,
    subject: str,
    body: str,
    status: str,
    created_at: datetime,
    legacy_key: str,
) -> tuple[SupportRequest, bool]:
    """Import one submission of the old Messages page: a support request and
    its conversation with the first message, dated ``created_at``, in
    ``status`` (a resolved or closed one has ``resolved_at``/``closed_at`` =
    ``created_at``: the export has no later dates). Returns ``(request,
    created)``; a row imported before (``legacy_key``) is returned as it is.
    Notifies nobody (the first message is marked imported) and is audited as
    ``support.import``."""
    existing = SupportRequest.objects.filter(legacy_key=legacy_key).first()
    if existing is not None:
        return existing, False
    subject = clean_subject(subject)
    body = validation.clean_content(body)
    if status not in SupportStatus.values:
        raise InvalidInput(f"Unknown status {status!r}.")
    if not policy.may_open_support(requester, requester):
        raise InvalidInput(f"{requester.email} may not open support requests.")
    try:
        with transaction.atomic():
            conversation = create_conversation(
                creator=requester, kind=ConversationType.SUPPORT, title=subject
            )
            request = SupportRequest.objects.create(
                conversation=conversation,
                requester=requester,
                category=category,
                subject=subject,
                created_at=created_at,
                legacy_key=legacy_key,
            )
            send_message(
                sender=requester,
                conversation_id=conversation.pk,
                content=body,
                client_id=uuid.uuid5(IMPORT_NAMESPACE, legacy_key),
                metadata={"support": {"imported": True}},
            )
            conversation = lock_conversation(conversation.pk)
            _set_status(request, status, now=created_at)
            request.save(update_fields=["status", "resolved_at", "closed_at", "updated_at"])
            _post_notice(
                conversation,
                actor=requester,
                content=f"Imported from the old Messages page ({_label(SupportStatus, status)})",
                metadata={
                    "support": {
                        "event": "opened",
                        "request_id": str(request.pk),
                        "imported": True,
                        "status": status,
                    }
                },
            )
            # The history keeps its own date.
            Message.objects.filter(conversation=conversation).update(sent_at=created_at)
            Conversation.objects.filter(pk=conversation.pk).update(
                created_at=created_at, last_message_at=created_at
            )
            audit.record(
                actor=None,
                action=AuditAction.SUPPORT_IMPORT,
                conversation_id=conversation.pk,
                request_id=str(request.pk),
                legacy_key=legacy_key,
                requester_id=str(requester.pk),
                status=status,
            )
            request = _fresh(request.pk)
            events.publish_on_commit(
                events.conversation_group(conversation.pk), events.support_updated(request)
            )
    except IntegrityError:
        # The same row, imported by a concurrent run a moment ago.
        existing = SupportRequest.objects.filter(legacy_key=legacy_key).first()
        if existing is None:
            raise
        return existing, False
    return request, True
