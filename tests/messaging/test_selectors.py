"""messaging.selectors: the inbox with unread counts, and history by keyset."""

import uuid

import pytest
from django.conf import settings

from accounts.models import Role
from messaging import selectors, services, validation
from messaging.errors import AccessDenied, InvalidInput, NotFound, NotVisible
from messaging.models import AuditAction, AuditLog, Conversation, ConversationType
from tests.messaging.helpers import send


@pytest.mark.django_db
def test_inbox_unread_counts_and_order(assigned, direct, make_user):
    mentor, student = assigned
    colleague = make_user(Role.MENTOR)
    group = services.create_conversation(
        creator=mentor,
        kind=ConversationType.GROUP,
        participants=[student, colleague],
        title="Study",
    )
    for i in range(3):
        send(mentor, direct, f"d{i}")
    send(colleague, group, "g0")
    send(colleague, group, "g1")

    rows = list(selectors.inbox(student))
    assert [r.conversation_id for r in rows] == [group.pk, direct.pk]  # newest activity first
    assert {r.conversation_id: r.unread_count for r in rows} == {group.pk: 2, direct.pk: 3}
    assert rows[0].last_message_content == "g1"
    assert rows[0].last_message_sender_id == colleague.pk
    assert {p.user_id for p in rows[0].conversation.active_participants} == {
        mentor.pk,
        student.pk,
        colleague.pk,
    }
    assert selectors.unread_total(student) == 5

    services.mark_read(user=student, conversation_id=direct.pk, up_to_seq=2)
    assert {r.conversation_id: r.unread_count for r in selectors.inbox(student)} == {
        group.pk: 2,
        direct.pk: 1,
    }
    # Replying reads everything before the reply.
    send(student, group, "me too")
    assert selectors.unread_total(student) == 1
    # Own messages are never unread for their sender.
    assert {r.conversation_id: r.unread_count for r in selectors.inbox(mentor)} == {
        group.pk: 3,
        direct.pk: 0,
    }

    assert [r.conversation_id for r in selectors.inbox(student, kind="direct")] == [direct.pk]
    with pytest.raises(InvalidInput, match="Unknown conversation type"):
        selectors.inbox(student, kind="broadcast")


@pytest.mark.django_db
def test_inbox_leaves_out_archived_and_left_conversations(assigned, direct, make_user):
    mentor, student = assigned
    group = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student], title="g"
    )
    services.set_archived(actor=mentor, conversation_id=direct.pk, archived=True)
    assert [r.conversation_id for r in selectors.inbox(student)] == [group.pk]
    assert [r.conversation_id for r in selectors.inbox(student, archived=True)] == [direct.pk]

    services.remove_participant(actor=student, conversation_id=group.pk, user=student)
    assert list(selectors.inbox(student)) == []
    assert selectors.conversation_ids_for(student) == [direct.pk]
    assert set(selectors.member_ids(group.pk)) == {mentor.pk}


@pytest.mark.django_db
def test_a_newcomer_is_not_behind_on_what_came_before(assigned, make_user):
    mentor, student = assigned
    group = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student], title="g"
    )
    for i in range(5):
        send(student, group, f"old {i}")
    colleague = make_user(Role.MENTOR)
    services.add_participants(actor=mentor, conversation_id=group.pk, users=[colleague])
    (row,) = selectors.inbox(colleague)
    assert row.unread_count == 1  # the notice that they were added
    (own,) = selectors.inbox(mentor)
    assert own.unread_count == 0  # the adder wrote that notice


@pytest.fixture
def long_history(direct, assigned):
    mentor, student = assigned
    for i in range(1, 26):
        send(mentor if i % 2 else student, direct, f"m{i}")
    return direct


def seqs(page):
    return [m.seq for m in page]


@pytest.mark.django_db
def test_history_pages_both_ways(long_history, assigned):
    _, student = assigned
    conversation_id = long_history.pk

    latest = selectors.history(user=student, conversation_id=conversation_id, limit=10)
    assert seqs(latest) == list(range(16, 26))
    back = selectors.history(
        user=student, conversation_id=conversation_id, before_seq=latest[0].seq, limit=10
    )
    assert seqs(back) == list(range(6, 16))
    oldest = selectors.history(
        user=student, conversation_id=conversation_id, before_seq=back[0].seq, limit=10
    )
    assert seqs(oldest) == [1, 2, 3, 4, 5]
    assert selectors.history(user=student, conversation_id=conversation_id, before_seq=1) == []

    forward = selectors.history(user=student, conversation_id=conversation_id, after_seq=0, limit=7)
    assert seqs(forward) == list(range(1, 8))
    resume = selectors.history(user=student, conversation_id=str(conversation_id), after_seq=20)
    assert seqs(resume) == [21, 22, 23, 24, 25]
    assert selectors.history(user=student, conversation_id=conversation_id, after_seq=25) == []
    assert [m.content for m in resume] == ["m21", "m22", "m23", "m24", "m25"]
    default = selectors.history(user=student, conversation_id=conversation_id)
    assert seqs(default) == list(range(1, 26))  # under the default page size


