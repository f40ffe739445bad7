"""messaging.services: bad input, conversations, membership, edits, deletes,
receipts, and events that leave only on commit."""

import uuid

import pytest
from django.db import transaction
from django.utils import translation

from accounts.models import MentorAssignment, Role, User
from messaging import events, services
from messaging.errors import (
    AccessDenied,
    ClientIdConflict,
    ConversationArchived,
    InvalidInput,
    NotFound,
    NotVisible,
)
from messaging.files.payloads import message_text
from messaging.models import (
    AuditAction,
    AuditLog,
    Conversation,
    ConversationParticipant,
    ConversationType,
    Message,
    MessageStatus,
    MessageType,
    ParticipantRole,
    ReceiptStatus,
)
from messaging.moderation.services import actions
from messaging.threads.services import pins, reactions
from tests.messaging.helpers import send


@pytest.fixture
def world(assigned, make_user):
    """A direct conversation with one message, an archived one, a group
    someone left, and an outsider."""
    mentor, student = assigned
    direct = services.create_conversation(
        creator=mentor, kind=ConversationType.DIRECT, participants=[student]
    )
    send(mentor, direct, "first")
    other_mentor = make_user(Role.MENTOR)
    archived = services.create_conversation(
        creator=mentor, kind=ConversationType.DIRECT, participants=[other_mentor]
    )
    send(other_mentor, archived, "before archiving")
    services.set_archived(actor=mentor, conversation_id=archived.pk, archived=True)
    leaver = make_user(Role.MENTOR)
    group = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student, leaver], title="g"
    )
    services.remove_participant(actor=leaver, conversation_id=group.pk, user=leaver)
    return {
        "mentor": mentor,
        "student": student,
        "direct": direct,
        "archived": archived,
        "other_mentor": other_mentor,
        "group": group,
        "leaver": leaver,
        "outsider": make_user(Role.STUDENT),
    }


def _state():
    return {
        "messages": Message.objects.count(),
        "statuses": MessageStatus.objects.count(),
        "seqs": dict(Conversation.objects.values_list("id", "last_seq")),
        "audit": AuditLog.objects.count(),
        "denials": AuditLog.objects.filter(action=AuditAction.ACCESS_DENIED).count(),
    }


