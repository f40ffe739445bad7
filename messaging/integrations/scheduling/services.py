"""Scheduled messages: written now, sent at ``send_at`` by the one send
service (``messaging.services.send_message``), with the scheduled message's
id as the sent message's ``client_id``.

A scheduled message is its author's alone: nobody else sees, changes or
cancels it (another person's id is answered as a missing one). It may be
created and edited only where its author may post now
(``policy.check_post``, and no moderator's mute); at its time it is sent if
the send service still lets its author post there, and otherwise fails
with the reason, and its author is told.

Sending exactly once: ``send_scheduled`` locks the row
(``select_for_update(skip_locked=True)`` on PostgreSQL; SQLite's
``IMMEDIATE`` transactions serialize the embedded profile's writers), sends
and marks it ``sent`` in one transaction. A worker killed before the commit
leaves it ``scheduled`` with nothing stored; a second run after the commit
finds it ``sent``; two runs at once skip each other's row. Should a message
with its ``client_id`` exist already, the send service answers with that
one (``UNIQUE(sender, client_id)``) and nothing is stored twice.
"""

import logging
from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.models import User
from messaging import audit, policy
from messaging.e2e import messages as e2e_messages
from messaging.errors import (
    AccessDenied,
    MessagingError,
    NotFound,
    ServiceUnavailable,
)
from messaging.integrations.models import ScheduledMessage, ScheduledState
from messaging.integrations.scheduling import selectors
from messaging.integrations.scheduling.validation import check_send_at
from messaging.models import AuditAction, Conversation
from messaging.services import send_message
from messaging.services.messages import refuse_if_muted
from messaging.services.transactions import lock_person
from notifications.models import Kind
from notifications.services import fanout

logger = logging.getLogger(__name__)


class TooManyScheduled(MessagingError):
    """The author has ``SCHEDULED_MESSAGES_MAX_PENDING`` messages waiting
    already."""

    code = "too_many_scheduled"
    http_status = 409


class NotScheduled(MessagingError):
    """The scheduled message was sent, failed or cancelled: it is no longer
    anyone's to change."""

    code = "not_scheduled"
    http_status = 409


def _check_may_post(author: User, conversation_id: UUID, *, attempted: str) -> Conversation:
    """The conversation, once ``author`` may post there now: NotFound for a
    missing one, NotVisible (answered the same) for one they do not read,
    then the policy's and the mute's refusals. Refusals are audited."""
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        raise NotFound(_("No such conversation."))
    current = User.objects.filter(pk=author.pk).first() or author
    with audit.denials_recorded(actor=author, attempted=attempted, conversation_id=conversation_id):
        policy.check_post(current, conversation)
    refuse_if_muted(current, conversation_id)
    return conversation


def _own_for_update(author: User, scheduled_id: UUID) -> ScheduledMessage:
    """``author``'s scheduled message, locked for the rest of the
    transaction (a send in progress is waited for); NotFound for anyone
    else's, as for a missing one."""
    scheduled = (
        ScheduledMessage.objects.select_for_update()
        .filter(pk=scheduled_id, author_id=author.pk)
        .first()
    )
    if scheduled is None:
        raise NotFound(_("No such scheduled message."))
    if scheduled.state != ScheduledState.SCHEDULED:
        raise NotScheduled(
            _("This message is no longer scheduled (%(state)s).")
            % {"state": ScheduledState(scheduled.state).label}
        )
    return scheduled


