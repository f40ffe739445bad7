"""Limits per role: saved from the admin, audited, and seen by every process
at once (``messaging.limits`` reads them through the Django cache, dropped
here after the commit)."""

from django.db import transaction

from accounts.models import Role, User
from messaging import audit, limits
from messaging.errors import AccessDenied, InvalidInput
from messaging.models import AuditAction, RoleLimits

LIMIT_FIELDS = limits.ROLE_LIMIT_FIELDS


def set_role_limits(*, actor: User, role: str, values: dict) -> RoleLimits:
    """Set ``role``'s limits to ``values`` (``{field: number or None}``; None
    means the deployment's setting). Only holders of
    ``messaging.change_rolelimits`` (platform admins) change them
    (AccessDenied, recorded). Writes one ``moderation.limits_change`` row
    with the old and the new values, and drops the cached rows after the
    commit."""
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}.")
    unknown = set(values) - set(LIMIT_FIELDS)
    if unknown:
        raise InvalidInput(f"Unknown limit {sorted(unknown)[0]!r}.")
    with audit.denials_recorded(actor=actor, attempted=AuditAction.LIMITS_CHANGE):
        if not actor.has_perm("messaging.change_rolelimits"):
            raise AccessDenied("Only platform admins change the limits per role.")
    with transaction.atomic():
        row, _ = RoleLimits.objects.select_for_update().get_or_create(role=role)
        before = {field: getattr(row, field) for field in LIMIT_FIELDS}
        for field, value in values.items():
            setattr(row, field, value)
        row.save()
        after = {field: getattr(row, field) for field in LIMIT_FIELDS}
        audit.record(
            actor=actor,
            action=AuditAction.LIMITS_CHANGE,
            role=role,
            old=before,
            new=after,
        )
        transaction.on_commit(limits.forget_role_limits)
    return row
