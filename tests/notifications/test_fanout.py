"""The fan-out of a message into notifications: kinds, preferences, mutes,
the sender left out, nothing for a rolled-back send, and a constant number
of queries whatever the group's size."""

import uuid

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import MentorAssignment, Role
from messaging import services
from messaging.models import ConversationType, Message
from notifications.models import ConversationMute, Notification, NotificationPreference
from notifications.services import fanout

pytestmark = pytest.mark.django_db(transaction=True)


def send(user, conversation, text="hello"):
    return services.send_message(
        sender=user, conversation_id=conversation.pk, content=text, client_id=uuid.uuid4()
    ).message


def kinds_of(message):
    return {(n.user_id, n.kind): n.in_app for n in Notification.objects.filter(message=message)}


@pytest.fixture
def group(mentor, make_user):
    people = [make_user(Role.STUDENT, name=n) for n in ("Ann Lee", "Bob Ray", "Cy Day")]
    for person in people:
        MentorAssignment.objects.create(mentor=mentor, student=person)
    conversation = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=people, title="G"
    )
    return conversation, people


def test_direct_message_notifies_the_other_person_not_the_sender(direct, assigned):
    mentor, student = assigned
    message = send(mentor, direct, "are you there?")
    assert kinds_of(message) == {(student.pk, "direct"): True}
    notification = Notification.objects.get(message=message)
    assert notification.actor == mentor
    assert notification.conversation_id == direct.pk
    assert notification.data["excerpt"] == "are you there?"
    assert notification.data["seq"] == message.seq


def test_group_messages_are_quiet_by_default_mentions_are_not(mentor, group):
    conversation, (ann, bob, cy) = group
    quiet = send(mentor, conversation, "general chatter")
    assert kinds_of(quiet) == {}
    loud = send(mentor, conversation, "@Ann Lee please review")
    assert kinds_of(loud) == {(ann.pk, "mention"): True}


def test_all_reaches_everyone_but_the_sender_and_here_only_online(mentor, group):
    conversation, people = group
    everyone = send(mentor, conversation, "@all exam moved")
    assert kinds_of(everyone) == {(p.pk, "mention"): True for p in people}
    # Nobody has a socket open here, so @here reaches nobody.
    here = send(mentor, conversation, "@here anyone?")
    assert kinds_of(here) == {}


def test_all_from_a_student_is_a_group_message(mentor, group):
    conversation, (ann, bob, cy) = group
    NotificationPreference.objects.create(user=bob, kinds={"group": {"in_app": True}})
    message = send(ann, conversation, "@all hi")
    # Only Bob turned group messages on (in the app only), the rest hear nothing.
    assert kinds_of(message) == {(bob.pk, "group"): True}
    assert Notification.objects.filter(message=message, user=mentor).count() == 0


def test_preferences_choose_channels_and_in_app(direct, assigned):
    mentor, student = assigned
    NotificationPreference.objects.create(
        user=student, kinds={"direct": {"in_app": False, "push": True, "email": False}}
    )
    message = send(mentor, direct)
    assert kinds_of(message) == {(student.pk, "direct"): False}  # push only: not in the bell
    NotificationPreference.objects.filter(user=student).update(
        kinds={"direct": {"in_app": False, "push": False, "email": False}}
    )
    assert kinds_of(send(mentor, direct)) == {}


def test_a_muted_conversation_notifies_nobody_until_the_mute_ends(direct, assigned):
    import datetime as dt

    from django.utils import timezone

    mentor, student = assigned
    mute = ConversationMute.objects.create(user=student, conversation=direct)
    assert kinds_of(send(mentor, direct, "@Sam?")) == {}
    mute.until = timezone.now() - dt.timedelta(minutes=1)
    mute.save()
    assert kinds_of(send(mentor, direct)) == {(student.pk, "direct"): True}


def test_rerun_creates_nothing_twice(direct, assigned):
    mentor, student = assigned
    message = send(mentor, direct)
    assert Notification.objects.filter(message=message).count() == 1
    assert fanout.notify_message(message_id=message.pk) == 0
    assert Notification.objects.filter(message=message).count() == 1


def test_a_rolled_back_send_enqueues_nothing(direct, assigned):
    mentor, student = assigned

    class Abandon(Exception):
        pass

    with pytest.raises(Abandon), transaction.atomic():
        send(mentor, direct, "never mind")
        raise Abandon
    assert not Message.objects.filter(content="never mind").exists()
    assert not Notification.objects.exists()


