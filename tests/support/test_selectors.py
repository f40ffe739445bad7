"""The staff's queue and its filters, a requester's own list, one request;
and the policy's support rules in their Python and query forms."""

import itertools
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Role
from messaging import events, policy
from messaging import selectors as messaging_selectors
from messaging.errors import AccessDenied, InvalidInput, NotFound
from messaging.support import selectors, services
from messaging.support.models import SupportCategory, SupportRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def board(student, mentor, admin_user, second_admin, open_request, settings):
    """Four requests: fresh, old and unanswered, old and answered, resolved."""
    settings.PARLEY = {
        **settings.PARLEY,
        "SUPPORT_FIRST_RESPONSE_HOURS": 4,
        "SUPPORT_RESOLUTION_HOURS": 48,
    }
    technical = SupportCategory.objects.get(slug="technical")
    now = timezone.now()
    fresh = open_request(student, subject="fresh")
    unanswered = open_request(mentor, subject="unanswered", category_id=technical.pk)
    answered = open_request(student, subject="answered")
    resolved = open_request(mentor, subject="resolved")
    SupportRequest.objects.filter(pk=unanswered.pk).update(created_at=now - timedelta(hours=5))
    SupportRequest.objects.filter(pk=answered.pk).update(
        created_at=now - timedelta(hours=50), first_response_at=now - timedelta(hours=49)
    )
    SupportRequest.objects.filter(pk=resolved.pk).update(created_at=now - timedelta(hours=100))
    services.change_status(actor=admin_user, request_id=resolved.pk, status="resolved")
    services.assign(actor=admin_user, request_id=fresh.pk, assignee_id=admin_user.pk)
    services.assign(actor=second_admin, request_id=answered.pk, assignee_id=second_admin.pk)
    services.set_priority(actor=admin_user, request_id=unanswered.pk, priority="urgent")
    return {"fresh": fresh, "unanswered": unanswered, "answered": answered, "resolved": resolved}


def names(requests):
    return {r.subject for r in requests}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, {"fresh", "unanswered", "answered", "resolved"}),
        ({"status": "open"}, {"fresh", "unanswered", "answered"}),
        ({"status": "resolved"}, {"resolved"}),
        ({"category": "technical"}, {"unanswered"}),
        ({"category": "complaint"}, {"fresh", "answered", "resolved"}),
        ({"assignee": "me"}, {"fresh"}),
        ({"assignee": "none"}, {"unanswered", "resolved"}),
        ({"priority": "urgent"}, {"unanswered"}),
        ({"overdue": True}, {"unanswered", "answered"}),
        ({"overdue": False}, {"fresh", "resolved"}),
        ({"older_than_hours": 24}, {"answered", "resolved"}),
        ({"older_than_hours": 1, "overdue": True, "status": "open"}, {"unanswered", "answered"}),
    ],
)
def test_queue_filters(board, admin_user, filters, expected):
    assert names(selectors.queue(user=admin_user, **filters)) == expected


def test_queue_filters_by_an_assignees_id(board, admin_user, second_admin):
    found = selectors.queue(user=admin_user, assignee=str(second_admin.pk))
    assert names(found) == {"answered"}


def test_queue_is_newest_first(board, admin_user):
    listed = list(selectors.queue(user=admin_user))
    assert [r.created_at for r in listed] == sorted((r.created_at for r in listed), reverse=True)


@pytest.mark.parametrize(
    "filters",
    [
        {"status": "gone"},
        {"priority": "meh"},
        {"category": "nope"},
        {"assignee": "someone"},
        {"older_than_hours": -1},
    ],
)
def test_bad_queue_filters_are_invalid(board, admin_user, filters):
    with pytest.raises(InvalidInput):
        list(selectors.queue(user=admin_user, **filters))


def test_only_staff_see_the_queue(board, student, mentor):
    for user in (student, mentor):
        with pytest.raises(AccessDenied):
            selectors.queue(user=user)


def test_requests_of_and_request_for(board, student, mentor, make_user, admin_user):
    assert names(selectors.requests_of(student)) == {"fresh", "answered"}
    assert selectors.request_for(student, board["fresh"].pk) == board["fresh"]
    assert selectors.request_for(admin_user, board["fresh"].pk) == board["fresh"]
    with pytest.raises(NotFound):
        selectors.request_for(mentor, board["fresh"].pk)
    with pytest.raises(NotFound):
        selectors.request_for(student, uuid.uuid4())
    conversation_id = board["fresh"].conversation_id
    assert selectors.request_for_conversation(student, conversation_id) == board["fresh"]
    assert selectors.request_for_conversation(mentor, conversation_id) is None


# --- The policy's two forms agree -----------------------------------------------------------


def test_may_see_and_visible_requests_agree(board, student, mentor, admin_user, make_user):
    people = [
        student,
        mentor,
        admin_user,
        make_user(Role.STUDENT),
        make_user(Role.ADMIN, is_active=False),
        make_user(Role.MENTOR, is_active=False),
    ]
    for user, request in itertools.product(people, SupportRequest.objects.all()):
        in_query = policy.visible_support_requests(user).filter(pk=request.pk).exists()
        assert policy.may_see_support_request(user, request) == in_query, (user, request)


def test_may_be_assigned_and_assignees_agree(student, mentor, admin_user, make_user):
    people = [student, mentor, admin_user, make_user(Role.ADMIN, is_active=False)]
    for user in people:
        in_query = policy.support_assignees().filter(pk=user.pk).exists()
        assert policy.may_be_assigned_support(user) == in_query


def test_may_rate_only_the_requester_once_after_resolution(board, student, mentor, admin_user):
    answered = board["answered"]
    assert not policy.may_rate_support(student, answered)
    services.change_status(actor=admin_user, request_id=answered.pk, status="resolved")
    answered.refresh_from_db()
    assert policy.may_rate_support(student, answered)
    assert not policy.may_rate_support(mentor, answered)
    assert not policy.may_rate_support(admin_user, answered)
    services.rate(actor=student, request_id=answered.pk, satisfied=True)
    answered.refresh_from_db()
    assert not policy.may_rate_support(student, answered)


# --- Payloads -------------------------------------------------------------------------------


def test_the_conversation_payload_carries_its_request(board, student, direct):
    payload = events.conversation_payload(board["fresh"].conversation)
    assert payload["support"]["id"] == str(board["fresh"].pk)
    assert "allowed_statuses" not in payload["support"]
    assert "support" not in events.conversation_payload(direct)


def test_the_inbox_builds_support_payloads_without_a_query_each(board, admin_user):
    memberships = list(messaging_selectors.inbox(admin_user, kind="support"))
    assert len(memberships) == 4
    with CaptureQueriesContext(connection) as queries:
        payloads = [
            events.conversation_payload(m.conversation, m.conversation.active_participants)
            for m in memberships
        ]
    assert len(queries) == 0, [q["sql"] for q in queries]
    assert {p["support"]["subject"] for p in payloads} == {
        "fresh",
        "unanswered",
        "answered",
        "resolved",
    }
