"""Writes for notification preferences (and the time zone they are read in).
The settings page, the REST API and the admin call ``update_preferences``;
nothing else writes the table.

Every argument is checked before anything is stored: a refusal is one
``ValidationError`` whose dict names each refused field (``kinds``,
``quiet_hours_end``, ``time_zone`` ...), so a form shows each message next
to its field and the API reports them under ``fields``.
"""

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Final

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts import services as account_services
from accounts.models import User
from notifications.models import Channel, DigestFrequency, Kind, NotificationPreference


class _Unset(enum.Enum):
    """Not given: the stored value stays. (``None`` means "clear" for the
    fields that can be cleared: quiet hours.)"""

    UNSET = enum.auto()

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final = _Unset.UNSET


def clean_kinds(value: object) -> dict[str, dict[str, bool]]:
    """A (partial) kinds map: known kinds to known channels to booleans.
    Raises ``ValidationError`` naming ``kinds``."""

    def refuse(message: str) -> ValidationError:
        return ValidationError({"kinds": message}, code="invalid")

    if not isinstance(value, Mapping):
        raise refuse(_("kinds must map each kind to its channels."))
    cleaned: dict[str, dict[str, bool]] = {}
    for kind, channels in value.items():
        if kind not in Kind.values:
            raise refuse(
                _("Unknown kind %(kind)r; the kinds are %(kinds)s.")
                % {"kind": str(kind)[:40], "kinds": ", ".join(Kind.values)}
            )
        if not isinstance(channels, Mapping):
            raise refuse(_("kinds.%(kind)s must map channels to true or false.") % {"kind": kind})
        for channel, on in channels.items():
            if channel not in Channel.values:
                raise refuse(
                    _(
                        "Unknown channel %(channel)r in kinds.%(kind)s; "
                        "the channels are %(channels)s."
                    )
                    % {
                        "channel": str(channel)[:40],
                        "kind": kind,
                        "channels": ", ".join(Channel.values),
                    }
                )
            if not isinstance(on, bool):
                raise refuse(
                    _("kinds.%(kind)s.%(channel)s must be true or false.")
                    % {"kind": kind, "channel": channel}
                )
        cleaned[kind] = dict(channels)
    return cleaned


