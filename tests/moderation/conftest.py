"""Moderation fixtures: a moderator (staff, in the Moderators group), staff
members without the permission, and a group conversation with a reported
message and its open case."""

import uuid

import pytest
from django.contrib.auth.models import Group

from accounts.models import Role
from messaging import services
from messaging.models import FilterAction, FilterKind, FilterRule, Report, ReportReason
from messaging.moderation.services import cases
from tests.api.conftest import api, send  # noqa: F401
from tests.realtime.conftest import _fresh_presence, open_socket  # noqa: F401


@pytest.fixture
def moderator(make_user):
    """A mentor who moderates: staff, in the Moderators group, not a
    platform admin."""
    user = make_user(Role.MENTOR, name="Mo Moderator", is_staff=True)
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


@pytest.fixture
def staff_mentor(make_user):
    """Staff (reaches the admin site) without the moderate permission."""
    return make_user(Role.MENTOR, name="Staff Mentor", is_staff=True)


@pytest.fixture
def staff_student(make_user):
    return make_user(Role.STUDENT, name="Staff Student", is_staff=True)


@pytest.fixture
def group(assigned):
    mentor, student = assigned
    return services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Study group"
    )


def say(sender, conversation, content):
    return services.send_message(
        sender=sender, conversation_id=conversation.pk, content=content, client_id=uuid.uuid4()
    ).message


def report(message, reporter, reason=ReportReason.HARASSMENT, details=""):
    """A report as the reports service leaves it: the row and the opened case."""
    case = cases.open_case(message, reports=1)
    Report.objects.create(
        case=case, message=message, reporter=reporter, reason=reason, details=details
    )
    return case


@pytest.fixture
def reported(group, assigned):
    """Twelve messages in the group, the odd ones the student's; the
    seventh ("line 7", the student's) is reported by the mentor. Returns
    (its case, the messages in seq order)."""
    mentor, student = assigned
    sent = [say(student if n % 2 else mentor, group, f"line {n}") for n in range(1, 13)]
    case = report(sent[6], mentor, details="Not OK")
    return case, sent


@pytest.fixture
def make_rule(db):
    """``make_rule(kind, action, **fields)``: an active filter rule, saved
    as the admin would (the save makes every process read the rules again)."""

    def make(kind=FilterKind.TERM, action=FilterAction.BLOCK, **fields) -> FilterRule:
        fields.setdefault("name", f"{kind} {action} {FilterRule.objects.count() + 1}")
        return FilterRule.objects.create(kind=kind, action=action, **fields)

    return make
