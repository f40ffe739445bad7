"""Scheduled messages' services: creating, editing and cancelling one's
own; the sweep that sends the due ones once, through the ordinary send;
failing, with the reason told to the author, where the author may no
longer post or the content filter refuses the text."""

import threading
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Role
from messaging import services as messaging_services
from messaging.errors import ConversationArchived, InvalidInput, NotFound, PersonBlocked
from messaging.integrations.models import ScheduledMessage, ScheduledState
from messaging.integrations.scheduling import services, validation
from messaging.integrations.scheduling.demo import seed_demo
from messaging.models import (
    AuditAction,
    AuditLog,
    Conversation,
    ConversationType,
    Message,
    UserBlock,
)
from messaging.moderation.models import FilterAction, FilterKind, FilterRule
from notifications.models import Kind, Notification
from tests.integrations.scheduling.conftest import later

pytestmark = pytest.mark.django_db


@pytest.fixture
def group(assigned, make_user):
    mentor, student = assigned
    return messaging_services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student], title="Study"
    )


def sent_messages(scheduled):
    return list(Message.objects.filter(sender=scheduled.author, client_id=scheduled.pk))


# --- Times ---------------------------------------------------------------------------------


def test_a_time_without_offset_is_read_in_the_zone_and_one_with_it_as_it_says():
    madrid = validation.parse_send_at("2027-03-01T09:00", time_zone="Europe/Madrid")
    assert madrid == datetime(2027, 3, 1, 8, 0, tzinfo=UTC)
    offset = validation.parse_send_at("2027-03-01T09:00+05:00", time_zone="Europe/Madrid")
    assert offset == datetime(2027, 3, 1, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "value", ["tomorrow", "2027-03-01", "2027-13-01T09:00", 1700000000, None, "9" * 100]
)
def test_a_malformed_time_is_refused(value):
    with pytest.raises(InvalidInput, match="ISO-8601"):
        validation.parse_send_at(value, time_zone="UTC")


def test_a_wall_clock_time_the_clocks_skip_is_refused():
    # Spain moves from 02:00 to 03:00 on the last Sunday of March 2027.
    with pytest.raises(InvalidInput, match="does not exist"):
        validation.parse_send_at("2027-03-28T02:30", time_zone="Europe/Madrid")


def test_an_unknown_zone_is_refused():
    with pytest.raises(InvalidInput, match="time_zone"):
        validation.clean_time_zone("Mars/Olympus")


# --- Create, edit, cancel ----------------------------------------------------------------


def test_scheduling_stores_it_waiting_and_audits_it(direct, assigned, schedule):
    mentor, _ = assigned
    scheduled = schedule(mentor, direct, "See you at 9")
    assert scheduled.state == ScheduledState.SCHEDULED
    assert scheduled.time_zone == "Europe/Madrid"
    row = AuditLog.objects.get(action=AuditAction.SCHEDULED_CREATE)
    assert row.actor == mentor and row.details["scheduled_id"] == str(scheduled.pk)
    assert not Message.objects.filter(client_id=scheduled.pk).exists()


@pytest.mark.parametrize(
    ("delta", "error"),
    [(timedelta(minutes=-5), "in the past"), (timedelta(days=400), "at most 365 days")],
)
def test_a_time_past_or_too_far_ahead_is_refused(direct, assigned, delta, error):
    with pytest.raises(InvalidInput, match=error):
        services.schedule_message(
            author=assigned[0],
            conversation_id=direct.pk,
            content="x",
            send_at=timezone.now() + delta,
            time_zone="UTC",
        )


def test_a_time_a_few_seconds_past_is_due_at_once(direct, assigned):
    scheduled = services.schedule_message(
        author=assigned[0],
        conversation_id=direct.pk,
        content="Now-ish",
        send_at=timezone.now() - timedelta(seconds=20),
        time_zone="UTC",
    )
    assert services.send_due() == 1
    scheduled.refresh_from_db()
    assert scheduled.state == ScheduledState.SENT


