"""Writes for accounts. Views, API views and the admin call these rather
than saving accounts, assignments or tokens themselves."""

import functools
import zoneinfo
from collections.abc import Collection, Mapping
from typing import TypeGuard

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from accounts import locale, selectors
from accounts.models import (
    BOT_OWNER_ROLES,
    POWER_FIELDS,
    AccountSession,
    MentorAssignment,
    Role,
    User,
)
from messaging import audit, validation
from messaging.errors import InvalidInput
from messaging.integrations.calendar import services as calendar_feeds
from messaging.models import AuditAction
from messaging.moderation.services import blocks
from messaging.services.people import name_changed
from messaging.services.sockets import close_user_sockets
from notifications.services import push


def check_assignment_roles(*, mentor: User, student: User) -> None:
    """Raise ``ValidationError`` unless ``mentor`` is a mentor and ``student``
    a student: the precondition of ``assign_mentor``, which forms ask first
    so that a refusal is a form error."""
    if mentor.role != Role.MENTOR:
        raise ValidationError(_("%(person)s is not a mentor.") % {"person": mentor})
    if student.role != Role.STUDENT:
        raise ValidationError(_("%(person)s is not a student.") % {"person": student})


def assign_mentor(*, mentor: User, student: User, actor: User | None = None) -> MentorAssignment:
    """Make ``mentor`` look after ``student``; returns the existing row if any.
    Raises ``ValidationError`` (nothing stored) when the roles do not fit.
    A block the student made of that mentor earlier is lifted with it
    (``blocks.lift_for_assignment``): a student may not block their
    assigned mentor, and must be able to reach them. A new assignment is
    audited (``mentor.assign``, by ``actor``): it opens direct messages
    between the two."""
    check_assignment_roles(mentor=mentor, student=student)
    with transaction.atomic():
        assignment, made = MentorAssignment.objects.get_or_create(mentor=mentor, student=student)
        blocks.lift_for_assignment(student=student, mentor=mentor)
        if made:
            audit.record(
                actor=actor,
                action=AuditAction.MENTOR_ASSIGN,
                target_user_id=student.pk,
                mentor_id=str(mentor.pk),
            )
    return assignment


def unassign_mentor(*, mentor: User, student: User, actor: User | None = None) -> bool:
    """``mentor`` no longer looks after ``student``. Returns whether such an
    assignment existed (then audited, ``mentor.unassign``); conversations
    and messages between them stay."""
    with transaction.atomic():
        deleted, _ = MentorAssignment.objects.filter(mentor=mentor, student=student).delete()
        if deleted:
            audit.record(
                actor=actor,
                action=AuditAction.MENTOR_UNASSIGN,
                target_user_id=student.pk,
                mentor_id=str(mentor.pk),
            )
    return deleted > 0


def issue_api_token(*, user: User) -> str:
    """The key of ``user``'s API token, made on the first call; the same key
    comes back until the token is deleted. The caller has authenticated
    ``user``."""
    token, _ = Token.objects.get_or_create(user=user)
    return token.key


# An account change's audit row gives these fields' old and new values;
# any other changed field is named only.
AUDITED_ACCOUNT_FIELDS = ("email", "role", "is_active", "is_staff", "is_superuser")


def save_account(
    *,
    user: User,
    changed: Collection[str] = (),
    actor: User | None = None,
    previous: Mapping[str, object] | None = None,
) -> User:
    """Store an account as a form built or edited it (the admin's add and
    change pages; a new password is already hashed on ``user``), audited as
    ``account.create`` or ``account.change`` by ``actor``: the fields
    changed, with the old (``previous``, by field name) and new values of
    ``AUDITED_ACCOUNT_FIELDS``. ``changed``
    names the fields the form changed: switching ``is_active`` on an existing
    account goes through ``set_active``, so a deactivated person's sockets
    close. A change of role or staff status closes the person's sockets too
    (4401, once this commits): each socket holds the account as it was when
    it connected, so an admin made a mentor would keep an admin's powers
    there. Their pages reconnect (the session still holds) with the new role,
    and its limits. Someone made a student (who owns no bots) loses the bots
    they own, as on deactivation."""
    existing = not user._state.adding
    with transaction.atomic():
        user.save()
        _record_account_saved(
            user, existing=existing, changed=changed, actor=actor, previous=previous
        )
        if existing and "is_active" in changed:
            set_active(user=user, active=user.is_active)
        if existing and user.is_active and set(POWER_FIELDS).intersection(changed):
            close_user_sockets(user_id=user.pk)
        if existing and "role" in changed and user.role not in BOT_OWNER_ROLES:
            _deactivate_bots_of(user)
        if existing and {"display_name", "role"}.intersection(changed):
            name_changed(user)
    return user


