"""Replies and threads through the services: what a reply stores, counts
and who follows; the refusals; idempotency; reading and following."""

import threading
import uuid

import pytest
from django.db import connection

from messaging import events, services
from messaging.errors import ClientIdConflict, InvalidInput, NotFound
from messaging.models import Message, MessageType
from messaging.threads.models import Thread, ThreadFollow
from messaging.threads.selectors import threads as selectors
from messaging.threads.services import follows
from notifications.models import Kind, Notification
from tests.threads.conftest import send

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def test_a_thread_reply_is_a_message_of_the_stream_with_its_parent(people, group):
    mentor, ann, bob = people
    root = send(mentor, group, "Question of the day")
    reply = send(ann, group, "my answer", parent_id=root.pk)
    assert reply.seq == root.seq + 1
    payload = events.message_payload(reply)
    assert payload["parent_id"] == str(root.pk)
    assert payload["also_to_conversation"] is False
    assert payload["reply_to"] is None
    thread = Thread.objects.get(root=root)
    assert (thread.reply_count, thread.last_reply_seq) == (1, reply.seq)
    assert [r["id"] for r in thread.last_repliers] == [str(ann.pk)]
    follows_ = {f.user_id: f for f in ThreadFollow.objects.filter(thread=thread)}
    assert set(follows_) == {mentor.pk, ann.pk}
    assert follows_[ann.pk].following and follows_[ann.pk].last_read_seq == reply.seq
    assert follows_[mentor.pk].following and follows_[mentor.pk].last_read_seq == 0


def test_last_repliers_are_three_distinct_newest_first(people, group, make_user):
    mentor, ann, bob = people
    root = send(mentor, group, "root")
    for who in (ann, bob, ann, mentor, bob):
        send(who, group, "r", parent_id=root.pk)
    thread = Thread.objects.get(root=root)
    assert thread.reply_count == 5
    assert [r["id"] for r in thread.last_repliers] == [str(bob.pk), str(mentor.pk), str(ann.pk)]


def test_a_reply_to_a_thread_reply_joins_the_roots_thread(people, group):
    mentor, ann, bob = people
    root = send(mentor, group, "root")
    first = send(ann, group, "first", parent_id=root.pk)
    second = send(bob, group, "second", parent_id=first.pk)
    assert second.parent_id == root.pk
    assert Thread.objects.get(root=root).reply_count == 2
    assert not Thread.objects.filter(root=first).exists()


def test_a_quote_carries_the_quoted_message_and_survives_its_deletion(people, group):
    mentor, ann, bob = people
    quoted = send(mentor, group, "quote me " * 40)
    reply = send(ann, group, "quoting", reply_to_id=quoted.pk)
    quote = events.message_payload(reply)["reply_to"]
    assert quote["id"] == str(quoted.pk) and quote["seq"] == quoted.seq
    assert quote["sender"]["id"] == str(mentor.pk)
    assert quote["excerpt"].endswith("…") and not quote["deleted"]
    services.delete_message(actor=mentor, message_id=quoted.pk)
    # A deleted message may still be quoted; the quote says it is deleted.
    again = send(bob, group, "also quoting", reply_to_id=quoted.pk)
    quote = events.message_payload(Message.objects.get(pk=again.pk))["reply_to"]
    assert quote["deleted"] is True and quote["excerpt"] == ""


@pytest.mark.parametrize("field", ["parent_id", "reply_to_id"])
def test_targets_outside_the_conversation_are_invalid_and_store_nothing(
    people, group, field, assigned
):
    mentor, ann, bob = people
    elsewhere = services.create_conversation(
        creator=mentor, kind="group", participants=[ann], title="Elsewhere"
    )
    foreign = send(mentor, elsewhere, "over there")
    before = Message.objects.count()
    for target in (foreign.pk, uuid.uuid4()):
        with pytest.raises(InvalidInput):
            send(ann, group, "reply", **{field: target})
    assert Message.objects.count() == before
    group.refresh_from_db()
    assert group.last_seq == 0