def test_a_non_member_cannot_schedule_and_is_told_no_such_conversation(direct, make_user):
    outsider = make_user(Role.MENTOR)
    with pytest.raises(NotFound, match="No such conversation"):
        services.schedule_message(
            author=outsider,
            conversation_id=direct.pk,
            content="x",
            send_at=later(),
            time_zone="UTC",
        )
    assert AuditLog.objects.filter(
        action=AuditAction.ACCESS_DENIED, details__attempted=AuditAction.SCHEDULED_CREATE
    ).exists()
    assert not ScheduledMessage.objects.exists()


def test_nobody_schedules_in_an_archived_or_blocked_conversation(direct, assigned, schedule):
    mentor, student = assigned
    UserBlock.objects.create(blocker=student, blocked=mentor)
    with pytest.raises(PersonBlocked):
        schedule(mentor, direct)
    UserBlock.objects.all().delete()
    Conversation.objects.filter(pk=direct.pk).update(archived_at=timezone.now())
    with pytest.raises(ConversationArchived):
        schedule(mentor, direct)


def test_too_many_waiting_is_refused(direct, assigned, schedule, settings):
    settings.SCHEDULED_MESSAGES_MAX_PENDING = 2
    schedule(assigned[0], direct)
    schedule(assigned[0], direct)
    with pytest.raises(services.TooManyScheduled):
        schedule(assigned[0], direct)


@pytest.mark.django_db(transaction=True)
def test_two_schedules_at_once_do_not_both_pass_the_cap(direct, assigned, schedule, settings):
    """The cap is one waiting message. One schedule is made and not yet
    committed when another starts: the second waits for the first and is
    refused, instead of counting without the first's row and passing."""
    settings.SCHEDULED_MESSAGES_MAX_PENDING = 1
    mentor, _ = assigned
    outcome = {}

    def other_schedule():
        try:
            schedule(mentor, direct, "Second")
            outcome["second"] = "scheduled"
        except services.TooManyScheduled:
            outcome["second"] = "refused"
        finally:
            connection.close()

    thread = threading.Thread(target=other_schedule)
    with transaction.atomic():
        schedule(mentor, direct, "First")
        thread.start()
        # Until the other has finished, or waits for a lock this one holds.
        for _ in range(600):
            thread.join(timeout=0.05)
            if not thread.is_alive() or _someone_waits_for_a_lock():
                break
    thread.join(timeout=30)
    assert outcome == {"second": "refused"}
    assert ScheduledMessage.objects.filter(author=mentor).count() == 1


def _someone_waits_for_a_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_editing_changes_text_and_time_and_audits_both(direct, assigned, schedule):
    mentor, _ = assigned
    scheduled = schedule(mentor, direct, "Old text")
    new_time = later(60).replace(microsecond=0)
    edited = services.edit_scheduled(
        author=mentor, scheduled_id=scheduled.pk, content="New text", send_at=new_time
    )
    assert (edited.content, edited.send_at) == ("New text", new_time)
    row = AuditLog.objects.get(action=AuditAction.SCHEDULED_EDIT)
    assert row.details["old_text"] == "Old text" and row.details["new_text"] == "New text"


def test_another_persons_scheduled_message_is_missing_to_them(direct, assigned, schedule):
    mentor, student = assigned
    scheduled = schedule(mentor, direct)
    with pytest.raises(NotFound, match="No such scheduled message"):
        services.edit_scheduled(author=student, scheduled_id=scheduled.pk, content="mine now")
    with pytest.raises(NotFound, match="No such scheduled message"):
        services.cancel_scheduled(author=student, scheduled_id=scheduled.pk)
    scheduled.refresh_from_db()
    assert scheduled.state == ScheduledState.SCHEDULED and scheduled.content == "Later"


