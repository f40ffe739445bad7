"""Limits per role: saved from the admin, audited, and seen by every process
at once (``messaging.limits`` reads them through the Django cache, whose
version is replaced here after the commit)."""

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import Role, User
from messaging import audit, limits
from messaging.errors import AccessDenied, InvalidInput
from messaging.models import AuditAction, RoleLimits

LIMIT_FIELDS = limits.ROLE_LIMIT_FIELDS


def limit_problems(values: dict) -> dict[str, str]:
    """``{field: why}`` for each figure of ``values`` that cannot be saved:
    below its minimum (``limits.ROLE_LIMIT_MINIMUMS``: it would break or
    lock out the role's sends) or not a finite number. The admin form shows
    them beside the fields; ``set_role_limits`` refuses them."""
    return {
        field: problem
        for field in LIMIT_FIELDS
        if (problem := limits.role_limit_error(field, values.get(field))) is not None
    }


def set_role_limits(*, actor: User, role: str, values: dict) -> RoleLimits:
    """Set ``role``'s limits to ``values`` (``{field: number or None}``; None
    means the deployment's setting). Only holders of
    ``messaging.change_rolelimits`` (platform admins) change them
    (AccessDenied, recorded). A figure ``limit_problems`` names is
    InvalidInput. Writes one ``moderation.limits_change`` row with the old
    and the new values, and starts a new version of the cached rows after
    the commit."""
    if role not in Role.values:
        raise InvalidInput(_("Unknown role %(role)s.") % {"role": repr(role)})
    unknown = set(values) - set(LIMIT_FIELDS)
    if unknown:
        raise InvalidInput(_("Unknown limit %(field)s.") % {"field": repr(sorted(unknown)[0])})
    problems = limit_problems(values)
    if problems:
        raise InvalidInput(next(iter(problems.values())))
    with audit.denials_recorded(actor=actor, attempted=AuditAction.LIMITS_CHANGE):
        if not actor.has_perm("messaging.change_rolelimits"):
            raise AccessDenied(_("Only platform admins change the limits per role."))
    with transaction.atomic():
        row, _created = RoleLimits.objects.select_for_update().get_or_create(role=role)
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