def test_system_messages_and_deleted_roots_take_no_thread(people, group, make_user):
    mentor, ann, bob = people
    system = _system_message(mentor, group, make_user)
    with pytest.raises(InvalidInput):
        send(ann, group, "x", parent_id=system.pk)
    with pytest.raises(InvalidInput):
        send(ann, group, "x", reply_to_id=system.pk)
    root = send(mentor, group, "soon gone")
    services.delete_message(actor=mentor, message_id=root.pk)
    with pytest.raises(InvalidInput):
        send(ann, group, "x", parent_id=root.pk)
    with pytest.raises(InvalidInput):
        send(ann, group, "x", also_to_conversation=True)


def _system_message(mentor, group, make_user):
    from accounts.models import MentorAssignment, Role

    newcomer = make_user(Role.STUDENT)
    MentorAssignment.objects.create(mentor=mentor, student=newcomer)
    services.add_participants(actor=mentor, conversation_id=group.pk, users=[newcomer])
    return Message.objects.filter(conversation=group, message_type=MessageType.SYSTEM).last()


def test_a_non_member_is_refused_before_any_target_is_looked_at(people, group, outsider):
    mentor, ann, bob = people
    root = send(mentor, group, "root")
    from messaging.errors import AccessDenied

    with pytest.raises(AccessDenied):
        send(outsider, group, "x", parent_id=uuid.uuid4())
    with pytest.raises(AccessDenied):
        send(outsider, group, "x", parent_id=root.pk)


def test_a_resend_returns_the_reply_once_and_another_thread_conflicts(people, group):
    mentor, ann, bob = people
    root = send(mentor, group, "root")
    other = send(mentor, group, "other root")
    client_id = uuid.uuid4()
    first = services.send_message(
        sender=ann, conversation_id=group.pk, content="r", client_id=client_id, parent_id=root.pk
    )
    again = services.send_message(
        sender=ann, conversation_id=group.pk, content="r", client_id=client_id, parent_id=root.pk
    )
    assert first.created and not again.created and again.message.pk == first.message.pk
    assert events.message_payload(again.message)["parent_id"] == str(root.pk)
    assert Thread.objects.get(root=root).reply_count == 1
    with pytest.raises(ClientIdConflict):
        services.send_message(
            sender=ann,
            conversation_id=group.pk,
            content="r",
            client_id=client_id,
            parent_id=other.pk,
        )
    with pytest.raises(ClientIdConflict):
        services.send_message(
            sender=ann, conversation_id=group.pk, content="r", client_id=client_id
        )


def test_a_deleted_reply_keeps_its_place_and_the_count(people, group):
    mentor, ann, bob = people
    root = send(mentor, group, "root")
    reply = send(ann, group, "oops", parent_id=root.pk)
    services.delete_message(actor=ann, message_id=reply.pk)
    assert Thread.objects.get(root=root).reply_count == 1
    page = selectors.thread_page(user=bob, root_id=root.pk)
    assert [m.pk for m in page.messages] == [reply.pk]
    assert page.messages[0].deleted_at is not None
    assert page.unread == 0  # deleted replies are not unread


def test_unread_read_and_follow(people, group):
    mentor, ann, bob = people
    root = send(mentor, group, "root")
    replies = [send(ann, group, f"r{i}", parent_id=root.pk) for i in range(3)]
    assert selectors.thread_detail(user=mentor, root_id=root.pk).unread == 3
    assert selectors.thread_detail(user=ann, root_id=root.pk).unread == 0  # her own
    state = follows.mark_thread_read(user=mentor, root_id=root.pk, up_to_seq=replies[1].seq)
    assert (state.last_read_seq, state.unread, state.following) == (replies[1].seq, 1, True)
    # Never backwards, and capped at the last reply.
    state = follows.mark_thread_read(user=mentor, root_id=root.pk, up_to_seq=1)
    assert state.last_read_seq == replies[1].seq
    state = follows.mark_thread_read(user=mentor, root_id=root.pk, up_to_seq=10**6)
    assert (state.last_read_seq, state.unread) == (replies[2].seq, 0)
    # Bob took no part: reading makes a row that does not follow.
    state = follows.mark_thread_read(user=bob, root_id=root.pk, up_to_seq=replies[0].seq)
    assert state.following is False and state.unread == 2
    assert follows.set_following(user=bob, root_id=root.pk, following=True).following
    assert selectors.thread_detail(user=bob, root_id=root.pk).following
    assert not follows.set_following(user=mentor, root_id=root.pk, following=False).following
    # Replying follows again.
    send(mentor, group, "back", parent_id=root.pk)
    assert selectors.thread_detail(user=mentor, root_id=root.pk).following


