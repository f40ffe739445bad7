"""Pins: who may pin in every kind of conversation and role (the policy and
the service agree), idempotent pin and unpin, the limit, the pinned list
(newest first, deleted and hidden ones left out), the API, and the
moderators' unpin in the admin."""

# Fixtures imported from tests.threads.extras are parameters of the tests.
# ruff: noqa: F811

import uuid

import pytest
from django.urls import reverse

from accounts.models import MentorAssignment, Role
from messaging import events, policy, services
from messaging.errors import (
    AccessDenied,
    ConversationArchived,
    MessageHidden,
    NotFound,
    PersonBlocked,
    TooManyPins,
)
from messaging.models import AuditAction, AuditLog, ConversationParticipant, ParticipantRole
from messaging.moderation.services import actions, blocks
from messaging.threads.models import Pin
from messaging.threads.selectors import pins as pin_selectors
from messaging.threads.services import pins
from tests.threads.extras import grant, group, moderator, notice_in, say  # noqa: F401

pytestmark = pytest.mark.django_db


# --- Who may pin: every role in every kind of conversation -----------------------------


@pytest.fixture
def people(make_user):
    """One of each: student, mentor (assigned to the student), admin, a
    support agent (a mentor with the Support agents' permission), and a
    student who runs a group as its conversation admin."""
    student = make_user(Role.STUDENT, name="Stu")
    mentor = make_user(Role.MENTOR, name="Men")
    MentorAssignment.objects.create(mentor=mentor, student=student)
    agent = make_user(Role.MENTOR, name="Agent", is_staff=True)
    grant(agent, "work_support_queue", "Support agents")
    return {
        "student": student,
        "mentor": mentor,
        "admin": make_user(Role.ADMIN, name="Ada"),
        "agent": agent,
        "group_admin_student": make_user(Role.STUDENT, name="Gas"),
        "outsider": make_user(Role.STUDENT, name="Out"),
    }


def _join(conversation, user, role=ParticipantRole.MEMBER):
    ConversationParticipant.objects.update_or_create(
        conversation=conversation, user=user, defaults={"role": role, "left_at": None}
    )


def _conversation(kind, people):
    if kind == "direct_student_mentor":
        conversation = services.create_conversation(
            creator=people["mentor"], kind="direct", participants=[people["student"]]
        )
    elif kind == "direct_student_admin":
        conversation = services.create_conversation(
            creator=people["admin"], kind="direct", participants=[people["student"]]
        )
    elif kind == "group":
        conversation = services.create_conversation(
            creator=people["admin"],
            kind="group",
            participants=[people["student"], people["mentor"], people["agent"]],
            title="G",
        )
        _join(conversation, people["group_admin_student"], ParticipantRole.ADMIN)
    else:  # support: the student's, with every admin; the agent joined by hand
        conversation = services.create_conversation(
            creator=people["student"], kind="support", participants=[]
        )
        _join(conversation, people["agent"])
    return conversation


# (conversation kind, person) → may pin. Not members: refused whatever the role.
MATRIX = {
    ("direct_student_mentor", "student"): True,
    ("direct_student_mentor", "mentor"): True,
    ("direct_student_mentor", "admin"): False,  # not a member
    ("direct_student_mentor", "outsider"): False,
    ("direct_student_admin", "student"): True,
    ("direct_student_admin", "admin"): True,
    ("group", "student"): False,
    ("group", "mentor"): True,
    ("group", "admin"): True,
    ("group", "agent"): True,  # a mentor by role
    ("group", "group_admin_student"): True,  # the conversation's own admin
    ("group", "outsider"): False,
    ("support", "student"): False,  # the requester
    ("support", "admin"): True,
    ("support", "agent"): True,
    ("support", "mentor"): False,  # not a member
}


@pytest.mark.parametrize(("kind", "who"), list(MATRIX))
def test_who_may_pin(kind, who, people):
    conversation = _conversation(kind, people)
    author = next(
        p.user
        for p in ConversationParticipant.objects.filter(conversation=conversation).select_related(
            "user"
        )
    )
    message = say(author, conversation, "pin me")
    user = people[who]
    allowed = MATRIX[(kind, who)]
    assert policy.may_pin(user, conversation) is allowed
    if allowed:
        pin = pins.pin_message(user=user, message_id=message.pk)
        assert pin.pinned_by == user
        assert pins.unpin_message(user=user, message_id=message.pk) is True
    else:
        with pytest.raises(AccessDenied) as refused:
            pins.pin_message(user=user, message_id=message.pk)
        # A member whose role does not pin is told so; anyone else is told
        # there is no such message.
        member = (
            ConversationParticipant.objects.active()
            .filter(conversation=conversation, user=user)
            .exists()
        )
        assert refused.value.code == ("forbidden" if member else "not_found")
        assert not Pin.objects.exists()
        denial = AuditLog.objects.filter(actor=user, action=AuditAction.ACCESS_DENIED).get()
        assert denial.details["attempted"] == AuditAction.PIN


