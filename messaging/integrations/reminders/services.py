"""Reminders: set, snooze, cancel, and fire.

A person sets a reminder on a message they can read now (the same
``not_found`` as a missing message otherwise). The sweep (``tasks.
sweep_reminders``, every few seconds) fires each due reminder once: the
row is claimed and marked ``fired`` in the same transaction that writes the
``reminder`` notification, so two sweeps at once, or one run twice, notify
once per firing. Snoozing makes a reminder pending again at a new time; it
then fires again, with a notification of its own.

The notification refers to the reminder in ``data`` (``reminder_id``,
``message_id``), not through ``Notification.message``: that column is once
per (person, kind, message), and a snoozed reminder fires more than once.

A reminder whose message was deleted or hidden since, or whose person is no
longer a member of its conversation, still fires (the person asked to be
told at that time), without the message: no excerpt, no link, only their
own note.
"""

import datetime as dt
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import audit, policy, selectors
from messaging.errors import InvalidInput, NotFound
from messaging.integrations.models import Reminder, ReminderState
from messaging.integrations.reminders import presets
from messaging.integrations.scheduling.validation import clean_time_zone
from messaging.models import AuditAction, ConversationParticipant, Message
from messaging.services.transactions import write_transaction
from messaging.threads.services.reactions import refuse_if_gone
from notifications.models import Kind

NOTE_MAX_CHARS = 500


def remind_time(
    *,
    user: User,
    remind_at: dt.datetime | None = None,
    preset: str | None = None,
    time_zone: str | None = None,
    now: dt.datetime | None = None,
) -> dt.datetime:
    """The instant a reminder asked for with ``remind_at`` (aware) or
    ``preset`` (``presets.PRESETS``, on the clocks of ``time_zone`` when
    given, else the person's zone) fires: exactly one of the two, in the
    future, within ``REMINDERS["MAX_DAYS_AHEAD"]``. ``InvalidInput``
    otherwise."""
    now = now or timezone.now()
    if (remind_at is None) == (preset is None):
        raise InvalidInput(_("Give either remind_at or preset."))
    zone = user.time_zone if time_zone is None else clean_time_zone(time_zone)
    if preset is not None:
        try:
            remind_at = presets.preset_time(preset, time_zone=zone, now=now)
        except KeyError:
            raise InvalidInput(
                _("Unknown preset. Use one of: %(names)s.") % {"names": ", ".join(presets.PRESETS)}
            ) from None
    assert remind_at is not None
    if timezone.is_naive(remind_at):
        raise InvalidInput(_("remind_at needs a time zone (an offset or Z)."))
    if remind_at <= now:
        raise InvalidInput(_("remind_at must be in the future."))
    if remind_at > now + dt.timedelta(days=settings.REMINDERS["MAX_DAYS_AHEAD"]):
        raise InvalidInput(
            _("remind_at is at most %(days)s days ahead.")
            % {"days": settings.REMINDERS["MAX_DAYS_AHEAD"]}
        )
    return remind_at.astimezone(dt.UTC)


def _clean_note(note: str) -> str:
    note = (note or "").strip()
    if len(note) > NOTE_MAX_CHARS:
        raise InvalidInput(_("note is at most %(count)s characters.") % {"count": NOTE_MAX_CHARS})
    return note


def _readable_message(user: User, message_id: UUID | str) -> Message:
    """The message, if ``user`` may read it now and it is neither a system
    message nor deleted (``not_found``, as a missing one) nor hidden."""
    message = Message.objects.select_related("conversation").filter(pk=message_id).first()
    if message is None:
        raise NotFound(_("No such message."))
    policy.check_read_message(user, message)
    refuse_if_gone(message)
    return message


def _own(user: User, reminder_id: UUID | str, *, lock: bool = False) -> Reminder:
    rows = Reminder.objects.filter(user=user, pk=reminder_id).exclude(state=ReminderState.CANCELLED)
    if lock:
        rows = rows.select_for_update()
    reminder = rows.first()
    if reminder is None:
        raise NotFound(_("No such reminder."))
    return reminder


def create_reminder(
    *,
    user: User,
    message_id: UUID | str,
    remind_at: dt.datetime | None = None,
    preset: str | None = None,
    time_zone: str | None = None,
    note: str = "",
) -> Reminder:
    """Remind ``user`` of a message they can read, at ``remind_at`` or
    ``preset`` (``remind_time``), with their ``note``. Audited."""
    when = remind_time(user=user, remind_at=remind_at, preset=preset, time_zone=time_zone)
    note = _clean_note(note)
    with write_transaction(actor=user, attempted="reminder.create"):
        message = _readable_message(user, message_id)
        pending = Reminder.objects.filter(user=user, state=ReminderState.PENDING).count()
        if pending >= settings.REMINDERS["MAX_PENDING"]:
            raise InvalidInput(
                _("You have %(count)s pending reminders, as many as you can have.")
                % {"count": pending}
            )
        reminder = Reminder.objects.create(user=user, message=message, remind_at=when, note=note)
        audit.record(
            actor=user,
            action=AuditAction.REMINDER_CREATE,
            conversation_id=message.conversation_id,
            message_id=message.pk,
            reminder_id=str(reminder.pk),
            remind_at=when.isoformat(),
        )
    return reminder


