"""Refusals in the audit log: a repeated refusal is one row per window with
a count (``messaging.audit.record_denial``), the log stays append-only."""

import threading
import uuid

import pytest
from django.conf import settings
from django.db import connection

from messaging import audit
from messaging.models import AuditAction, AuditLog
from messaging.realtime import clock

pytestmark = pytest.mark.django_db


@pytest.fixture
def fake_clock():
    with clock.replaced(clock.FakeClock()) as fake:
        yield fake


def deny(actor, *, attempted="history", conversation_id=None, reason="You are not a member."):
    audit.record_denial(
        actor=actor, attempted=attempted, conversation_id=conversation_id, reason=reason
    )


def counts() -> list[tuple[str, int]]:
    return sorted(
        (row.details["attempted"], audit.repeats(row))
        for row in AuditLog.objects.filter(action=AuditAction.ACCESS_DENIED)
    )


def test_a_repeated_refusal_is_one_row_with_a_count(student, fake_clock):
    conversation_id = uuid.uuid4()
    for _ in range(1_000):
        deny(student, conversation_id=conversation_id)
    [row] = AuditLog.objects.all()
    assert (row.actor_id, row.conversation_id) == (student.pk, conversation_id)
    assert row.details == {
        "attempted": "history",
        "reason": "You are not a member.",
        "window_seconds": settings.PARLEY["AUDIT_DENIAL_WINDOW_SECONDS"],
    }
    assert audit.repeats(row) == 1_000
    assert row.repeat.last_at >= row.at


def test_other_refusals_are_rows_of_their_own(student, mentor, fake_clock):
    conversation_id = uuid.uuid4()
    deny(student, conversation_id=conversation_id)
    deny(student, conversation_id=conversation_id)
    deny(mentor, conversation_id=conversation_id)  # someone else
    deny(student, conversation_id=uuid.uuid4())  # elsewhere
    deny(student, conversation_id=conversation_id, attempted="typing")  # another attempt
    deny(student, conversation_id=conversation_id, reason="This account is deactivated.")
    deny(student, attempted="conversation.create")  # no conversation
    assert AuditLog.objects.count() == 6
    assert counts() == [
        ("conversation.create", 1),
        ("history", 1),
        ("history", 1),
        ("history", 1),
        ("history", 2),
        ("typing", 1),
    ]


def test_each_window_has_its_row(student, fake_clock, monkeypatch):
    monkeypatch.setitem(settings.PARLEY, "AUDIT_DENIAL_WINDOW_SECONDS", 60)
    conversation_id = uuid.uuid4()
    fake_clock.advance(60 - fake_clock.wall() % 60)  # the start of a window
    deny(student, conversation_id=conversation_id)
    fake_clock.advance(59.9)
    deny(student, conversation_id=conversation_id)
    fake_clock.advance(0.1)  # the next window
    deny(student, conversation_id=conversation_id)
    assert counts() == [("history", 1), ("history", 2)]


def test_other_audit_rows_are_not_counted(student):
    row = audit.record(actor=student, action=AuditAction.MESSAGE_SEND, seq=1)
    audit.record(actor=student, action=AuditAction.MESSAGE_SEND, seq=1)
    assert AuditLog.objects.count() == 2
    assert audit.repeats(row) == 1


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_the_same_refusal_in_two_processes_at_once_is_one_row(student, monkeypatch, fake_clock):
    """Another process records the same refusal between this one's look for
    an open window and its insert: the window is unique, so this one counts
    into that row instead of writing a second."""
    conversation_id = uuid.uuid4()
    original = audit.record
    raced = []

    def elsewhere():
        try:
            deny(student, conversation_id=conversation_id)
        finally:
            connection.close()

    def record_after_a_race(**kwargs):
        if not raced:
            raced.append(True)
            other = threading.Thread(target=elsewhere)  # its own database connection
            other.start()
            other.join()
        return original(**kwargs)

    monkeypatch.setattr(audit, "record", record_after_a_race)
    deny(student, conversation_id=conversation_id)
    assert raced
    [row] = AuditLog.objects.all()
    assert audit.repeats(row) == 2