def test_followed_threads_list_newest_reply_first_and_only_while_a_member(people, group):
    mentor, ann, bob = people
    older = send(mentor, group, "older")
    newer = send(mentor, group, "newer")
    send(ann, group, "a", parent_id=older.pk)
    send(ann, group, "b", parent_id=newer.pk)
    send(bob, group, "c", parent_id=older.pk)  # older now has the latest reply
    page, more = selectors.followed_threads(user=mentor, limit=10, offset=0)
    assert [t.root.pk for t in page] == [older.pk, newer.pk] and not more
    assert [t.unread for t in page] == [2, 1]
    page, more = selectors.followed_threads(user=mentor, limit=1, offset=0)
    assert [t.root.pk for t in page] == [older.pk] and more
    services.remove_participant(actor=mentor, conversation_id=group.pk, user=ann)
    assert selectors.followed_threads(user=ann, limit=10, offset=0) == ([], False)


def test_thread_reads_refuse_replies_and_strangers(people, group, outsider):
    mentor, ann, bob = people
    root = send(mentor, group, "root")
    reply = send(ann, group, "r", parent_id=root.pk)
    with pytest.raises(NotFound):
        selectors.thread_page(user=ann, root_id=reply.pk)
    with pytest.raises(NotFound):
        selectors.thread_page(user=ann, root_id=uuid.uuid4())
    from messaging.errors import AccessDenied

    for call in (
        lambda: selectors.thread_page(user=outsider, root_id=root.pk),
        lambda: follows.mark_thread_read(user=outsider, root_id=root.pk, up_to_seq=1),
        lambda: follows.set_following(user=outsider, root_id=root.pk, following=True),
    ):
        with pytest.raises(AccessDenied):
            call()


@pytest.fixture
def sent(django_capture_on_commit_callbacks):
    """``sent(...)``: ``send`` with its after-commit work run (the fan-out)."""

    def run(*args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return send(*args, **kwargs)

    return run


def test_followers_are_notified_but_not_the_sender_nor_others(people, group, sent):
    mentor, ann, bob = people
    root = sent(mentor, group, "root")
    reply = sent(ann, group, "first reply", parent_id=root.pk)
    # The root's author follows; bob does not; ann sent it.
    rows = Notification.objects.filter(message=reply)
    assert {(n.user_id, n.kind) for n in rows} == {(mentor.pk, Kind.THREAD_REPLY)}
    note = rows.get()
    assert note.data["thread_id"] == str(root.pk) and note.data["seq"] == reply.seq
    assert note.data["excerpt"] == "first reply"
    assert events.notification_payload(note)["url"] == (
        f"/c/{group.pk}/?thread={root.pk}#seq-{reply.seq}"
    )
    # Also sent to the conversation: the others hear of it as of any message
    # (a group's default is quiet), the followers as a thread reply.
    loud = sent(bob, group, "to all", parent_id=root.pk, also_to_conversation=True)
    assert {(n.user_id, n.kind) for n in Notification.objects.filter(message=loud)} == {
        (mentor.pk, Kind.THREAD_REPLY),
        (ann.pk, Kind.THREAD_REPLY),
    }


def test_a_mention_in_a_thread_is_one_notification_of_kind_mention(people, group, sent):
    mentor, ann, bob = people
    root = sent(mentor, group, "root")
    reply = sent(ann, group, f"@{mentor.display_name} look", parent_id=root.pk)
    kinds = list(Notification.objects.filter(message=reply).values_list("user_id", "kind"))
    assert kinds == [(mentor.pk, Kind.MENTION)]


def test_a_muted_conversation_and_an_unfollowed_thread_notify_nobody(people, group, sent):
    from notifications.services import mutes

    mentor, ann, bob = people
    root = sent(mentor, group, "root")
    first = sent(ann, group, "r", parent_id=root.pk)
    assert Notification.objects.filter(message=first, user=mentor).exists()
    follows.set_following(user=mentor, root_id=root.pk, following=False)
    quiet = sent(ann, group, "r2", parent_id=root.pk)
    assert not Notification.objects.filter(message=quiet).exists()
    follows.set_following(user=mentor, root_id=root.pk, following=True)
    mutes.mute_conversation(user=mentor, conversation_id=group.pk, until=None)
    muted = sent(ann, group, "r3", parent_id=root.pk)
    assert not Notification.objects.filter(message=muted).exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_replies_are_each_counted(people, group):
    mentor, ann, bob = people
    root = send(mentor, group, "root")
    per_sender = 8
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def reply_many(user):
        try:
            start.wait()
            for i in range(per_sender):
                send(user, group, f"{user.display_name} {i}", parent_id=root.pk)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=reply_many, args=(u,)) for u in (ann, bob)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert not errors
    stored = Message.objects.filter(parent=root)
    thread = Thread.objects.get(root=root)
    assert stored.count() == thread.reply_count == 2 * per_sender
    assert thread.last_reply_seq == max(stored.values_list("seq", flat=True))
    assert {r["id"] for r in thread.last_repliers} == {str(ann.pk), str(bob.pk)}