# Malformed values (empty content, bad ids, …) are refused before a service
# is called: tests/messaging/test_validation.py, and the socket and API tests.
# name: (how to call send_message given the world, error, message pattern, audited denial)
BAD_SENDS = {
    "system-type": (
        lambda w: {"message_type": MessageType.SYSTEM},
        InvalidInput,
        "Unknown message_type",
        False,
    ),
    "unknown-conversation": (
        lambda w: {"conversation_id": uuid.uuid4()},
        NotFound,
        "No such conversation",
        False,
    ),
    # Refused as a conversation that does not exist (the audit row says why).
    "non-participant": (lambda w: {"sender": w["outsider"]}, NotVisible, "No such", True),
    "admin-non-participant": (lambda w: {"sender": w["admin"]}, NotVisible, "No such", True),
    "archived": (
        lambda w: {"sender": w["other_mentor"], "conversation_id": w["archived"].pk},
        ConversationArchived,
        "archived",
        False,
    ),
    "left-participant": (
        lambda w: {"sender": w["leaver"], "conversation_id": w["group"].pk},
        NotVisible,
        "No such",
        True,
    ),
    "deactivated-member": (
        lambda w: {"sender": w["deactivated"]},
        NotVisible,
        "No such",
        True,
    ),
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", BAD_SENDS.keys())
def test_bad_send_is_refused_and_writes_nothing(name, world, admin_user, make_user):
    world["admin"] = admin_user
    if name == "deactivated-member":
        # A member whose account was switched off afterwards.
        world["deactivated"] = world["student"]
        world["student"].is_active = False
        world["student"].save(update_fields=["is_active"])
    make_kwargs, error, pattern, audited = BAD_SENDS[name]
    kwargs = {
        "sender": world["student"],
        "conversation_id": world["direct"].pk,
        "content": "hello",
        "client_id": uuid.uuid4(),
        **make_kwargs(world),
    }
    before = _state()

    with pytest.raises(error, match=pattern) as raised:
        services.send_message(**kwargs)

    assert raised.value.code == error.code
    assert str(raised.value) == raised.value.message
    after = _state()
    assert after["messages"] == before["messages"]
    assert after["statuses"] == before["statuses"]
    assert after["seqs"] == before["seqs"]
    assert after["audit"] == before["audit"] + int(audited)
    assert after["denials"] == before["denials"] + int(audited)
    if audited:
        row = AuditLog.objects.filter(action=AuditAction.ACCESS_DENIED).order_by("-id").first()
        assert row.actor_id == kwargs["sender"].pk
        assert row.conversation_id == kwargs["conversation_id"]
        assert row.details["attempted"] == AuditAction.MESSAGE_SEND
        if error is NotVisible:
            reason = "deactivated" if name == "deactivated-member" else "not a member"
            assert reason in row.details["reason"]


@pytest.mark.django_db
def test_a_deactivated_senders_stale_account_object_is_refused(direct, assigned):
    """A socket keeps its user object; the account was switched off in the
    database meanwhile. The send is refused, audited, and stores nothing."""
    _, student = assigned
    User.objects.filter(pk=student.pk).update(is_active=False)
    assert student.is_active  # what the open socket still holds
    before = _state()
    with pytest.raises(AccessDenied, match="No such conversation") as raised:
        send(student, direct, "still here?")
    assert raised.value.code == "not_found"
    assert "deactivated" in AuditLog.objects.latest("id").details["reason"]
    after = _state()
    assert (after["messages"], after["seqs"]) == (before["messages"], before["seqs"])
    assert after["denials"] == before["denials"] + 1
    assert after["audit"] == before["audit"] + 1


@pytest.mark.django_db
def test_send_stores_seq_audit_and_reads_own_message(direct, assigned):
    mentor, student = assigned
    first = send(mentor, direct, "one")
    second = send(student, direct, "two")
    assert (first.seq, second.seq) == (1, 2)
    direct.refresh_from_db()
    assert direct.last_seq == 2
    assert direct.last_message_at == second.sent_at
    sends = AuditLog.objects.filter(action=AuditAction.MESSAGE_SEND, conversation_id=direct.pk)
    assert sorted(sends.values_list("details__seq", flat=True)) == [1, 2]
    # Sending implies having read everything up to one's own message.
    student_row = ConversationParticipant.objects.get(conversation=direct, user=student)
    assert student_row.last_read_seq == 2
    assert student_row.last_delivered_seq == 2
    # The cursor is the record of it: the hot path writes no message_status rows.
    assert not MessageStatus.objects.filter(user=student).exists()


@pytest.mark.django_db
def test_resend_returns_original_and_conflict_is_refused(direct, assigned):
    mentor, _ = assigned
    client_id = uuid.uuid4()
    first = services.send_message(
        sender=mentor, conversation_id=direct.pk, content="once", client_id=client_id
    )
    again = services.send_message(
        sender=mentor, conversation_id=direct.pk, content="once", client_id=client_id
    )
    assert first.created and not again.created
    assert again.message.pk == first.message.pk
    assert Message.objects.count() == 1
    with pytest.raises(ClientIdConflict, match="already used for a different message"):
        services.send_message(
            sender=mentor, conversation_id=direct.pk, content="twice", client_id=client_id
        )
    assert Message.objects.count() == 1
    direct.refresh_from_db()
    assert direct.last_seq == 1


@pytest.mark.django_db
def test_client_id_is_per_sender(direct, assigned):
    mentor, student = assigned
    client_id = uuid.uuid4()
    a = send(mentor, direct, "same", client_id=client_id)
    b = send(student, direct, "same", client_id=client_id)
    assert a.pk != b.pk and (a.seq, b.seq) == (1, 2)


@pytest.mark.django_db
def test_a_resend_after_removal_shows_nothing_done_since(group, assigned):
    """The ack of a resend (its first ack was lost) is owed, but to someone
    removed it carries the message as they sent it, not what the members
    did with it after."""
    mentor, student = assigned
    quoted = send(mentor, group, "the rubric is in chapter 3")
    client_id = uuid.uuid4()

    def resend():
        return services.send_message(
            sender=student,
            conversation_id=group.pk,
            content="my question",
            client_id=client_id,
            reply_to_id=quoted.pk,
        )

    mine = resend().message
    reactions.add_reaction(user=mentor, message_id=mine.pk, emoji="🎉")
    pins.pin_message(user=mentor, message_id=mine.pk)
    services.send_message(
        sender=mentor,
        conversation_id=group.pk,
        content="in the thread",
        client_id=uuid.uuid4(),
        parent_id=mine.pk,
    )
    services.edit_message(editor=mentor, message_id=quoted.pk, content="edited after")

    # A member's resend shows the message as it stands.
    member = events.message_payload(resend().message)
    assert member["reactions"] and member["pinned"] and member["thread"]
    assert member["reply_to"]["excerpt"] == "edited after"

    services.remove_participant(actor=mentor, conversation_id=group.pk, user=student)
    again = resend()
    assert not again.created and again.message.pk == mine.pk
    gone = events.message_payload(again.message)
    assert (gone["id"], gone["seq"], gone["content"]) == (str(mine.pk), mine.seq, "my question")
    assert gone["reactions"] == [] and gone["pinned"] is None and gone["thread"] is None
    assert gone["reply_to"] is None and gone["link_preview"] is None


# --- Conversations --------------------------------------------------------------


@pytest.mark.django_db
def test_create_direct_is_idempotent(assigned):
    mentor, student = assigned
    first = services.create_conversation(
        creator=mentor, kind=ConversationType.DIRECT, participants=[student]
    )
    second = services.create_conversation(
        creator=mentor, kind=ConversationType.DIRECT, participants=[student]
    )
    reverse = services.create_conversation(
        creator=student, kind=ConversationType.DIRECT, participants=[mentor]
    )
    assert first.pk == second.pk == reverse.pk
    assert Conversation.objects.count() == 1
    assert set(first.participants.values_list("user_id", "role")) == {
        (mentor.pk, ParticipantRole.ADMIN),
        (student.pk, ParticipantRole.ADMIN),
    }
    assert AuditLog.objects.filter(action=AuditAction.CONVERSATION_CREATE).count() == 1


@pytest.mark.django_db
def test_support_includes_every_active_admin(student, make_user):
    admins = [make_user(Role.ADMIN), make_user(Role.ADMIN)]
    retired = make_user(Role.ADMIN, is_active=False)
    support = services.create_conversation(
        creator=student, kind=ConversationType.SUPPORT, title="Help"
    )
    members = dict(support.participants.active().values_list("user_id", "role"))
    assert members == {
        student.pk: ParticipantRole.MEMBER,
        admins[0].pk: ParticipantRole.ADMIN,
        admins[1].pk: ParticipantRole.ADMIN,
    }
    assert retired.pk not in members
    assert support.title == "Help"

    # An admin opens one for a student: same shape, the student is the member.
    on_behalf = services.create_conversation(
        creator=admins[0], kind=ConversationType.SUPPORT, participants=[student]
    )
    assert dict(on_behalf.participants.values_list("user_id", "role")) == members


@pytest.mark.django_db
def test_create_rejects_a_nameless_group_and_an_unknown_kind(mentor):
    before = (Conversation.objects.count(), AuditLog.objects.count())
    for title in ("", "   "):
        with pytest.raises(InvalidInput, match="A group needs a name") as raised:
            services.create_conversation(creator=mentor, kind=ConversationType.GROUP, title=title)
        assert raised.value.code == "invalid"
    with pytest.raises(InvalidInput, match="Unknown conversation type"):
        services.create_conversation(creator=mentor, kind="broadcast")
    assert (Conversation.objects.count(), AuditLog.objects.count()) == before
    # A support conversation may go without a subject, as a direct one has none.
    services.create_conversation(creator=mentor, kind=ConversationType.SUPPORT)


@pytest.mark.django_db
def test_reopening_an_archived_direct_conversation_unarchives_it(direct, assigned):
    mentor, student = assigned
    services.set_archived(actor=mentor, conversation_id=direct.pk, archived=True)
    again = services.create_conversation(
        creator=student, kind=ConversationType.DIRECT, participants=[mentor]
    )
    assert again.pk == direct.pk and not again.is_archived
    direct.refresh_from_db()
    assert not direct.is_archived
    row = AuditLog.objects.get(action=AuditAction.CONVERSATION_UNARCHIVE)
    assert (row.actor_id, row.conversation_id) == (student.pk, direct.pk)
    # Open already: asking again changes nothing more.
    services.create_conversation(
        creator=student, kind=ConversationType.DIRECT, participants=[mentor]
    )
    assert AuditLog.objects.filter(action=AuditAction.CONVERSATION_UNARCHIVE).count() == 1
    assert send(student, direct, "back again").seq == 1


@pytest.fixture
def group(assigned):
    mentor, student = assigned
    return services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student], title="Study"
    )


