"""The steps every support change shares: input checks, the locks, the
visibility and staff checks, and the announcement of a change (its system
message, audit row, ``support.updated`` frame and the requester's
notification)."""

from datetime import datetime
from typing import Any
from uuid import UUID

from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.locale import speaking_to
from accounts.models import User
from messaging import audit, events, limits, notices, policy, validation
from messaging.errors import AccessDenied, InvalidInput, NotFound
from messaging.files.payloads import message_text
from messaging.models import AuditAction, Conversation, Message
from messaging.services.conversations import _post_notice
from messaging.services.transactions import lock_conversation
from messaging.support import selectors
from messaging.support.models import SupportCategory, SupportRequest, SupportStatus
from notifications.models import Kind
from notifications.services import fanout as notification_fanout

# --- Input ----------------------------------------------------------------------------


def clean_rating_comment(value: object) -> str:
    """A rating's comment: may be empty, at most
    ``SUPPORT_RATING_COMMENT_MAX_CHARS``."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(_("comment must be text."))
    limit = limits.support_rating_comment_max_chars()
    if len(value) > limit:
        raise InvalidInput(_("A comment has at most %(count)s characters.") % {"count": limit})
    return validation.check_text(value.strip(), what="comment")


def category(category_id: UUID | str) -> SupportCategory:
    category = SupportCategory.objects.filter(pk=category_id, is_active=True).first()
    if category is None:
        raise InvalidInput(_("Unknown support category."))
    return category


# --- Shared steps -----------------------------------------------------------------------


def locked(request_id: UUID | str) -> tuple[SupportRequest, Conversation]:
    """The request and its conversation, locked (conversation first)."""
    conversation_id = (
        SupportRequest.objects.filter(pk=request_id)
        .values_list("conversation_id", flat=True)
        .first()
    )
    if conversation_id is None:
        raise NotFound(_("No such support request."))
    conversation = lock_conversation(conversation_id)
    request = SupportRequest.objects.select_for_update().get(pk=request_id)
    return request, conversation


def check_visible(actor: User, request: SupportRequest) -> None:
    policy.check_see_support_request(actor, request)


def check_may_act(actor: User, request: SupportRequest, conversation: Conversation) -> None:
    """``check_visible``, and a requester acts on their request only while
    they are in its conversation: a change is a notice there, in their
    name. (Staff act from the queue, in it or not.)"""
    check_visible(actor, request)
    if policy.may_work_support_queue(actor):
        return
    if not conversation.participants.active().filter(user=actor).exists():
        raise AccessDenied(_("You are no longer in this request's conversation."))


def check_staff(actor: User, request: SupportRequest, refusal: str) -> None:
    check_visible(actor, request)
    policy.check_work_support_queue(actor, refusal=refusal)


def fresh(request_id: UUID) -> SupportRequest:
    """The request with what its payload shows."""
    return SupportRequest.objects.select_related(*selectors.RELATED).get(pk=request_id)


def announce(
    request: SupportRequest,
    conversation: Conversation,
    *,
    actor: User,
    event: str,
    words: dict,
    audit_action: str,
    notify: bool,
    target_user_id: UUID | None = None,
    **details: Any,
) -> SupportRequest:
    """The steps every change shares: its system message, audit row,
    ``support.updated`` frame and, when ``notify``, the requester's
    notification. Returns the request as its payload shows it."""
    request = fresh(request.pk)
    notice = _post_notice(
        conversation,
        actor=actor,
        words=words,
        metadata={"support": {"event": event, "request_id": str(request.pk), **details}},
    )
    audit.record(
        actor=actor,
        action=audit_action,
        conversation_id=conversation.pk,
        message_id=notice.pk,
        target_user_id=target_user_id,
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
                # In the requester's language, as the notification shows it.
                "excerpt": _in_language_of(request.requester, notice),
                "seq": notice.seq,
                "conversation_title": conversation.title,
                "conversation_type": conversation.type,
                "support_request_id": str(request.pk),
                "status": request.status,
            },
        )
    return request


def label(choices, value: str) -> str:
    return str(dict(choices.choices).get(value, value)).lower()


def set_status(request: SupportRequest, status: str, *, now: datetime) -> None:
    """Move ``request`` to ``status`` with its timers (unsaved)."""
    request.status = status
    if status == SupportStatus.RESOLVED:
        request.resolved_at = now
    elif status in (SupportStatus.OPEN, SupportStatus.PENDING):
        request.resolved_at = None
    if status == SupportStatus.CLOSED:
        request.closed_at = now


def move(
    request: SupportRequest,
    conversation: Conversation,
    *,
    actor: User,
    status: str,
    automatic: bool,
) -> SupportRequest:
    previous = request.status
    set_status(request, status, now=timezone.now())
    request.save(update_fields=["status", "resolved_at", "closed_at", "updated_at"])
    sentence = notices.SUPPORT_WROTE_AGAIN if automatic else notices.SUPPORT_STATUS
    return announce(
        request,
        conversation,
        actor=actor,
        event="status",
        words=notices.notice(sentence, actor=actor.display_name, status=status),
        audit_action=AuditAction.SUPPORT_STATUS,
        notify=True,
        previous=previous,
        status=status,
        automatic=automatic,
    )


def _in_language_of(user: User, notice: Message) -> str:
    with speaking_to(user):
        return message_text(notice)
