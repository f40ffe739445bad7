"""The audit trail: one row per messaging action, written by the services.

Rows for successful actions are written inside the action's transaction, so
an action and its record commit together. Refusals are written outside it,
since the refused transaction rolls back.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from accounts.models import User
from messaging.errors import AccessDenied
from messaging.models import AuditAction, AuditLog


def record(
    *,
    actor: User | None,
    action: str,
    conversation_id: UUID | None = None,
    message_id: UUID | None = None,
    **details: object,
) -> AuditLog:
    return AuditLog.objects.create(
        actor=actor if actor is not None and actor.is_authenticated else None,
        action=action,
        conversation_id=conversation_id,
        message_id=message_id,
        details=details,
    )


@contextmanager
def denials_recorded(
    *, actor: User | None, attempted: str, conversation_id: object = None
) -> Iterator[None]:
    """Record an ``access.denied`` row for any AccessDenied raised inside.

    Use it outside ``transaction.atomic`` so the record survives the rollback.
    """
    try:
        yield
    except AccessDenied as denied:
        record(
            actor=actor,
            action=AuditAction.ACCESS_DENIED,
            conversation_id=_as_uuid(conversation_id),
            attempted=attempted,
            reason=denied.message,
        )
        raise


def _as_uuid(value: object) -> UUID | None:
    if value is None or isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        return None