def test_a_send_enqueues_only_after_commit(direct, assigned):
    mentor, student = assigned
    with transaction.atomic():
        message = send(mentor, direct, "later")
        assert not Notification.objects.filter(message=message).exists()
    assert Notification.objects.filter(message=message, user=student).exists()


def test_a_message_read_before_its_fanout_is_in_the_bell_as_read(direct, assigned):
    """Read live (the conversation open) before the fan-out wrote its
    notification: reading marked nothing then, so the fan-out marks it read
    as it writes it, and the bell does not count it."""
    from notifications.selectors import feed

    mentor, student = assigned
    with transaction.atomic():
        message = send(mentor, direct, "seen at once")
        services.mark_read(user=student, conversation_id=direct.pk, up_to_seq=message.seq)
    notification = Notification.objects.get(message=message, user=student)
    assert notification.read_at is not None
    assert feed.unread_count(student) == 0
    # Not read yet: unread, as before.
    with transaction.atomic():
        later = send(mentor, direct, "not seen")
        services.mark_read(user=student, conversation_id=direct.pk, up_to_seq=later.seq - 1)
    assert Notification.objects.get(message=later, user=student).read_at is None
    assert feed.unread_count(student) == 1


def test_a_read_under_way_while_the_fanout_writes_is_waited_for(direct, assigned):
    """The read's cursor moved and it looked for notifications (none yet)
    but has not committed when the fan-out writes: the fan-out waits for it
    (the membership's lock) and stores the notification read. Without the
    wait, neither side saw the other and the bell counted it."""
    import threading
    import time as clock

    from django.db import connections

    from notifications.selectors import feed

    mentor, student = assigned
    message = send(mentor, direct, "read as it arrives")
    Notification.objects.filter(message=message).delete()  # as if not fanned out yet
    read_open, release, fanout_pid, errors = (
        threading.Event(),
        threading.Event(),
        [],
        [],
    )

    def read():
        try:
            with transaction.atomic():
                services.mark_read(user=student, conversation_id=direct.pk, up_to_seq=message.seq)
                read_open.set()
                release.wait(30)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    def fan_out():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                fanout_pid.append(cursor.fetchone()[0])
            fanout.notify_message(message_id=message.pk)
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connections.close_all()

    reader = threading.Thread(target=read)
    reader.start()
    assert read_open.wait(30)
    writer = threading.Thread(target=fan_out)
    writer.start()
    # Let the read commit once the fan-out is done or waiting on a lock
    # (PostgreSQL says which), whichever comes first.
    for _ in range(3000):
        if not writer.is_alive():
            break
        if fanout_pid:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [fanout_pid[0]]
                )
                row = cursor.fetchone()
            if row and row[0] == "Lock":
                break
        clock.sleep(0.01)
    release.set()
    reader.join(30)
    writer.join(30)
    assert not errors, errors
    notification = Notification.objects.get(message=message, user=student)
    assert notification.read_at is not None
    assert feed.unread_count(student) == 0


def test_a_resend_notifies_once(direct, assigned):
    mentor, student = assigned
    client_id = uuid.uuid4()
    for _ in range(2):
        services.send_message(
            sender=mentor, conversation_id=direct.pk, content="once", client_id=client_id
        )
    assert Notification.objects.filter(user=student).count() == 1


def test_an_edit_notifies_only_the_newly_mentioned(mentor, group):
    conversation, (ann, bob, cy) = group
    message = send(mentor, conversation, "@Ann Lee look")
    services.edit_message(editor=mentor, message_id=message.pk, content="@Ann Lee @Bob Ray look")
    assert kinds_of(message) == {(ann.pk, "mention"): True, (bob.pk, "mention"): True}
    assert Notification.objects.filter(message=message, user=ann).count() == 1


def test_an_edit_does_not_reach_the_notification_of_someone_removed(mentor, group):
    """Who left or was removed keeps what they were told, not what the
    message says since, nor what the group is called now."""
    conversation, (ann, bob, cy) = group
    message = send(mentor, conversation, "@Ann Lee @Bob Ray the room is B12")
    services.remove_participant(actor=mentor, conversation_id=conversation.pk, user=bob)
    services.edit_message(
        editor=mentor, message_id=message.pk, content="@Ann Lee the room is the secret C3"
    )
    excerpts = dict(
        Notification.objects.filter(message=message).values_list("user_id", "data__excerpt")
    )
    assert excerpts == {
        ann.pk: "@Ann Lee the room is the secret C3",
        bob.pk: "@Ann Lee @Bob Ray the room is B12",
    }