def test_a_cancelled_message_is_never_sent_nor_changed(direct, assigned, schedule):
    mentor, _ = assigned
    scheduled = schedule(mentor, direct)
    services.cancel_scheduled(author=mentor, scheduled_id=scheduled.pk)
    assert AuditLog.objects.filter(action=AuditAction.SCHEDULED_CANCEL).count() == 1
    assert services.send_due(now=later()) == 0
    assert sent_messages(scheduled) == []
    with pytest.raises(services.NotScheduled):
        services.edit_scheduled(author=mentor, scheduled_id=scheduled.pk, content="again")
    with pytest.raises(services.NotScheduled):
        services.cancel_scheduled(author=mentor, scheduled_id=scheduled.pk)


# --- The sweep -------------------------------------------------------------------------------


def test_the_sweep_sends_a_due_message_once_through_the_ordinary_send(
    direct, assigned, schedule, django_capture_on_commit_callbacks
):
    mentor, student = assigned
    messaging_services.send_message(
        sender=student, conversation_id=direct.pk, content="Before", client_id=uuid.uuid4()
    )
    scheduled = schedule(mentor, direct, "Good morning")
    assert services.send_due() == 0  # not due yet
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_due(now=later()) == 1
    assert services.send_due(now=later()) == 0
    scheduled.refresh_from_db()
    [message] = sent_messages(scheduled)
    assert scheduled.state == ScheduledState.SENT and scheduled.message == message
    assert (message.content, message.seq) == ("Good morning", 2)
    assert AuditLog.objects.filter(
        action=AuditAction.SCHEDULED_SEND, message_id=message.pk
    ).exists()
    # The ordinary send's notification reached the other person.
    assert Notification.objects.filter(user=student, message=message, kind=Kind.DIRECT).exists()
    with pytest.raises(services.NotScheduled):
        services.edit_scheduled(author=mentor, scheduled_id=scheduled.pk, content="too late")


def test_a_message_stored_before_the_state_was_written_is_not_sent_again(
    direct, assigned, schedule
):
    mentor, _ = assigned
    scheduled = schedule(mentor, direct, "Once")
    # As if an earlier run sent it and its state did not follow.
    first = messaging_services.send_message(
        sender=mentor, conversation_id=direct.pk, content="Once", client_id=scheduled.pk
    ).message
    assert services.send_due(now=later()) == 1
    scheduled.refresh_from_db()
    assert scheduled.state == ScheduledState.SENT and scheduled.message == first
    assert sent_messages(scheduled) == [first]


def test_an_edit_to_a_later_time_is_respected_by_the_sweep(direct, assigned, schedule):
    mentor, _ = assigned
    scheduled = schedule(mentor, direct)
    services.edit_scheduled(author=mentor, scheduled_id=scheduled.pk, send_at=later(120))
    assert services.send_due(now=later(10)) == 0
    assert services.send_due(now=later(121)) == 1


def test_after_the_author_left_it_fails_and_the_author_is_told(group, assigned, schedule):
    mentor, student = assigned
    scheduled = schedule(student, group, "For the group")
    messaging_services.remove_participant(actor=student, conversation_id=group.pk, user=student)
    assert services.send_due(now=later()) == 1
    scheduled.refresh_from_db()
    assert scheduled.state == ScheduledState.FAILED
    assert scheduled.failure == "You are not a member of this conversation."
    assert sent_messages(scheduled) == []
    told = Notification.objects.get(user=student, kind=Kind.REMINDER)
    assert told.data["scheduled_message_id"] == str(scheduled.pk)
    assert "was not sent" in told.data["excerpt"] and "not a member" in told.data["excerpt"]
    assert AuditLog.objects.filter(action=AuditAction.SCHEDULED_FAIL).exists()
    # Cancelling what failed is refused; it stays as it is.
    with pytest.raises(services.NotScheduled):
        services.cancel_scheduled(author=student, scheduled_id=scheduled.pk)