def update_profile(*, user: User, display_name: str, language: str | None = None) -> User:
    """Store ``user``'s display name, cleaned by the text rule every
    user-supplied string passes (``validation.clean_display_name``), and
    their language when given (one of ``settings.LANGUAGES``, or empty for
    the browser's); a refusal is a ``ValidationError`` with its message,
    nothing stored. A new name reaches the pages of everyone who shares a
    conversation with them (``user.updated``)."""
    try:
        display_name = validation.clean_display_name(display_name)
    except InvalidInput as error:
        raise ValidationError(error.message, code=error.code) from None
    fields = ["display_name"]
    if language is not None:
        if language and not locale.is_supported(language):
            raise ValidationError(_("Choose one of the languages offered."), code="invalid")
        user.language = language
        fields.append("language")
    renamed = display_name != user.display_name
    user.display_name = display_name
    with transaction.atomic():
        user.save(update_fields=fields)
        if renamed:
            name_changed(user)
    return user


def _record_account_saved(
    user: User,
    *,
    existing: bool,
    changed: Collection[str],
    actor: User | None,
    previous: Mapping[str, object] | None,
) -> None:
    if not existing:
        audit.record(
            actor=actor,
            action=AuditAction.ACCOUNT_CREATE,
            target_user_id=user.pk,
            **{field: getattr(user, field) for field in AUDITED_ACCOUNT_FIELDS},
        )
        return
    if not changed:
        return
    previous = previous or {}
    audited = [field for field in AUDITED_ACCOUNT_FIELDS if field in changed]
    audit.record(
        actor=actor,
        action=AuditAction.ACCOUNT_CHANGE,
        target_user_id=user.pk,
        changed=sorted(changed),
        before={field: previous.get(field) for field in audited},
        after={field: getattr(user, field) for field in audited},
    )


def set_active(*, user: User, active: bool, actor: User | None = None) -> User:
    """Activate or deactivate an account. Deactivation ends every way in
    the person's credentials opened (``_end_what_credentials_let_in``:
    sessions, API token, sockets at once, push subscriptions, calendar feed
    URL), so reactivating them lets nothing taken before work again; their
    messages stay. The bots they own are deactivated with them (their tokens, sockets
    and incoming webhooks stop, as Mattermost does): a person cut off must
    not go on through a bot. Reactivating the person leaves their bots off,
    for an admin to turn on one by one. With an ``actor`` (the admin's
    actions) a change is audited as ``account.change``; the moderators'
    deactivation records its own ``moderation.deactivate``."""
    with transaction.atomic():
        was_active = user.is_active
        user.is_active = active
        user.save(update_fields=["is_active"])
        if actor is not None and was_active != active:
            _record_account_saved(
                user,
                existing=True,
                changed=["is_active"],
                actor=actor,
                previous={"is_active": was_active},
            )
        if not active:
            if user.role == Role.BOT:
                # A bot's token is the bot: an admin turns it on again.
                close_user_sockets(user_id=user.pk)
                push.forget_devices(user=user)
            else:
                _end_what_credentials_let_in(user)
            _deactivate_bots_of(user)
    return user


def _end_what_credentials_let_in(user: User, *, keep_session_key: str | None = None) -> dict:
    """End every way in that ``user``'s credentials opened: their stored
    sessions but ``keep_session_key``, their API token, their sockets (4401
    once this commits), the push devices of the ended sessions and their
    calendar feed's URL. A reactivated account, or one whose password was
    changed, signs in afresh: nothing taken before works again. The counts,
    for the audit row."""
    tokens_revoked, _ = Token.objects.filter(user=user).delete()
    sessions_ended, _ = (
        selectors.sessions_of(user).exclude(session_key=keep_session_key or "").delete()
    )
    close_user_sockets(user_id=user.pk)
    return {
        "sessions_ended": sessions_ended,
        "tokens_revoked": tokens_revoked,
        "push_devices_ended": push.forget_devices(user=user, keep_session_key=keep_session_key),
        "calendar_feed_ended": calendar_feeds.end_with_credentials(user=user),
    }


