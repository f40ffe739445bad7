"""Thread-only replies (parent set, not also sent to the conversation) count
in their thread's own unread, not in the conversation's: not in the inbox
badge or total, not as the inbox preview, not in the socket's hello, not in
digests or missed-message emails, and they do not bring back a conversation
the person put away. A reply also sent to the conversation counts."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from messaging import selectors, services
from notifications.selectors import digests as digest_selectors
from notifications.selectors import missed_email as missed_selectors

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def say(user, conversation, content, *, parent=None, also=False):
    return services.send_message(
        sender=user,
        conversation_id=conversation.pk,
        content=content,
        client_id=uuid.uuid4(),
        parent_id=parent.pk if parent else None,
        also_to_conversation=also,
    ).message


def inbox_row(user, conversation, *, archived=False):
    return next(
        (
            m
            for m in selectors.inbox(user, archived=archived)
            if m.conversation_id == conversation.pk
        ),
        None,
    )


def membership(user, conversation):
    return conversation.participants.get(user=user)


def test_a_thread_only_reply_leaves_unread_and_preview_alone(api, group, mentor, student):
    root = say(mentor, group, "root")
    say(mentor, group, "in the thread", parent=root)
    say(mentor, group, "again in the thread", parent=root)

    row = inbox_row(student, group)
    assert row.unread_count == 1
    assert row.last_message_content == "root"
    assert row.last_message_seq == root.seq
    assert selectors.unread_total(student) == 1
    assert selectors.last_messages([group.pk])[group.pk].pk == root.pk
    assert selectors.unread_in(membership(student, group)) == 1
    hello = {c["id"]: c for c in selectors.socket_conversations(student)}[str(group.pk)]
    assert hello["unread"] == 1 and hello["last_seq"] == root.seq + 2

    listed = api(student).get("/api/conversations/").json()["conversations"]
    item = next(c for c in listed if c["id"] == str(group.pk))
    assert item["unread_count"] == 1
    assert item["last_message"]["id"] == str(root.pk)
    detail = api(student).get(f"/api/conversations/{group.pk}/").json()
    assert detail["unread_count"] == 1


def test_a_thread_only_reply_leaves_the_conversation_in_its_place(group, mentor, student):
    root = say(mentor, group, "root")
    group.refresh_from_db()
    at_root = group.last_message_at
    say(mentor, group, "in the thread", parent=root)
    group.refresh_from_db()
    assert group.last_message_at == at_root  # the inbox orders by the main stream
    shown = say(mentor, group, "for everyone", parent=root, also=True)
    group.refresh_from_db()
    assert group.last_message_at == shown.sent_at


def test_a_reply_also_sent_to_the_conversation_counts(api, group, mentor, student):
    root = say(mentor, group, "root")
    say(mentor, group, "thread only", parent=root)
    shown = say(mentor, group, "for everyone", parent=root, also=True)

    row = inbox_row(student, group)
    assert row.unread_count == 2
    assert row.last_message_content == "for everyone"
    assert selectors.unread_total(student) == 2
    assert selectors.last_messages([group.pk])[group.pk].pk == shown.pk
    item = next(
        c
        for c in api(student).get("/api/conversations/").json()["conversations"]
        if c["id"] == str(group.pk)
    )
    assert item["unread_count"] == 2 and item["last_message"]["id"] == str(shown.pk)


def test_reading_past_thread_replies_leaves_nothing_unread(api, group, mentor, student):
    root = say(mentor, group, "root")
    reply = say(mentor, group, "thread only", parent=root)
    after = say(mentor, group, "main again")
    assert inbox_row(student, group).unread_count == 2

    response = api(student).post(
        f"/api/conversations/{group.pk}/read/", {"seq": root.seq}, format="json"
    )
    assert response.status_code == 200, response.content
    # Only "main again" is left: the thread reply between does not count.
    assert response.json()["unread_count"] == 1
    assert inbox_row(student, group).unread_count == 1

    services.mark_read(user=student, conversation_id=group.pk, up_to_seq=after.seq)
    assert inbox_row(student, group).unread_count == 0
    assert reply.seq < after.seq


def test_a_thread_only_reply_does_not_bring_back_a_put_away_conversation(group, mentor, student):
    root = say(mentor, group, "root")
    services.set_archived_for_me(user=student, conversation_id=group.pk, archived=True)

    say(mentor, group, "thread only", parent=root)
    assert inbox_row(student, group) is None
    assert inbox_row(student, group, archived=True) is not None
    assert selectors.is_put_away(membership(student, group))

    say(mentor, group, "to everyone", parent=root, also=True)
    assert inbox_row(student, group) is not None
    assert not selectors.is_put_away(membership(student, group))


def test_digests_and_missed_emails_leave_thread_only_replies_out(group, mentor, student):
    root = say(mentor, group, "root")
    say(mentor, group, "thread only", parent=root)
    shown = say(mentor, group, "to everyone", parent=root, also=True)
    say(mentor, group, "thread only again", parent=root)

    found = digest_selectors.unread_conversations(student, at=timezone.now())
    item = next(f for f in found if f.conversation.pk == group.pk)
    assert item.unread == 2
    assert item.latest.pk == shown.pk

    window = missed_selectors.unread_window(
        membership(student, group),
        sent_after=None,
        sent_until=timezone.now() + dt.timedelta(seconds=1),
    )
    assert [m.pk for m in window] == [root.pk, shown.pk]
