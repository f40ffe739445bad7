"""The staff's queue and its filters, a requester's own list, one request;
and the policy's support rules in their Python and query forms."""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from messaging import events
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