def test_a_student_in_a_group_may_not_pin(group, assigned):
    mentor, student = assigned
    message = say(mentor, group)
    with pytest.raises(AccessDenied, match="may not pin"):
        pins.pin_message(user=student, message_id=message.pk)
    pins.pin_message(user=mentor, message_id=message.pk)
    with pytest.raises(AccessDenied, match="may not pin"):
        pins.unpin_message(user=student, message_id=message.pk)


def test_nobody_pins_in_an_archived_conversation(group, assigned):
    mentor, _ = assigned
    message, other = say(mentor, group), say(mentor, group)
    pins.pin_message(user=mentor, message_id=message.pk)
    services.set_archived(actor=mentor, conversation_id=group.pk, archived=True)
    group.refresh_from_db()
    assert policy.may_pin(mentor, group) is False
    with pytest.raises(ConversationArchived):
        pins.pin_message(user=mentor, message_id=other.pk)
    with pytest.raises(ConversationArchived):
        pins.unpin_message(user=mentor, message_id=message.pk)


def test_nobody_pins_across_a_block(direct, make_user):
    """A pin is an event to the other person: across a block, refused as a
    send there is, both ways, and undone by unblocking."""
    first, second = make_user(Role.MENTOR), make_user(Role.MENTOR)
    conversation = services.create_conversation(creator=first, kind="direct", participants=[second])
    message = say(first, conversation)
    pins.pin_message(user=first, message_id=message.pk)
    blocks.block_person(blocker=second, blocked_id=first.pk)
    for person in (first, second):
        assert policy.may_pin(person, conversation) is False
        with pytest.raises(PersonBlocked):
            pins.unpin_message(user=person, message_id=message.pk)
    assert Pin.objects.filter(message=message).exists()
    blocks.unblock_person(blocker=second, blocked_id=first.pk)
    pins.unpin_message(user=second, message_id=message.pk)
    assert policy.may_pin(first, conversation) is True


def test_a_deactivated_person_may_not_pin(direct, assigned):
    mentor, student = assigned
    message = say(mentor, direct)
    student.is_active = False
    student.save()
    assert policy.may_pin(student, direct) is False
    with pytest.raises(AccessDenied):
        pins.pin_message(user=student, message_id=message.pk)


# --- Pinning -----------------------------------------------------------------------------


def test_pin_and_unpin_are_idempotent_audited_and_announced(
    direct, assigned, django_capture_on_commit_callbacks
):
    mentor, student = assigned
    message = say(student, direct)
    with django_capture_on_commit_callbacks(execute=False) as published:
        first = pins.pin_message(user=mentor, message_id=message.pk)
    assert len(published) == 1
    with django_capture_on_commit_callbacks(execute=False) as again:
        assert pins.pin_message(user=student, message_id=message.pk) == first
    assert again == []
    assert Pin.objects.get().pinned_by == mentor
    with django_capture_on_commit_callbacks(execute=False) as unpinned:
        assert pins.unpin_message(user=student, message_id=message.pk) is True
    assert len(unpinned) == 1
    assert pins.unpin_message(user=student, message_id=message.pk) is False
    assert [r.action for r in AuditLog.objects.filter(message_id=message.pk).order_by("id")] == [
        AuditAction.MESSAGE_SEND,
        AuditAction.PIN,
        AuditAction.UNPIN,
    ]


def test_the_pinned_frame_carries_the_pin_and_the_message(direct, assigned):
    mentor, student = assigned
    message = say(student, direct, "remember this")
    pin = pins.pin_message(user=mentor, message_id=message.pk)
    frame = events.message_pinned(
        pin_selectors.pinned_messages(user=mentor, conversation_id=direct.pk)[0], pin
    )
    assert frame["type"] == "message.pinned" and frame["message_id"] == str(message.pk)
    assert frame["pinned"]["pinned_by"] == events.user_payload(mentor)
    assert frame["message"]["pinned"] == frame["pinned"]
    assert frame["message"]["content"] == "remember this"


def test_deleted_hidden_and_system_messages_are_not_pinned(group, assigned, moderator):
    mentor, student = assigned
    deleted = say(student, group)
    services.delete_message(actor=student, message_id=deleted.pk)
    hidden = say(student, group)
    actions.hide_message(moderator=moderator, message_id=hidden.pk, note="x")
    notice = notice_in(group)
    for message_id in (deleted.pk, notice.pk, uuid.uuid4()):
        with pytest.raises(NotFound):
            pins.pin_message(user=mentor, message_id=message_id)
    with pytest.raises(MessageHidden):
        pins.pin_message(user=mentor, message_id=hidden.pk)