@pytest.mark.django_db
def test_history_page_size_is_capped(long_history, assigned, monkeypatch):
    _, student = assigned
    monkeypatch.setitem(settings.PARLEY, "HISTORY_MAX_PAGE_SIZE", 4)
    page = selectors.history(
        user=student, conversation_id=long_history.pk, limit=validation.clean_page_size(1000)
    )
    assert seqs(page) == [22, 23, 24, 25]


@pytest.mark.django_db
def test_history_keeps_deleted_messages_in_place(long_history, assigned):
    mentor, student = assigned
    services.delete_message(
        actor=mentor,
        message_id=selectors.history(
            user=student, conversation_id=long_history.pk, after_seq=2, limit=1
        )[0].pk,
    )
    page = selectors.history(user=student, conversation_id=long_history.pk, after_seq=1, limit=3)
    assert seqs(page) == [2, 3, 4]
    assert page[1].deleted_at is not None and page[1].content == ""


@pytest.mark.django_db
def test_history_is_for_members_only(long_history, assigned, make_user):
    mentor, _ = assigned
    outsider = make_user(Role.STUDENT)
    # Refused as access (audited), answered as a missing conversation.
    with pytest.raises(NotVisible, match="No such conversation"):
        selectors.history(user=outsider, conversation_id=long_history.pk)
    row = AuditLog.objects.get(action=AuditAction.ACCESS_DENIED)
    assert (row.actor_id, row.conversation_id) == (outsider.pk, long_history.pk)
    assert row.details["attempted"] == "history"
    with pytest.raises(NotFound):
        selectors.history(user=outsider, conversation_id=uuid.uuid4())
    message = selectors.history(user=mentor, conversation_id=long_history.pk, limit=1)[0]
    assert selectors.message_for(mentor, message.pk).pk == message.pk
    with pytest.raises(AccessDenied):
        selectors.message_for(outsider, message.pk)
    assert AuditLog.objects.filter(action=AuditAction.ACCESS_DENIED).count() == 2


@pytest.mark.django_db
def test_what_a_person_calls_a_conversation_is_said_one_way_everywhere(make_user):
    """``conversation_names`` (the calendar, scheduled messages) and the
    pages' ``title_for`` name a conversation alike: its title, "Support"
    for an untitled support conversation, else three other members and how
    many more; one the reader left is not theirs to name."""
    from messaging.views import title_for

    mentor = make_user(Role.ADMIN, name="Ada")
    names = ["Ann", "Ben", "Cat", "Dan"]
    students = [make_user(Role.STUDENT, name=name) for name in names]
    crowd = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=students, title="Crowd"
    )
    # A group needs a name now; an imported one may have none.
    Conversation.objects.filter(pk=crowd.pk).update(title="")
    crowd.refresh_from_db()
    titled = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=students[:1], title="Study"
    )
    left = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=students[:2], title="Old"
    )
    support = services.create_conversation(
        creator=students[0], kind=ConversationType.SUPPORT, participants=[], title=""
    )
    services.remove_participant(actor=students[0], conversation_id=left.pk, user=students[0])
    services.remove_participant(actor=students[3], conversation_id=crowd.pk, user=students[3])

    reader = students[0]
    said = selectors.conversation_names(reader, [crowd, titled, left, support])
    assert said[crowd.pk] == f"{mentor.display_name}, Ben, Cat"
    assert said[titled.pk] == "Study"
    assert said[left.pk] == "A conversation you left"
    assert said[support.pk] == "Support"
    # Dan left the crowd: named only where members who left are.
    with_left = selectors.conversation_names(reader, [crowd], with_members_who_left=True)
    assert with_left[crowd.pk] == f"{mentor.display_name}, Ben, Cat +1"
    members = selectors.participants(crowd)
    for conversation in (crowd, titled, support):
        assert title_for(conversation, None, reader) == said[conversation.pk]
    assert title_for(crowd, members, reader) == said[crowd.pk]