def _deactivate_bots_of(owner: User) -> None:
    """Deactivate the bots ``owner`` owns (tokens, sockets and incoming
    webhooks stop); an admin turns each on again."""
    for bot in User.objects.filter(bot__owner=owner, is_active=True):
        set_active(user=bot, active=False)


def change_password(
    *,
    user: User,
    password: str | None,
    actor: User | None,
    via: str,
    keep_session_key: str | None = None,
) -> User:
    """Set ``user``'s password (``None``: no usable password; ``password`` is
    already validated) and end what the old one let in, as logout and
    deactivation do: every stored session of ``user`` but
    ``keep_session_key`` (the one that made a change of one's own) is
    deleted, every socket of ``user`` closes with 4401 once this commits
    (the kept session's pages reconnect; a stolen copy of its cookie cannot),
    every API token of ``user`` is deleted, and so are the push devices of
    the ended sessions; their calendar feed gets a new URL. Audited as
    ``auth.password_changed``; ``via`` says where (``profile``, ``admin``,
    ``command``). A bot (``Role.BOT``) never gets a usable password: it
    signs in with its API token (``ValueError``)."""
    if password is not None and user.role == Role.BOT:
        raise ValueError("A bot signs in with its API token, never with a password.")
    with transaction.atomic():
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.save(update_fields=["password"])
        ended = _end_what_credentials_let_in(user, keep_session_key=keep_session_key)
        audit.record(
            actor=actor,
            action=AuditAction.PASSWORD_CHANGED,
            target_user_id=user.pk,
            user_id=str(user.pk),
            via=via,
            **ended,
        )
    return user


def clear_expired_sessions() -> int:
    """Delete the sessions past their expiry (periodic, daily); returns how
    many. An expired session signs nobody in, but its row stays until
    something deletes it."""
    deleted, _ = AccountSession.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted


def record_lockout(
    *,
    email: str | None,
    address: str | None,
    locked: Collection[str],
    failures: int,
    path: str,
    cooloff_minutes: int,
) -> None:
    """Audit one login lockout (``auth.locked_out``): the account as typed
    (lowercase) and its id if it exists, the client address, which of the two
    ``locked`` (``account``, ``address``), the failures counted, where, and for
    how long. Written once per lockout, not per refused attempt."""
    user_id = selectors.user_id_for_email(email) if email else None
    audit.record(
        actor=None,
        action=AuditAction.LOCKED_OUT,
        target_user_id=user_id,
        email=email,
        user_id=str(user_id) if user_id else None,
        address=address,
        locked=list(locked),
        failures=failures,
        path=path,
        cooloff_minutes=cooloff_minutes,
    )


def time_zone_names() -> list[str]:
    """The IANA zone names a person may choose (this system's tz database),
    sorted; the settings page, the API schema and ``set_time_zone`` share it."""
    return _time_zone_names()


@functools.cache
def _time_zone_names() -> list[str]:
    # Reading the tz database walks the file system: once per process. The
    # database's old names without an area ("CET", "EST5EDT", "Japan",
    # "localtime") are left out, UTC kept: a person picks a place's zone,
    # whose rules follow its daylight saving time.
    return sorted(name for name in zoneinfo.available_timezones() if "/" in name or name == "UTC")


def check_time_zone(name: object) -> str:
    """``name`` if it is a zone of ``time_zone_names``; else a
    ``ValidationError`` naming ``time_zone``. Abbreviations and offsets
    ("CET", "+02:00") are refused: quiet hours and digests need a zone whose
    rules follow daylight saving time."""
    if not is_time_zone(name):
        raise ValidationError(
            {
                "time_zone": _("%(name)r is not a known time zone (e.g. Europe/Berlin).")
                % {"name": str(name)[:80]}
            },
            code="invalid",
        )
    return name


def is_time_zone(name: object) -> TypeGuard[str]:
    """Whether ``name`` is one of ``time_zone_names``."""
    return isinstance(name, str) and name in _time_zone_set()


@functools.cache
def _time_zone_set() -> frozenset[str]:
    return frozenset(_time_zone_names())


def set_time_zone(*, user: User, time_zone: str) -> User:
    """Store ``user``'s time zone (an IANA name, ``check_time_zone``); quiet
    hours and digest hours are read in it. Nothing is stored on a refusal."""
    user.time_zone = check_time_zone(time_zone)
    user.save(update_fields=["time_zone"])
    return user