def _whole_number_in(value: object, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _check_quiet_hours(
    start: dt.time | None | _Unset, end: dt.time | None | _Unset, errors: dict[str, str]
) -> None:
    """Both or neither: a start and an end that differ, or both None to
    clear them. (The table's check constraint says the same.)"""
    if start is UNSET and end is UNSET:
        return
    if start is UNSET or end is UNSET:
        missing = "quiet_hours_start" if start is UNSET else "quiet_hours_end"
        errors[missing] = _("Give quiet hours a start and an end, or clear both.")
        return
    if (start is None) != (end is None):
        missing = "quiet_hours_start" if start is None else "quiet_hours_end"
        errors[missing] = _("Give quiet hours a start and an end, or clear both.")
        return
    for name, value in (("quiet_hours_start", start), ("quiet_hours_end", end)):
        if value is not None and (not isinstance(value, dt.time) or value.tzinfo is not None):
            errors[name] = _("A local time of day (HH:MM), without a zone.")
    if start is not None and start == end and not errors:
        errors["quiet_hours_end"] = _("Quiet hours end at another time than they start.")


def check_preferences(
    *,
    email_enabled: object = None,
    push_enabled: object = None,
    push_show_content: object = None,
    kinds: object = None,
    quiet_hours_start: dt.time | None | _Unset = UNSET,
    quiet_hours_end: dt.time | None | _Unset = UNSET,
    digest: object = None,
    digest_hour: object = None,
    digest_weekday: object = None,
    time_zone: object = None,
) -> dict[str, dict[str, bool]] | None:
    """``update_preferences``'s checks, storing nothing (the admin's form
    asks first, so a refusal shows next to its field). Returns the cleaned
    kinds map (or None); raises ``ValidationError`` naming each refused
    field."""
    errors: dict[str, str] = {}
    booleans = {
        "email_enabled": email_enabled,
        "push_enabled": push_enabled,
        "push_show_content": push_show_content,
    }
    for name, flag in booleans.items():
        if flag is not None and not isinstance(flag, bool):
            errors[name] = _("%(field)s must be true or false.") % {"field": name}
    cleaned_kinds: dict[str, dict[str, bool]] | None = None
    if kinds is not None:
        try:
            cleaned_kinds = clean_kinds(kinds)
        except ValidationError as error:
            errors.update({k: " ".join(v) for k, v in error.message_dict.items()})
    _check_quiet_hours(quiet_hours_start, quiet_hours_end, errors)
    if digest is not None and digest not in DigestFrequency.values:
        errors["digest"] = _("Unknown digest frequency %(digest)r: off, daily or weekly.") % {
            "digest": str(digest)[:40]
        }
    if digest_hour is not None and not _whole_number_in(digest_hour, 0, 23):
        errors["digest_hour"] = _("digest_hour is an hour of the day, 0 to 23.")
    if digest_weekday is not None and not _whole_number_in(digest_weekday, 0, 6):
        errors["digest_weekday"] = _("digest_weekday is a day of the week, 0 (Monday) to 6.")
    if time_zone is not None:
        try:
            account_services.check_time_zone(time_zone)
        except ValidationError as error:
            errors.update({k: " ".join(v) for k, v in error.message_dict.items()})
    if errors:
        raise ValidationError(errors, code="invalid")

    return cleaned_kinds


def update_preferences(
    *,
    user: User,
    email_enabled: bool | None = None,
    push_enabled: bool | None = None,
    push_show_content: bool | None = None,
    kinds: Mapping[str, Mapping[str, bool]] | None = None,
    quiet_hours_start: dt.time | None | _Unset = UNSET,
    quiet_hours_end: dt.time | None | _Unset = UNSET,
    digest: str | None = None,
    digest_hour: int | None = None,
    digest_weekday: int | None = None,
    time_zone: str | None = None,
) -> NotificationPreference:
    """Set the given preferences of ``user``; the others keep their value (or
    the defaults, for a person who never chose). ``kinds`` may name only some
    kinds and channels: those change, the rest of the map stays. Quiet hours
    are local times in the person's time zone, given both (``None`` for both
    clears them). ``time_zone`` (an IANA name) is stored on the user, in the
    same transaction. Returns the stored row; on a refusal nothing is stored
    (``ValidationError`` with a dict naming each refused field)."""
    booleans = {
        "email_enabled": email_enabled,
        "push_enabled": push_enabled,
        "push_show_content": push_show_content,
    }
    cleaned_kinds = check_preferences(
        **booleans,
        kinds=kinds,
        quiet_hours_start=quiet_hours_start,
        quiet_hours_end=quiet_hours_end,
        digest=digest,
        digest_hour=digest_hour,
        digest_weekday=digest_weekday,
        time_zone=time_zone,
    )
    changes: dict[str, object] = {
        name: value
        for name, value in {
            **booleans,
            "digest": digest,
            "digest_hour": digest_hour,
            "digest_weekday": digest_weekday,
        }.items()
        if value is not None
    }
    if quiet_hours_start is not UNSET and quiet_hours_end is not UNSET:
        changes["quiet_hours_start"] = quiet_hours_start
        changes["quiet_hours_end"] = quiet_hours_end
    with transaction.atomic():
        if time_zone is not None and time_zone != user.time_zone:
            account_services.set_time_zone(user=user, time_zone=time_zone)
        # The row exists from here, then is locked: two saves of the kinds
        # map at once must not lose a change.
        NotificationPreference.objects.get_or_create(user=user)
        preference = NotificationPreference.objects.select_for_update().get(user=user)
        if cleaned_kinds:
            merged = {kind: dict(channels) for kind, channels in (preference.kinds or {}).items()}
            for kind, channels in cleaned_kinds.items():
                merged.setdefault(kind, {}).update(channels)
            changes["kinds"] = merged
        if changes:
            for name, value in changes.items():
                setattr(preference, name, value)
            preference.save(update_fields=[*changes, "updated_at"])
    return preference