def schedule_message(
    *,
    author: User,
    conversation_id: UUID,
    content: str,
    send_at: datetime,
    time_zone: str,
) -> ScheduledMessage:
    """Schedule ``content`` (clean: ``messaging.validation.clean_content``)
    for ``conversation_id`` at ``send_at`` (aware; ``check_send_at``),
    chosen in ``time_zone`` (clean; the page shows the time in it).

    Refused where ``author`` may not post now (as a send is), when
    ``send_at`` is past or too far ahead (``invalid``), and beyond
    ``SCHEDULED_MESSAGES_MAX_PENDING`` waiting messages
    (``too_many_scheduled``). The content filter runs when it is sent."""
    check_send_at(send_at, now=timezone.now())
    _check_may_post(author, conversation_id, attempted=AuditAction.SCHEDULED_CREATE)
    # The server would send it, so it would hold the text (docs/e2e.md).
    e2e_messages.refuse_if_encrypted(conversation_id)
    limit = settings.SCHEDULED_MESSAGES_MAX_PENDING
    with transaction.atomic():
        # Two schedules at once would each count the other's row as not yet
        # there and both pass the cap: they queue on the author's row.
        lock_person(author)
        waiting = selectors.pending_count(author)
        if waiting >= limit:
            raise TooManyScheduled(
                ngettext(
                    "You have %(count)s scheduled message waiting, the most there may be.",
                    "You have %(count)s scheduled messages waiting, the most there may be.",
                    limit,
                )
                % {"count": limit}
            )
        scheduled = ScheduledMessage.objects.create(
            author=author,
            conversation_id=conversation_id,
            content=content,
            send_at=send_at,
            time_zone=time_zone,
        )
        audit.record(
            actor=author,
            action=AuditAction.SCHEDULED_CREATE,
            conversation_id=conversation_id,
            scheduled_id=str(scheduled.pk),
            send_at=send_at.isoformat(),
            length=len(content),
        )
    return scheduled


def edit_scheduled(
    *,
    author: User,
    scheduled_id: UUID,
    content: str | None = None,
    send_at: datetime | None = None,
    time_zone: str | None = None,
) -> ScheduledMessage:
    """Change the text, the time (and the zone it was chosen in) of one's
    own scheduled message while it waits. The values given are clean; a new
    ``send_at`` is checked as at creation. Refused (``not_scheduled``) once
    it was sent, failed or cancelled, and where its author may no longer
    post (they may still cancel it)."""
    if send_at is not None:
        check_send_at(send_at, now=timezone.now())
    with transaction.atomic():
        scheduled = _own_for_update(author, scheduled_id)
        _check_may_post(author, scheduled.conversation_id, attempted=AuditAction.SCHEDULED_EDIT)
        changes: dict[str, Any] = {}
        if content is not None and content != scheduled.content:
            changes["old_text"] = scheduled.content
            changes["new_text"] = content
            scheduled.content = content
        if send_at is not None and send_at != scheduled.send_at:
            changes["old_send_at"] = scheduled.send_at.isoformat()
            changes["send_at"] = send_at.isoformat()
            scheduled.send_at = send_at
        if time_zone is not None and time_zone != scheduled.time_zone:
            changes["time_zone"] = time_zone
            scheduled.time_zone = time_zone
        if not changes:
            return scheduled
        scheduled.save(update_fields=["content", "send_at", "time_zone", "updated_at"])
        audit.record(
            actor=author,
            action=AuditAction.SCHEDULED_EDIT,
            conversation_id=scheduled.conversation_id,
            scheduled_id=str(scheduled.pk),
            **changes,
        )
    return scheduled


def cancel_scheduled(*, author: User, scheduled_id: UUID) -> ScheduledMessage:
    """Cancel one's own scheduled message while it waits (wherever one may
    post now: leaving a conversation does not keep one from cancelling)."""
    with transaction.atomic():
        scheduled = _own_for_update(author, scheduled_id)
        scheduled.state = ScheduledState.CANCELLED
        scheduled.save(update_fields=["state", "updated_at"])
        audit.record(
            actor=author,
            action=AuditAction.SCHEDULED_CANCEL,
            conversation_id=scheduled.conversation_id,
            scheduled_id=str(scheduled.pk),
        )
    return scheduled


def _reason(error: MessagingError) -> str:
    """Why the send was refused, in words for the author (the audit log's
    reason for a refusal answered as a missing conversation)."""
    if isinstance(error, AccessDenied):
        return error.reason
    return error.message