def test_being_added_is_notified(admin_user, mentor, group, make_user):
    conversation, people = group
    # Those in the group from the start were told they were added.
    assert set(
        Notification.objects.filter(kind="added", conversation=conversation).values_list(
            "user_id", flat=True
        )
    ) == {p.pk for p in people}
    newcomer = make_user(Role.STUDENT, name="New Person")
    services.add_participants(actor=admin_user, conversation_id=conversation.pk, users=[newcomer])
    added = Notification.objects.get(kind="added", user=newcomer)
    assert added.actor == admin_user
    assert added.message.metadata["event"] == "participant.add"
    assert not Notification.objects.filter(kind="added", user=mentor).exists()


def test_notify_one_person_of_a_support_change(direct, assigned):
    mentor, student = assigned
    made = fanout.notify(
        user=student, kind="support", conversation_id=direct.pk, data={"status": "resolved"}
    )
    assert made is not None and made.in_app and made.data == {"status": "resolved"}
    NotificationPreference.objects.create(
        user=student, kinds={"support": {"in_app": False, "push": False, "email": False}}
    )
    assert fanout.notify(user=student, kind="support", conversation_id=direct.pk) is None


def queries_of_fanout(sender, size, make_user):
    people = [make_user(Role.STUDENT) for _ in range(size)]
    conversation = services.create_conversation(
        creator=sender, kind=ConversationType.GROUP, participants=people, title="Big"
    )
    # Some stored preferences and mutes, as a real group has.
    NotificationPreference.objects.create(user=people[0], kinds={"mention": {"push": False}})
    ConversationMute.objects.create(user=people[1], conversation=conversation)
    message = Message.objects.get(
        pk=services.send_message(
            sender=sender,
            conversation_id=conversation.pk,
            content="@all hello",
            client_id=uuid.uuid4(),
        ).message.pk
    )
    Notification.objects.filter(message=message).delete()
    with CaptureQueriesContext(connection) as queries:
        created = fanout.notify_message(message_id=message.pk)
    assert created == size - 1  # the muted one hears nothing
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == 1  # one bulk step, whatever the size
    return len(queries)


def test_fanout_queries_do_not_grow_with_the_group(admin_user, make_user, on_the_broker):
    # Push and email are handed on to their own tasks (queued on the real
    # broker, as in production), which are not part of the fan-out's cost.
    on_the_broker.control.purge()
    small, large = (
        queries_of_fanout(admin_user, 5, make_user),
        queries_of_fanout(admin_user, 50, make_user),
    )
    on_the_broker.control.purge()
    assert small == large, (small, large)


def test_an_edit_updates_the_excerpt_and_a_delete_takes_the_notification_away(direct, assigned):
    mentor, student = assigned
    message = send(mentor, direct, "meet at 3")
    services.edit_message(editor=mentor, message_id=message.pk, content="meet at 4")
    assert Notification.objects.get(message=message).data["excerpt"] == "meet at 4"
    services.delete_message(actor=mentor, message_id=message.pk)
    assert not Notification.objects.filter(message=message).exists()


@pytest.mark.parametrize("in_process", [True, False])
def test_live_tasks_run_where_the_sockets_are_when_the_layer_is_in_memory(
    in_process, settings, direct, assigned, on_the_broker, django_capture_on_commit_callbacks
):
    """With the in-memory channel layer (the embedded default, where a
    worker process could not reach this process's sockets) the fan-out runs
    in this process right after commit; otherwise it waits on the broker
    for a worker."""
    settings.PARLEY_LIVE_TASKS_IN_PROCESS = in_process
    on_the_broker.control.purge()
    mentor, student = assigned
    with django_capture_on_commit_callbacks(execute=True):
        sent = services.send_message(
            sender=mentor, conversation_id=direct.pk, content="hi", client_id=uuid.uuid4()
        )
    notified = Notification.objects.filter(user=student, message_id=sent.message.pk).exists()
    on_the_broker.control.purge()
    assert notified is in_process