def test_the_author_is_emailed_that_it_was_not_sent_not_reminded(
    group, assigned, schedule, django_capture_on_commit_callbacks
):
    from django.core import mail

    _, student = assigned
    schedule(student, group, "For the group")
    messaging_services.remove_participant(actor=student, conversation_id=group.pk, user=student)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.send_due(now=later()) == 1
    [email] = [e for e in mail.outbox if e.to == [student.email]]
    assert email.subject == "Your scheduled message was not sent"
    assert "You are not a member of this conversation." in email.body
    assert "/scheduled/" in email.body
    assert "remind" not in email.body.lower()


def test_an_archived_conversation_fails_it_with_the_reason(direct, assigned, schedule):
    mentor, _ = assigned
    scheduled = schedule(mentor, direct)
    messaging_services.set_archived(actor=mentor, conversation_id=direct.pk, archived=True)
    services.send_due(now=later())
    scheduled.refresh_from_db()
    assert (scheduled.state, scheduled.failure) == (
        ScheduledState.FAILED,
        "This conversation is archived.",
    )


def test_a_deactivated_author_sends_nothing(direct, assigned, schedule):
    mentor, _ = assigned
    scheduled = schedule(mentor, direct)
    mentor.is_active = False
    mentor.save(update_fields=["is_active"])
    services.send_due(now=later())
    scheduled.refresh_from_db()
    assert scheduled.state == ScheduledState.FAILED
    assert scheduled.failure == "This account is deactivated."
    assert sent_messages(scheduled) == []


def test_content_the_filter_blocks_fails_it_with_the_rules_reason(direct, assigned, schedule):
    mentor, _ = assigned
    scheduled = schedule(mentor, direct, "buy cheapwatches now")
    FilterRule.objects.create(
        name="spam",
        kind=FilterKind.TERM,
        action=FilterAction.BLOCK,
        pattern="cheapwatches",
        message="No advertising here.",
    )
    services.send_due(now=later())
    scheduled.refresh_from_db()
    assert (scheduled.state, scheduled.failure) == (ScheduledState.FAILED, "No advertising here.")
    assert sent_messages(scheduled) == []
    assert Notification.objects.filter(user=mentor, kind=Kind.REMINDER).exists()


@pytest.mark.django_db(transaction=True)
def test_a_row_another_run_holds_is_skipped_and_sent_once_after(direct, assigned, schedule):
    """Two sweeps at once: the one that holds the row sends it; the other
    passes it by (``skip_locked``) instead of sending it too."""
    mentor, _ = assigned
    scheduled = schedule(mentor, direct, "Exactly once")
    outcome = {}

    def other_sweep():
        try:
            outcome["sent"] = services.send_due(now=later())
        finally:
            connection.close()

    with transaction.atomic():
        ScheduledMessage.objects.select_for_update().get(pk=scheduled.pk)
        thread = threading.Thread(target=other_sweep)
        thread.start()
        thread.join(timeout=30)
    assert outcome == {"sent": 0}
    assert services.send_due(now=later()) == 1
    assert services.send_due(now=later()) == 0
    [message] = sent_messages(scheduled)
    assert message.seq == Conversation.objects.get(pk=direct.pk).last_seq


# --- Demo ------------------------------------------------------------------------------------


def test_the_demo_schedules_marias_message_for_tomorrow_at_nine_once(make_user):
    maria = make_user(Role.MENTOR, time_zone="America/New_York")
    sam = make_user(Role.MENTOR)
    group = messaging_services.create_conversation(
        creator=maria, kind=ConversationType.GROUP, participants=[sam], title="Capstone study group"
    )
    seed_demo({"maria@parley.test": maria})
    seed_demo({"maria@parley.test": maria})
    [scheduled] = ScheduledMessage.objects.all()
    assert scheduled.conversation == group and scheduled.state == ScheduledState.SCHEDULED
    local = scheduled.send_at.astimezone(ZoneInfo("America/New_York"))
    assert (local.hour, local.minute) == (9, 0)
    assert local.date() > timezone.now().astimezone(ZoneInfo("America/New_York")).date()
