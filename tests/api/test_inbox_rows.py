"""The inbox's rows (``selectors.InboxRow``): plain values made into one
conversation per row and one person per user, showing what the model
instances showed."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from messaging import selectors, services

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def test_each_person_is_one_instance_and_members_come_in_joining_order(
    group, direct, mentor, student, make_user, send
):
    late = make_user(Role.MENTOR, name="Lena Late")
    services.add_participants(actor=mentor, conversation_id=group.pk, users=[late])
    send(mentor, group, "welcome")
    send(student, direct, "hi")

    rows = {row.conversation_id: row for row in selectors.inbox(student)}
    assert set(rows) == {group.pk, direct.pk}
    mentors = {id(m.user) for row in rows.values() for m in row.members if m.user_id == mentor.pk}
    assert len(mentors) == 1  # loaded once, shared by both rows
    for row in rows.values():
        assert row.conversation.active_participants is row.members
        assert row.conversation.get_deferred_fields() == set()
        active = row.conversation.participants.active()
        memberships = list(active.order_by("joined_at", "id").select_related("user"))
        assert [
            (m.user, m.user_id, m.role, m.joined_at, m.last_read_seq, m.last_delivered_seq)
            for m in row.members
        ] == [
            (m.user, m.user_id, m.role, m.joined_at, m.last_read_seq, m.last_delivered_seq)
            for m in memberships
        ]
    assert [m.user_id for m in rows[group.pk].members][-1] == late.pk


def test_the_list_shows_each_conversation_as_its_detail_does(api, group, direct, student, send):
    send(student, group, "question")
    client = api(student)
    listed = client.get("/api/conversations/").json()["conversations"]
    assert len(listed) == 2
    for item in listed:
        detail = client.get(f"/api/conversations/{item['id']}/").json()
        assert {k: v for k, v in item.items() if k != "last_message"} == detail


def test_the_list_costs_the_same_queries_for_two_conversations_or_six(
    api, group, direct, mentor, student, send
):
    client = api(student)
    send(mentor, group, "one")
    send(mentor, direct, "two")

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/api/conversations/").status_code == 200
        return len(captured)

    two = queries()
    for n in range(4):
        more = services.create_conversation(
            creator=mentor, kind="group", participants=[student], title=f"More {n}"
        )
        send(mentor, more, f"more {n}")
    assert len(selectors.inbox(student)) == 6
    assert queries() == two