def snooze_reminder(
    *,
    user: User,
    reminder_id: UUID | str,
    remind_at: dt.datetime | None = None,
    preset: str | None = None,
    time_zone: str | None = None,
    note: str | None = None,
) -> Reminder:
    """Move one's own reminder (pending or fired) to a new time: it is
    pending again and fires then. ``note`` given: the note changes too; a
    note alone changes only the note. Needs the message to be readable
    still. Audited."""
    new_time = None
    if remind_at is not None or preset is not None:
        new_time = remind_time(user=user, remind_at=remind_at, preset=preset, time_zone=time_zone)
    else:
        if time_zone is not None:
            # remind_time checks it with a time; without one, as POST does.
            clean_time_zone(time_zone)
        if note is None:
            raise InvalidInput(_("Give remind_at, preset or note."))
    with write_transaction(actor=user, attempted="reminder.snooze"):
        reminder = _own(user, reminder_id, lock=True)
        if new_time is not None:
            _readable_message(user, reminder.message_id)
            reminder.remind_at = new_time
            reminder.state = ReminderState.PENDING
            reminder.fired_at = None
        if note is not None:
            reminder.note = _clean_note(note)
        reminder.save(update_fields=["remind_at", "state", "fired_at", "note", "updated_at"])
        audit.record(
            actor=user,
            action=AuditAction.REMINDER_SNOOZE,
            message_id=reminder.message_id,
            reminder_id=str(reminder.pk),
            remind_at=reminder.remind_at.isoformat(),
            note_changed=note is not None,
        )
    return reminder


def cancel_reminder(*, user: User, reminder_id: UUID | str) -> bool:
    """Cancel one's own reminder: it never fires (again) and leaves the
    list and the calendar feed. True when this call cancelled it; False
    when it was cancelled already. ``not_found`` for anyone else's.
    Audited."""
    policy.check_acting(user)
    with transaction.atomic():
        reminder = Reminder.objects.select_for_update().filter(user=user, pk=reminder_id).first()
        if reminder is None:
            raise NotFound(_("No such reminder."))
        if reminder.state == ReminderState.CANCELLED:
            return False
        reminder.state = ReminderState.CANCELLED
        reminder.save(update_fields=["state", "updated_at"])
        audit.record(
            actor=user,
            action=AuditAction.REMINDER_CANCEL,
            message_id=reminder.message_id,
            reminder_id=str(reminder.pk),
        )
    return True


# --- Firing -----------------------------------------------------------------------


def notification_data(reminder: Reminder, *, readable: bool) -> dict:
    """What the ``reminder`` notification shows without another query: the
    person's note always; the message's excerpt, place and seq only while
    they may read it. The place is named as its person's inbox names it (a
    direct conversation after the other person): the notification is theirs
    alone."""
    data: dict = {
        "reminder_id": str(reminder.pk),
        "note": reminder.note,
        "remind_at": reminder.remind_at.isoformat(),
    }
    if not readable:
        data["unavailable"] = True
        return data
    # Imported here for the reason _notify gives.
    from notifications.services.fanout import message_data

    message = reminder.message
    # What a notification about the message shows, as the fan-out's do.
    data.update(message_data(message), message_id=str(message.pk))
    conversation = message.conversation
    data["conversation_title"] = selectors.conversation_names(reminder.user, [conversation])[
        conversation.pk
    ]
    return data


def _still_readable(reminder: Reminder) -> bool:
    message = reminder.message
    if message.deleted_at is not None or message.hidden_at is not None:
        return False
    if not policy.is_acting(reminder.user):
        return False
    return (
        ConversationParticipant.objects.active()
        .filter(conversation_id=message.conversation_id, user_id=reminder.user_id)
        .exists()
    )


def _notify(reminder: Reminder) -> None:
    # Imported here: the fan-out reaches messaging.realtime, which must not
    # load when this module does (messaging's services import it).
    from notifications.services.fanout import notify

    readable = _still_readable(reminder)
    notify(
        user=reminder.user,
        kind=Kind.REMINDER,
        conversation_id=reminder.message.conversation_id if readable else None,
        data=notification_data(reminder, readable=readable),
        ignore_mutes=True,
    )


def fire_reminder(*, reminder_id: UUID | str, now: dt.datetime | None = None) -> bool:
    """Fire one pending reminder now, whatever its time: mark it fired and
    notify its person, in one transaction. False (nothing done) when it is
    not pending, fired by another run a moment ago included."""
    now = now or timezone.now()
    with transaction.atomic():
        claimed = Reminder.objects.filter(pk=reminder_id, state=ReminderState.PENDING).update(
            state=ReminderState.FIRED, fired_at=now, updated_at=now
        )
        if not claimed:
            return False
        reminder = Reminder.objects.select_related("user", "message__conversation").get(
            pk=reminder_id
        )
        _notify(reminder)
    return True


def fire_due_reminders(*, now: dt.datetime | None = None) -> int:
    """Fire every pending reminder due at ``now``, in batches of
    ``REMINDERS["SWEEP_BATCH"]``; returns how many this call fired.

    Each batch is claimed with ``SELECT … FOR UPDATE SKIP LOCKED`` where the
    database has it (PostgreSQL): a second sweep running at once takes
    other rows, or none. Each row is then moved from pending to fired by a
    compare-and-set (``fire_reminder``), which alone makes a firing happen
    once on a database without row locks (SQLite)."""
    now = now or timezone.now()
    batch = max(1, settings.REMINDERS["SWEEP_BATCH"])
    fired = 0
    while True:
        with transaction.atomic():
            due = Reminder.objects.filter(state=ReminderState.PENDING, remind_at__lte=now).order_by(
                "remind_at"
            )
            if connection.features.has_select_for_update_skip_locked:
                due = due.select_for_update(skip_locked=True)
            ids = list(due.values_list("pk", flat=True)[:batch])
            for reminder_id in ids:
                fired += fire_reminder(reminder_id=reminder_id, now=now)
        if len(ids) < batch:
            return fired