def send_scheduled(*, scheduled_id: UUID, now: datetime | None = None) -> ScheduledMessage | None:
    """Send one due scheduled message, exactly once (module docstring).

    Returns it sent or failed; None when there was nothing to do: it was
    sent, failed or cancelled already, is not due at ``now`` (default: now;
    edited to a later time), or another run holds it. A refusal by the send
    service (the author left or was removed, the conversation is archived,
    a block, a mute, a deactivated account, the content filter) fails it
    with the reason and tells the author. The database being unavailable
    fails nothing: it stays scheduled for the next sweep."""
    now = now or timezone.now()
    with transaction.atomic():
        scheduled = (
            ScheduledMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=scheduled_id, state=ScheduledState.SCHEDULED, send_at__lte=now)
            .first()
        )
        if scheduled is None:
            return None
        author = User.objects.get(pk=scheduled.author_id)
        # Refusals are worded in the author's language: the reason is theirs to read.
        with translation.override(author.language or settings.LANGUAGE_CODE):
            try:
                result = send_message(
                    sender=author,
                    conversation_id=scheduled.conversation_id,
                    content=scheduled.content,
                    client_id=scheduled.pk,
                )
            except ServiceUnavailable:
                raise
            except MessagingError as error:
                _fail(scheduled, author=author, reason=_reason(error), code=error.code)
                return scheduled
        scheduled.state = ScheduledState.SENT
        scheduled.message = result.message
        scheduled.save(update_fields=["state", "message", "updated_at"])
        audit.record(
            actor=author,
            action=AuditAction.SCHEDULED_SEND,
            conversation_id=scheduled.conversation_id,
            message_id=result.message.pk,
            scheduled_id=str(scheduled.pk),
            seq=result.message.seq,
        )
    return scheduled


def _fail(scheduled: ScheduledMessage, *, author: User, reason: str, code: str) -> None:
    """Mark it failed with ``reason``, audit it, and tell its author: an
    in-app (and, by their preferences, push and email) notification of kind
    ``reminder``, the kind of things a person set to happen later. It names
    no conversation, so neither the author's mute of that conversation nor
    having left it keeps the news from them."""
    scheduled.state = ScheduledState.FAILED
    scheduled.failure = reason[: ScheduledMessage._meta.get_field("failure").max_length]
    scheduled.save(update_fields=["state", "failure", "updated_at"])
    audit.record(
        actor=author,
        action=AuditAction.SCHEDULED_FAIL,
        conversation_id=scheduled.conversation_id,
        scheduled_id=str(scheduled.pk),
        reason=scheduled.failure,
        code=code,
    )
    title = selectors.conversation_name(author, scheduled.conversation_id)
    fanout.notify(
        user=author,
        kind=Kind.REMINDER,
        actor=author,
        data={
            "scheduled_message_id": str(scheduled.pk),
            "scheduled_conversation_id": str(scheduled.conversation_id),
            "conversation_title": title,
            "excerpt": _("Your scheduled message was not sent: %(reason)s")
            % {"reason": scheduled.failure},
        },
    )


def send_due(*, now: datetime | None = None) -> int:
    """Send every scheduled message due at ``now`` (default: now), oldest
    first, at most ``SCHEDULED_MESSAGES_SWEEP_BATCH`` per call, each in its
    own transaction (``send_scheduled``). Safe to run in any number of
    processes at once. Returns how many were sent or failed."""
    now = now or timezone.now()
    done = 0
    for scheduled_id in selectors.due_ids(now=now, limit=settings.SCHEDULED_MESSAGES_SWEEP_BATCH):
        try:
            handled = send_scheduled(scheduled_id=scheduled_id, now=now)
        except ServiceUnavailable:
            raise  # the database is away: the next sweep tries them all again
        except Exception:
            # One message that cannot be sent must not hold up the others;
            # it stays scheduled and is tried again by the next sweep.
            logger.exception("Scheduled message %s could not be sent", scheduled_id)
            continue
        if handled is not None:
            done += 1
    return done