def _messages(conversation):
    return list(
        Message.objects.filter(conversation=conversation)
        .order_by("seq")
        .values_list("seq", "message_type", "content")
    )


@pytest.mark.django_db
def test_group_add_and_remove_write_system_messages_in_seq(group, assigned, make_user):
    mentor, student = assigned
    colleague = make_user(Role.MENTOR, name="Cleo Colleague")
    other_student = make_user(Role.STUDENT, name="Otto Other")
    MentorAssignment.objects.create(mentor=mentor, student=other_student)
    send(student, group, "hi")

    services.add_participants(
        actor=mentor, conversation_id=group.pk, users=[colleague, other_student]
    )
    services.remove_participant(actor=mentor, conversation_id=group.pk, user=student)
    services.remove_participant(actor=colleague, conversation_id=group.pk, user=colleague)

    name = mentor.display_name
    assert _messages(group) == [
        (1, MessageType.TEXT, "hi"),
        (2, MessageType.SYSTEM, f"{name} added Cleo Colleague, Otto Other"),
        (3, MessageType.SYSTEM, f"{name} removed {student.display_name}"),
        (4, MessageType.SYSTEM, "Cleo Colleague left"),
    ]
    group.refresh_from_db()
    assert group.last_seq == 4
    assert set(group.participants.active().values_list("user_id", flat=True)) == {
        mentor.pk,
        other_student.pk,
    }
    added = Message.objects.get(conversation=group, seq=2)
    assert added.metadata == {
        "event": "participant.add",
        "user_ids": [str(colleague.pk), str(other_student.pk)],
        "notice": {
            "text": "%(actor)s added %(names)s",
            "values": {"actor": name, "names": "Cleo Colleague, Otto Other"},
        },
    }
    # Each reader reads it in their language (messaging.notices).
    with translation.override("es"):
        assert message_text(added) == f"{name} añadió a Cleo Colleague, Otto Other"
        assert message_text(Message.objects.get(conversation=group, seq=4)) == (
            "Cleo Colleague salió"
        )
    actions = list(
        AuditLog.objects.filter(conversation_id=group.pk)
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == [
        AuditAction.CONVERSATION_CREATE,
        AuditAction.MESSAGE_SEND,
        AuditAction.PARTICIPANT_ADD,
        AuditAction.PARTICIPANT_ADD,
        AuditAction.PARTICIPANT_REMOVE,
        AuditAction.PARTICIPANT_REMOVE,
    ]
    # One row per person added or removed, naming them as its target.
    targets = list(
        AuditLog.objects.filter(
            conversation_id=group.pk,
            action__in=[AuditAction.PARTICIPANT_ADD, AuditAction.PARTICIPANT_REMOVE],
        )
        .order_by("id")
        .values_list("target_user_id", flat=True)
    )
    assert sorted(targets[:2]) == sorted([colleague.pk, other_student.pk])
    assert targets[2:] == [student.pk, colleague.pk]
    # The actor wrote the notices, so they are not unread for them; the
    # newcomer's unread count starts at the notice announcing them.
    rows = dict(group.participants.values_list("user_id", "last_read_seq"))
    assert rows[mentor.pk] == 3
    assert rows[other_student.pk] == 1

    # Someone who left comes back on a second add.
    services.add_participants(actor=mentor, conversation_id=group.pk, users=[student])
    back = ConversationParticipant.objects.get(conversation=group, user=student)
    assert back.left_at is None and back.role == ParticipantRole.MEMBER
    assert ConversationParticipant.objects.filter(conversation=group, user=student).count() == 1
    # Adding people already there changes nothing.
    services.add_participants(actor=mentor, conversation_id=group.pk, users=[student])
    group.refresh_from_db()
    assert group.last_seq == 5


@pytest.mark.django_db
def test_group_membership_refusals(group, assigned, make_user, direct):
    mentor, student = assigned
    stranger = make_user(Role.STUDENT)
    colleague = make_user(Role.MENTOR)
    before = _state()

    # A plain member does not manage the group.
    with pytest.raises(AccessDenied, match="Only the conversation's admins add"):
        services.add_participants(actor=student, conversation_id=group.pk, users=[colleague])
    # A mentor adds only people they could message directly.
    with pytest.raises(AccessDenied, match="You may not add"):
        services.add_participants(actor=mentor, conversation_id=group.pk, users=[stranger])
    with pytest.raises(AccessDenied, match="Only the conversation's admins remove"):
        services.remove_participant(actor=student, conversation_id=group.pk, user=mentor)
    after = _state()
    assert after["denials"] == before["denials"] + 3
    assert after["messages"] == before["messages"]

    with pytest.raises(InvalidInput, match="exactly two people"):
        services.add_participants(actor=mentor, conversation_id=direct.pk, users=[colleague])
    with pytest.raises(InvalidInput, match="archive it instead"):
        services.remove_participant(actor=mentor, conversation_id=direct.pk, user=student)
    with pytest.raises(InvalidInput, match="at least one person"):
        services.add_participants(actor=mentor, conversation_id=group.pk, users=[])
    with pytest.raises(NotFound, match="is not in this conversation"):
        services.remove_participant(actor=mentor, conversation_id=group.pk, user=colleague)
    with pytest.raises(NotFound):
        services.add_participants(actor=mentor, conversation_id=uuid.uuid4(), users=[colleague])
    assert _state()["messages"] == before["messages"]


@pytest.mark.django_db
def test_admins_are_added_to_support_but_nobody_else(student, make_user):
    admin = make_user(Role.ADMIN)
    support = services.create_conversation(creator=student, kind=ConversationType.SUPPORT)
    late_admin = make_user(Role.ADMIN)
    mentor = make_user(Role.MENTOR)
    with pytest.raises(AccessDenied):
        services.add_participants(actor=admin, conversation_id=support.pk, users=[mentor])
    services.add_participants(actor=admin, conversation_id=support.pk, users=[late_admin])
    assert support.participants.active().filter(user=late_admin).exists()


@pytest.mark.django_db
def test_archived_group_takes_no_new_members(group, assigned, make_user):
    mentor, _ = assigned
    services.set_archived(actor=mentor, conversation_id=group.pk, archived=True)
    with pytest.raises(ConversationArchived):
        services.add_participants(
            actor=mentor, conversation_id=group.pk, users=[make_user(Role.MENTOR)]
        )


# --- Edit and delete --------------------------------------------------------------


@pytest.mark.django_db
def test_edit_own_message(direct, assigned):
    mentor, _ = assigned
    message = send(mentor, direct, "helo")
    edited = services.edit_message(editor=mentor, message_id=message.pk, content="hello")
    message.refresh_from_db()
    assert message.content == "hello" and message.edited_at is not None
    assert edited.pk == message.pk and edited.seq == 1
    row = AuditLog.objects.get(action=AuditAction.MESSAGE_EDIT)
    assert row.message_id == message.pk
    assert row.details == {"previous_length": 4, "old_text": "helo", "new_text": "hello"}
    # The same text again is not an edit.
    services.edit_message(editor=mentor, message_id=message.pk, content="hello")
    assert AuditLog.objects.filter(action=AuditAction.MESSAGE_EDIT).count() == 1


@pytest.mark.django_db
def test_edit_refusals(direct, assigned, admin_user, group):
    mentor, student = assigned
    message = send(mentor, direct, "original")
    notice = Message.objects.create(
        conversation=group, seq=99, content="sys", message_type=MessageType.SYSTEM, sender=mentor
    )

    with pytest.raises(AccessDenied, match="only your own"):
        services.edit_message(editor=student, message_id=message.pk, content="mine now")
    # Moderation deletes; it does not put words in people's mouths.
    with pytest.raises(AccessDenied):
        services.edit_message(editor=admin_user, message_id=message.pk, content="edited")
    with pytest.raises(NotFound, match="No such message"):
        services.edit_message(editor=mentor, message_id=uuid.uuid4(), content="x")
    with pytest.raises(InvalidInput, match="System messages"):
        services.edit_message(editor=mentor, message_id=notice.pk, content="x")

    services.delete_message(actor=mentor, message_id=message.pk)
    with pytest.raises(NotFound, match="deleted"):
        services.edit_message(editor=mentor, message_id=message.pk, content="back")

    other = send(mentor, direct, "later")
    services.set_archived(actor=mentor, conversation_id=direct.pk, archived=True)
    with pytest.raises(ConversationArchived):
        services.edit_message(editor=mentor, message_id=other.pk, content="changed")
    other.refresh_from_db()
    message.refresh_from_db()
    assert (other.content, other.edited_at) == ("later", None)
    assert message.content == ""
    assert AuditLog.objects.filter(action=AuditAction.MESSAGE_EDIT).count() == 0
    assert (
        AuditLog.objects.filter(
            action=AuditAction.ACCESS_DENIED, details__attempted=AuditAction.MESSAGE_EDIT
        ).count()
        == 2
    )


@pytest.mark.django_db
def test_delete_is_soft_and_admins_moderate(direct, assigned, admin_user):
    mentor, student = assigned
    own = send(student, direct, "oops", file_url="/media/x.pdf", message_type=MessageType.FILE)
    theirs = send(mentor, direct, "rude words")

    with pytest.raises(AccessDenied, match="only your own"):
        services.delete_message(actor=student, message_id=theirs.pk)

    services.delete_message(actor=student, message_id=own.pk)
    own.refresh_from_db()
    assert own.deleted_at is not None
    assert (own.content, own.file_url, own.seq) == ("", "", 1)
    assert events.message_payload(own)["content"] == ""

    # A platform admin does not delete someone else's message this way: a
    # moderator's deletion goes through the queue, with a note.
    with pytest.raises(AccessDenied):
        services.delete_message(actor=admin_user, message_id=theirs.pk)
    actions.delete_message(moderator=admin_user, message_id=theirs.pk, note="abusive")
    theirs.refresh_from_db()
    assert theirs.deleted_at is not None and theirs.content == ""
    rows = AuditLog.objects.filter(action=AuditAction.MESSAGE_DELETE).order_by("id")
    assert [r.details["moderation"] for r in rows] == [False, True]
    assert rows[1].actor_id == admin_user.pk
    assert rows[1].details["note"] == "abusive"
    # Both rows keep what was written, for moderators.
    assert [r.details["old_text"] for r in rows] == ["oops", "rude words"]

    with pytest.raises(NotFound, match="deleted"):
        services.delete_message(actor=student, message_id=own.pk)
    direct.refresh_from_db()
    assert direct.last_seq == 2  # deleting keeps every seq
    assert Message.objects.filter(conversation=direct).count() == 2


@pytest.mark.django_db
def test_archived_is_read_only_for_members_but_not_for_moderation(direct, assigned, admin_user):
    mentor, student = assigned
    mine = send(student, direct, "keep")
    abusive = send(mentor, direct, "abuse")
    services.set_archived(actor=mentor, conversation_id=direct.pk, archived=True)
    with pytest.raises(ConversationArchived):
        services.delete_message(actor=student, message_id=mine.pk)
    mine.refresh_from_db()
    assert mine.deleted_at is None and mine.content == "keep"
    actions.delete_message(moderator=admin_user, message_id=abusive.pk, note="abuse")
    abusive.refresh_from_db()
    assert abusive.deleted_at is not None


# --- Receipts -------------------------------------------------------------------


@pytest.mark.django_db
def test_mark_read_is_monotonic_capped_and_writes_receipts(direct, assigned):
    mentor, student = assigned
    sent = [send(mentor, direct, f"m{i}") for i in range(1, 4)]

    def cursor():
        row = ConversationParticipant.objects.get(conversation=direct, user=student)
        return row.last_read_seq, row.last_delivered_seq

    def statuses():
        return dict(
            MessageStatus.objects.filter(user=student).values_list("message__seq", "status")
        )

    services.mark_delivered(user=student, conversation_id=direct.pk, up_to_seq=1)
    assert cursor() == (0, 1)
    assert statuses() == {1: ReceiptStatus.DELIVERED}

    membership = services.mark_read(user=student, conversation_id=direct.pk, up_to_seq=2)
    assert membership.last_read_seq == 2
    assert cursor() == (2, 2)
    assert statuses() == {1: ReceiptStatus.READ, 2: ReceiptStatus.READ}

    # Backwards is ignored, and so is a delivered receipt behind a read one.
    services.mark_read(user=student, conversation_id=direct.pk, up_to_seq=1)
    services.mark_delivered(user=student, conversation_id=direct.pk, up_to_seq=2)
    assert cursor() == (2, 2)
    assert statuses()[2] == ReceiptStatus.READ

    # Beyond the latest message is capped at it.
    services.mark_read(user=student, conversation_id=direct.pk, up_to_seq=10_000)
    assert cursor() == (3, 3)
    assert statuses() == {1: "read", 2: "read", 3: "read"}
    assert MessageStatus.objects.filter(message__in=sent).count() == 3
    marks = AuditLog.objects.filter(action=AuditAction.READ_MARK, actor=student)
    assert sorted(marks.values_list("details__up_to_seq", flat=True)) == [2, 3]
    # The sender gets no receipts for their own messages.
    assert not MessageStatus.objects.filter(user=mentor).exists()


@pytest.mark.django_db
def test_mark_read_refuses_outsiders(direct, assigned, make_user):
    mentor, _ = assigned
    send(mentor, direct)
    outsider = make_user(Role.STUDENT)
    with pytest.raises(AccessDenied):
        services.mark_read(user=outsider, conversation_id=direct.pk, up_to_seq=1)
    with pytest.raises(NotFound):
        services.mark_read(user=outsider, conversation_id=uuid.uuid4(), up_to_seq=1)
    assert not MessageStatus.objects.exists()
    assert AuditLog.objects.filter(action=AuditAction.ACCESS_DENIED, actor=outsider).count() == 1


# --- Events after commit ----------------------------------------------------------


@pytest.fixture
def published(monkeypatch):
    sent = []
    monkeypatch.setattr(
        events,
        "publish",
        lambda group, frame, **routing: sent.append((group, frame["type"], routing)),
    )
    return sent


@pytest.mark.django_db
def test_events_leave_only_on_commit(
    direct, assigned, published, django_capture_on_commit_callbacks
):
    mentor, student = assigned
    group = events.conversation_group(direct.pk)

    with django_capture_on_commit_callbacks(execute=False) as pending:
        message = send(mentor, direct, "hi")
    # Scheduled, but nothing published before the commit.
    assert pending and published == []
    for callback in pending:
        callback()
    # The message itself tells everyone the sender has read up to it.
    assert published == [(group, "message.new", {})]

    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.edit_message(editor=mentor, message_id=message.pk, content="hey")
        services.mark_read(user=student, conversation_id=direct.pk, up_to_seq=1)
        services.delete_message(actor=mentor, message_id=message.pk)
    assert [t for _, t, _ in published] == [
        "message.edited",
        "receipt",
        # Reading the conversation cleared the student's bell entry for it;
        # deleting the message took the entry away.
        "notification.read",
        "notification.read",
        "message.deleted",
    ]


@pytest.mark.django_db
def test_membership_events_go_to_the_people_concerned(
    assigned, published, make_user, django_capture_on_commit_callbacks
):
    mentor, student = assigned
    colleague = make_user(Role.MENTOR)
    with django_capture_on_commit_callbacks(execute=True):
        group = services.create_conversation(
            creator=mentor, kind=ConversationType.GROUP, participants=[student], title="g"
        )
    assert {g for g, t, _ in published if t == "conversation.added"} == {
        events.user_group(mentor.pk),
        events.user_group(student.pk),
    }
    published.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.add_participants(actor=mentor, conversation_id=group.pk, users=[colleague])
        services.remove_participant(actor=mentor, conversation_id=group.pk, user=student)
    kinds = [(g, t) for g, t, _ in published]
    assert (events.user_group(colleague.pk), "conversation.added") in kinds
    assert (events.user_group(student.pk), "conversation.removed") in kinds
    assert kinds.count((events.conversation_group(group.pk), "message.new")) == 2
    assert all(
        r == {"conversation_id": str(group.pk)}
        for g, t, r in published
        if t.startswith("conversation.a")
    )


@pytest.mark.django_db
def test_no_event_on_rollback_or_refusal(
    direct, assigned, published, django_capture_on_commit_callbacks
):
    mentor, _ = assigned
    with django_capture_on_commit_callbacks(execute=True) as pending:
        with pytest.raises(RuntimeError), transaction.atomic():
            send(mentor, direct, "never")
            raise RuntimeError("the caller's transaction fails")
        with pytest.raises(InvalidInput):
            send(mentor, direct, message_type=MessageType.SYSTEM)
        services.set_archived(actor=mentor, conversation_id=direct.pk, archived=True)
    assert [t for _, t, _ in published] == ["conversation.updated"]
    assert len(pending) == 1
    assert not Message.objects.exists()

    published.clear()
    with (
        django_capture_on_commit_callbacks(execute=True) as pending,
        pytest.raises(ConversationArchived),
    ):
        send(mentor, direct, "too late")
    assert pending == [] and published == []


@pytest.mark.django_db
def test_archived_group_cannot_be_renamed(assigned):
    mentor, student = assigned
    group = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student], title="Before"
    )
    services.set_archived(actor=mentor, conversation_id=group.pk, archived=True)
    with pytest.raises(ConversationArchived):
        services.rename_conversation(actor=mentor, conversation_id=group.pk, title="After")
    group.refresh_from_db()
    assert group.title == "Before"