def test_the_pinned_list_is_newest_first_and_drops_deleted_and_hidden(group, assigned, moderator):
    mentor, student = assigned
    first, second, third = (say(mentor, group, f"m{n}") for n in range(3))
    for message in (second, first, third):
        pins.pin_message(user=mentor, message_id=message.pk)
    listed = pin_selectors.pinned_messages(user=student, conversation_id=group.pk)
    assert [m.pk for m in listed] == [third.pk, first.pk, second.pk]
    services.delete_message(actor=mentor, message_id=first.pk)
    actions.hide_message(moderator=moderator, message_id=third.pk, note="x")
    listed = pin_selectors.pinned_messages(user=student, conversation_id=group.pk)
    assert [m.pk for m in listed] == [second.pk]
    # Restored: back in the list, still pinned.
    actions.restore_message(moderator=moderator, message_id=third.pk, note="fine")
    listed = pin_selectors.pinned_messages(user=student, conversation_id=group.pk)
    assert [m.pk for m in listed] == [third.pk, second.pk]


def test_the_limit_counts_the_pins_that_show(group, assigned, settings):
    mentor, _ = assigned
    settings.PARLEY = {**settings.PARLEY, "MAX_PINS_PER_CONVERSATION": 2}
    a, b, c = (say(mentor, group) for _ in range(3))
    pins.pin_message(user=mentor, message_id=a.pk)
    pins.pin_message(user=mentor, message_id=b.pk)
    with pytest.raises(TooManyPins) as refused:
        pins.pin_message(user=mentor, message_id=c.pk)
    assert refused.value.code == "too_many_pins"
    # A pinned message deleted since no longer takes a place.
    services.delete_message(actor=mentor, message_id=a.pk)
    pins.pin_message(user=mentor, message_id=c.pk)


def test_outsiders_may_not_read_the_pinned_list(group, make_user):
    with pytest.raises(AccessDenied):
        pin_selectors.pinned_messages(user=make_user(Role.STUDENT), conversation_id=group.pk)


# --- API -----------------------------------------------------------------------------------


def test_pins_over_the_api(client, group, assigned):
    mentor, student = assigned
    message = say(student, group, "the plan")
    url = f"/api/messages/{message.pk}/pin/"
    client.force_login(student)
    refused = client.put(url)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    client.force_login(mentor)
    pinned = client.put(url)
    assert pinned.status_code == 200
    assert pinned.json()["pinned"]["pinned_by"]["id"] == str(mentor.pk)
    assert client.put(url).status_code == 200  # again: the same pin
    client.force_login(student)
    answer = client.get(f"/api/conversations/{group.pk}/pins/").json()
    assert answer["may_pin"] is False  # a student in a group
    listed = answer["pins"]
    assert [m["id"] for m in listed] == [str(message.pk)]
    assert listed[0]["pinned"]["pinned_by"]["id"] == str(mentor.pk)
    client.force_login(mentor)
    assert client.delete(url).status_code == 204
    assert client.delete(url).status_code == 204
    assert client.get(f"/api/conversations/{group.pk}/pins/").json() == {
        "pins": [],
        "may_pin": True,
    }
    assert client.put(f"/api/messages/{uuid.uuid4()}/pin/").status_code == 404


def test_pin_api_answers_archived_and_outsiders(client, group, assigned, make_user):
    mentor, _ = assigned
    message = say(mentor, group)
    client.force_login(make_user(Role.STUDENT))
    assert client.get(f"/api/conversations/{group.pk}/pins/").status_code == 404
    assert client.put(f"/api/messages/{message.pk}/pin/").status_code == 404
    services.set_archived(actor=mentor, conversation_id=group.pk, archived=True)
    client.force_login(mentor)
    archived = client.put(f"/api/messages/{message.pk}/pin/")
    assert archived.status_code == 409 and archived.json()["error"]["code"] == "archived"


# --- The moderators' unpin ----------------------------------------------------------------


def test_a_moderator_unpins_through_the_admin(client, group, assigned, moderator):
    mentor, _ = assigned
    message = say(mentor, group, "pinned thing")
    pins.pin_message(user=mentor, message_id=message.pk)
    changelist = reverse("admin:messaging_pin_changelist")
    client.force_login(moderator)
    assert f"#{message.seq} by {mentor.display_name}" in client.get(changelist).content.decode()
    form = {"action": "unpin", "_selected_action": [str(message.pk)], "apply": "1"}
    assert client.post(changelist, {**form, "note": "off topic"}).status_code == 302
    assert not Pin.objects.exists()
    row = AuditLog.objects.filter(action=AuditAction.UNPIN).get()
    assert row.actor == moderator and row.target_user_id == mentor.pk
    assert row.details == {"moderation": True, "note": "off topic"}


def test_too_many_pins_over_the_api(client, group, assigned, settings):
    mentor, _ = assigned
    settings.PARLEY = {**settings.PARLEY, "MAX_PINS_PER_CONVERSATION": 1}
    first, second = say(mentor, group), say(mentor, group)
    client.force_login(mentor)
    assert client.put(f"/api/messages/{first.pk}/pin/").status_code == 200
    refused = client.put(f"/api/messages/{second.pk}/pin/")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "too_many_pins"
    assert client.put(f"/api/messages/{first.pk}/pin/").status_code == 200  # already pinned
