"""The audit trail: one row per messaging action, written by the services.

Rows for successful actions are written inside the action's transaction, so
an action and its record commit together. Refusals are written outside it,
since the refused transaction rolls back.

A refusal repeated within ``AUDIT_DENIAL_WINDOW_SECONDS`` (the same actor,
attempt, conversation and reason) is one row with a count, not one row per
attempt: a client cannot grow the log by retrying what it may not do. The
log itself stays append-only; the count lives beside it
(``AuditRepeat``), see ``record_denial``. Downloads of one file by one
person are counted the same way, within ``AUDIT_DOWNLOAD_WINDOW_SECONDS``
(``record_repeated``).
"""

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.models import User
from messaging import limits
from messaging.errors import AccessDenied
from messaging.models import AuditAction, AuditLog, AuditRepeat
from messaging.realtime import clock


def record(
    *,
    actor: User | None,
    action: str,
    conversation_id: UUID | None = None,
    message_id: UUID | None = None,
    target_user_id: UUID | None = None,
    **details: Any,
) -> AuditLog:
    """One row: who (``actor``) did what (``action``), where, and
    ``details`` (JSON). ``target_user_id`` names the person acted on when it
    is someone other than the actor (added, removed, assigned, the sender
    whose message was hidden, the person muted or deactivated), so their
    history is one filter away."""
    return AuditLog.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        conversation_id=conversation_id,
        message_id=message_id,
        target_user_id=target_user_id,
        details=details,
    )


def record_denial(
    *, actor: User | None, attempted: str, conversation_id: UUID | None, reason: str
) -> None:
    """Record an ``access.denied``, once per window.

    Windows are ``AUDIT_DENIAL_WINDOW_SECONDS`` long (``record_repeated``);
    ``details``: ``attempted``, ``reason``, ``window_seconds``. The same
    actor, attempt, conversation and reason within a window is one row with
    a count.
    """
    window_seconds = limits.audit_denial_window_seconds()
    record_repeated(
        actor=actor,
        action=AuditAction.ACCESS_DENIED,
        same=(attempted, str(conversation_id or ""), reason),
        window_length=window_seconds,
        conversation_id=conversation_id,
        attempted=attempted,
        reason=reason,
        window_seconds=window_seconds,
    )


def record_repeated(
    *,
    actor: User | None,
    action: str,
    same: tuple[str, ...],
    window_length: int,
    conversation_id: UUID | None = None,
    message_id: UUID | None = None,
    **details: Any,
) -> None:
    """Record ``action`` once per window for the same actor and ``same``
    (what makes two occurrences the same thing).

    Windows are ``window_length`` seconds long, aligned on multiples of it
    (``messaging.realtime.clock`` wall time). The first occurrence in a
    window writes its row at once with an ``AuditRepeat`` count of 1; each
    repeat in the same window adds one to that count and writes no row. Two
    processes recording the same thing at once still write one row: the
    window is unique.
    """
    actor = actor if actor is not None and actor.is_authenticated else None
    who_what_when = "\x1f".join(
        (
            str(actor.pk if actor else ""),
            action,
            *same,
            str(int(clock.wall() // window_length)),
        )
    )
    window = hashlib.sha256(who_what_when.encode("utf-8", "surrogatepass")).hexdigest()
    now = timezone.now()
    this_window = AuditRepeat.objects.filter(window=window)
    with transaction.atomic():
        if this_window.update(count=F("count") + 1, last_at=now):
            return
        try:
            with transaction.atomic():
                row = record(
                    actor=actor,
                    action=action,
                    conversation_id=conversation_id,
                    message_id=message_id,
                    **details,
                )
                AuditRepeat.objects.create(entry=row, window=window, last_at=now)
                return
        except IntegrityError:
            pass  # the same occurrence's row, written a moment ago elsewhere
        this_window.update(count=F("count") + 1, last_at=now)


def repeats(row: AuditLog) -> int:
    """How many times what ``row`` records happened (1 unless a refusal
    repeated within its window)."""
    try:
        return row.repeat.count
    except AuditRepeat.DoesNotExist:
        return 1


@contextmanager
def denials_recorded(
    *, actor: User | None, attempted: str, conversation_id: object = None
) -> Iterator[None]:
    """Record an ``access.denied`` (``record_denial``) for any AccessDenied
    raised inside.

    Use it outside ``transaction.atomic`` so the record survives the rollback.
    """
    try:
        yield
    except AccessDenied as denied:
        record_denial(
            actor=actor,
            attempted=attempted,
            conversation_id=_as_uuid(conversation_id),
            reason=denied.reason,
        )
        raise


def _as_uuid(value: object) -> UUID | None:
    if value is None or isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        return None