def test_reading_the_thread_clears_its_notifications_and_the_conversation_does_not(
    people, group, sent
):
    mentor, ann, bob = people
    root = sent(mentor, group, "root")
    replies = [sent(ann, group, f"r{i}", parent_id=root.pk) for i in range(2)]
    notes = Notification.objects.filter(user=mentor, kind=Kind.THREAD_REPLY)
    assert notes.count() == 2
    services.mark_read(user=mentor, conversation_id=group.pk, up_to_seq=replies[-1].seq)
    assert notes.filter(read_at__isnull=True).count() == 2
    follows.mark_thread_read(user=mentor, root_id=root.pk, up_to_seq=replies[0].seq)
    assert list(notes.filter(read_at__isnull=True).values_list("message_id", flat=True)) == [
        replies[1].pk
    ]


def test_a_mention_in_a_thread_is_read_in_the_thread_not_the_conversation(people, group, sent):
    """Reading the conversation's stream never showed a thread-only reply:
    its mention stays unread until the thread is read. A reply also sent to
    the conversation was in the stream, and reading it there clears it."""
    mentor, ann, bob = people
    root = sent(mentor, group, "root")
    quiet = sent(ann, group, f"@{mentor.display_name} look", parent_id=root.pk)
    shown = sent(
        ann, group, f"@{mentor.display_name} and here", parent_id=root.pk, also_to_conversation=True
    )
    mentions = Notification.objects.filter(user=mentor, kind=Kind.MENTION)
    assert set(mentions.values_list("message_id", flat=True)) == {quiet.pk, shown.pk}
    services.mark_read(user=mentor, conversation_id=group.pk, up_to_seq=shown.seq)
    assert list(mentions.filter(read_at__isnull=True).values_list("message_id", flat=True)) == [
        quiet.pk
    ]
    follows.mark_thread_read(user=mentor, root_id=root.pk, up_to_seq=shown.seq)
    assert not mentions.filter(read_at__isnull=True).exists()


def test_a_thread_page_costs_the_same_queries_however_many_replies(people, group):
    from django.db import connection as conn
    from django.test.utils import CaptureQueriesContext

    mentor, ann, bob = people
    root = send(mentor, group, "root")

    def cost() -> int:
        with CaptureQueriesContext(conn) as queries:
            page = selectors.thread_page(user=bob, root_id=root.pk)
            [events.message_payload(m) for m in [page.root, *page.messages]]
        return len(queries)

    send(ann, group, "first", parent_id=root.pk)
    few = cost()
    for i in range(6):
        send(ann if i % 2 else bob, group, f"r{i}", reply_to_id=root.pk, parent_id=root.pk)
    assert cost() == few
