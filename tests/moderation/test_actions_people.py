"""Moderators' actions on people and cases: mutes (in one conversation or
everywhere; ended by the clock or lifted), warnings, deactivation, the
moderation delete with its note, dismissing a case; who may act."""

import uuid
from datetime import UTC, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import MentorAssignment, Role, User
from messaging import policy, services
from messaging.errors import AccessDenied, InvalidInput, Muted
from messaging.models import (
    AuditAction,
    AuditLog,
    CaseStatus,
    Message,
    ModerationCase,
    Mute,
    Warning,
)
from messaging.moderation import selectors as moderation_selectors
from messaging.moderation.services import actions, cases

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture
def moderator(make_user):
    user = make_user(Role.MENTOR, name="Mo Moderator")
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


@pytest.fixture
def group(assigned, make_user):
    mentor, student = assigned
    other = make_user(Role.STUDENT, name="Olive Other")
    MentorAssignment.objects.create(mentor=mentor, student=other)
    return services.create_conversation(
        creator=mentor, kind="group", participants=[student, other], title="Study"
    )


def say(sender, conversation, content="hello"):
    return services.send_message(
        sender=sender, conversation_id=conversation.pk, content=content, client_id=uuid.uuid4()
    ).message


def api_send(user, conversation, content="hello"):
    client = APIClient()
    client.force_login(user)
    return client.post(
        f"/api/conversations/{conversation.pk}/messages/",
        {"content": content, "client_id": str(uuid.uuid4())},
        format="json",
    )


def end_in_the_past(mute: Mute) -> None:
    """The mute ran its course: both ends moved an hour back."""
    Mute.objects.filter(pk=mute.pk).update(
        starts_at=timezone.now() - timedelta(hours=2), ends_at=timezone.now() - timedelta(hours=1)
    )


# --- Mutes ----------------------------------------------------------------------------


def test_conversation_mute_refuses_sends_there_only(group, direct, assigned, moderator):
    _, student = assigned
    mute = actions.mute_user(
        moderator=moderator, user_id=student.pk, conversation_id=group.pk, minutes=30, note="spam"
    )
    assert mute.ends_at - mute.starts_at == timedelta(minutes=30)
    with pytest.raises(Muted) as refused:
        say(student, group)
    assert refused.value.code == "muted"
    assert "in this conversation until" in refused.value.message
    assert refused.value.until == mute.ends_at
    assert 0 < refused.value.retry_after <= 30 * 60
    fields = refused.value.fields()
    assert fields["until"] == mute.ends_at.isoformat()

    response = api_send(student, group)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "muted" and error["until"] == mute.ends_at.isoformat()
    assert 0 < error["retry_after"] <= 30 * 60
    assert int(response["Retry-After"]) >= 1
    assert not Message.objects.filter(conversation=group, sender=student).exists()

    # In the person's own time zone, named (UTC unless they chose one).
    assert error["message"].endswith(f"{mute.ends_at.astimezone(UTC):%H:%M} UTC.")
    student.time_zone = "Asia/Kolkata"
    student.save(update_fields=["time_zone"])
    local = mute.ends_at.astimezone(ZoneInfo("Asia/Kolkata"))
    message = api_send(student, group).json()["error"]["message"]
    assert message.endswith(f"until {local:%H:%M} Asia/Kolkata."), message

    # Elsewhere the student writes as before.
    assert say(student, direct).seq == 1
    assert policy.may_post(student, direct) and not policy.may_post(student, group)


def test_mute_everywhere_refuses_every_conversation(group, direct, assigned, moderator):
    _, student = assigned
    actions.mute_user(
        moderator=moderator, user_id=student.pk, conversation_id=None, minutes=60, note="abuse"
    )
    for conversation in (group, direct):
        with pytest.raises(Muted, match="everywhere"):
            say(student, conversation)
    assert api_send(student, direct).json()["error"]["code"] == "muted"


def test_the_longest_mute_in_force_is_the_one_reported(group, assigned, moderator):
    _, student = assigned
    actions.mute_user(
        moderator=moderator, user_id=student.pk, conversation_id=group.pk, minutes=10, note="a"
    )
    longest = actions.mute_user(
        moderator=moderator, user_id=student.pk, conversation_id=None, minutes=600, note="b"
    )
    assert moderation_selectors.active_mute(student, group.pk) == longest
    with pytest.raises(Muted) as refused:
        say(student, group)
    assert refused.value.until == longest.ends_at


def test_muted_sender_cannot_edit_either(group, assigned, moderator):
    _, student = assigned
    message = say(student, group, "before")
    actions.mute_user(
        moderator=moderator, user_id=student.pk, conversation_id=group.pk, minutes=5, note="x"
    )
    with pytest.raises(Muted):
        services.edit_message(editor=student, message_id=message.pk, content="after")
    assert Message.objects.get(pk=message.pk).content == "before"


def test_an_ended_mute_lets_the_person_send_again_with_no_job(group, assigned, moderator):
    _, student = assigned
    mute = actions.mute_user(
        moderator=moderator, user_id=student.pk, conversation_id=None, minutes=5, note="cool off"
    )
    with pytest.raises(Muted):
        say(student, group)
    end_in_the_past(mute)
    assert moderation_selectors.active_mute(student, group.pk) is None
    assert say(student, group).seq >= 1
    assert policy.may_post(student, group)


def test_lift_mute_ends_it_now_and_is_audited(group, assigned, moderator):
    _, student = assigned
    mute = actions.mute_user(
        moderator=moderator, user_id=student.pk, conversation_id=group.pk, minutes=60, note="x"
    )
    lifted = actions.lift_mute(moderator=moderator, mute_id=mute.pk, note="apologised")
    assert lifted.lifted_at is not None and lifted.lifted_by_id == moderator.pk
    assert say(student, group).seq >= 1
    row = AuditLog.objects.get(action=AuditAction.UNMUTE)
    assert row.target_user_id == student.pk and row.details["note"] == "apologised"
    muted = AuditLog.objects.get(action=AuditAction.MUTE)
    assert muted.target_user_id == student.pk and muted.conversation_id == group.pk
    assert muted.details["note"] == "x" and muted.details["minutes"] == 60


def test_policy_forms_agree_with_mutes(group, direct, assigned, moderator):
    """may_post (one case) and postable_conversations (the send's claim)."""
    mentor, student = assigned
    actions.mute_user(
        moderator=moderator, user_id=student.pk, conversation_id=group.pk, minutes=5, note="x"
    )
    for user in (mentor, student):
        postable = set(policy.postable_conversations(user).values_list("pk", flat=True))
        for conversation in (group, direct):
            assert policy.may_post(user, conversation) == (conversation.pk in postable)
    assert group.pk not in set(policy.postable_conversations(student).values_list("pk", flat=True))


@pytest.mark.parametrize("minutes", [0, -5, 60 * 24 * 366, "10", True])
def test_mute_length_must_be_sensible(assigned, moderator, minutes):
    _, student = assigned
    with pytest.raises(InvalidInput):
        actions.mute_user(
            moderator=moderator,
            user_id=student.pk,
            conversation_id=None,
            minutes=minutes,
            note="x",
        )
    assert not Mute.objects.exists()


def test_a_moderator_without_the_admin_role_cannot_mute_or_deactivate_an_admin(
    moderator, admin_user
):
    with pytest.raises(AccessDenied):
        actions.mute_user(
            moderator=moderator, user_id=admin_user.pk, conversation_id=None, minutes=5, note="x"
        )
    with pytest.raises(AccessDenied):
        actions.deactivate_user(moderator=moderator, user_id=admin_user.pk, note="x")
    with pytest.raises(InvalidInput):
        actions.mute_user(
            moderator=moderator, user_id=moderator.pk, conversation_id=None, minutes=5, note="x"
        )
    assert User.objects.get(pk=admin_user.pk).is_active


def test_nobody_undoes_what_was_done_about_themselves_nor_a_non_admin_about_an_admin(
    group, assigned, moderator, admin_user, make_user
):
    """A muted moderator cannot lift their own mute, restore their own
    hidden message or dismiss a case about their own message; without the
    admin role, neither what was done about an admin. Each refusal changes
    nothing and is audited."""
    mentor, _ = assigned
    services.add_participants(actor=mentor, conversation_id=group.pk, users=[moderator])
    other_moderator = make_user(Role.ADMIN, name="Ada Other")
    own = say(moderator, group, "mine")
    hidden = actions.hide_message(moderator=other_moderator, message_id=own.pk, note="no")
    case = cases.open_case(say(moderator, group, "also mine"), reports=1)
    mute = actions.mute_user(
        moderator=other_moderator, user_id=moderator.pk, conversation_id=None, minutes=60, note="x"
    )
    admins_mute = actions.mute_user(
        moderator=other_moderator, user_id=admin_user.pk, conversation_id=None, minutes=60, note="x"
    )
    refused = [
        lambda: actions.lift_mute(moderator=moderator, mute_id=mute.pk, note="mine"),
        lambda: actions.restore_message(moderator=moderator, message_id=hidden.pk, note="mine"),
        lambda: actions.dismiss_case(moderator=moderator, case_id=case.pk, note="mine"),
        lambda: actions.lift_mute(moderator=moderator, mute_id=admins_mute.pk, note="theirs"),
    ]
    for attempt in refused:
        with pytest.raises(AccessDenied):
            attempt()
    assert Mute.objects.filter(lifted_at__isnull=True).count() == 2
    assert Message.objects.get(pk=own.pk).hidden_at is not None
    assert ModerationCase.objects.get(pk=case.pk).status == CaseStatus.OPEN
    assert AuditLog.objects.filter(actor=moderator, action=AuditAction.ACCESS_DENIED).count() == 4
    # A platform admin may.
    actions.lift_mute(moderator=other_moderator, mute_id=admins_mute.pk, note="ok")
    actions.lift_mute(moderator=admin_user, mute_id=mute.pk, note="ok")
    assert not Mute.objects.filter(lifted_at__isnull=True).exists()


# --- Warnings -------------------------------------------------------------------------


def test_warning_is_listed_for_the_warned_person_only(group, assigned, moderator):
    mentor, student = assigned
    message = say(student, group, "rude")
    first = actions.warn_sender(moderator=moderator, message_id=message.pk, note="rude")
    second = actions.warn_sender(
        moderator=moderator, message_id=message.pk, note="again", text="Last warning."
    )
    assert first.text == actions.DEFAULT_WARNING and second.text == "Last warning."
    client = APIClient()
    client.force_login(student)
    response = client.get(f"/api/conversations/{group.pk}/warnings/")
    assert response.status_code == 200
    listed = response.json()["warnings"]
    assert [w["id"] for w in listed] == [str(first.pk), str(second.pk)]
    assert listed[1] == {
        "id": str(second.pk),
        "conversation_id": str(group.pk),
        "message_id": str(message.pk),
        "text": "Last warning.",
        "created_at": second.created_at.isoformat(),
    }
    client.force_login(mentor)
    assert client.get(f"/api/conversations/{group.pk}/warnings/").json() == {"warnings": []}
    row = AuditLog.objects.filter(action=AuditAction.WARN).order_by("at", "id").first()
    assert row.target_user_id == student.pk and row.message_id == message.pk
    assert row.details["note"] == "rude"


def test_warnings_of_a_conversation_one_is_not_in_are_refused(group, make_user):
    outsider = make_user(Role.STUDENT)
    client = APIClient()
    client.force_login(outsider)
    theirs = client.get(f"/api/conversations/{group.pk}/warnings/")
    missing = client.get(f"/api/conversations/{uuid.uuid4()}/warnings/")
    # Answered as a conversation that does not exist (docs/api.md).
    assert (theirs.status_code, theirs.json()) == (404, missing.json())


# --- Deactivation, deletion, cases ----------------------------------------------------


def test_deactivate_user(assigned, moderator):
    _, student = assigned
    target = actions.deactivate_user(moderator=moderator, user_id=student.pk, note="threats")
    assert not target.is_active
    assert not User.objects.get(pk=student.pk).is_active
    row = AuditLog.objects.get(action=AuditAction.DEACTIVATE)
    assert row.target_user_id == student.pk and row.details["note"] == "threats"
    with pytest.raises(InvalidInput):
        actions.deactivate_user(moderator=moderator, user_id=moderator.pk, note="me")


def test_moderation_delete_writes_one_row_with_the_note_and_closes_the_case(
    group, assigned, moderator
):
    _, student = assigned
    message = say(student, group, "awful")
    cases.open_case(message, reports=2)
    deleted = actions.delete_message(moderator=moderator, message_id=message.pk, note="awful")
    assert deleted.deleted_at is not None and deleted.content == ""
    (row,) = AuditLog.objects.filter(action=AuditAction.MESSAGE_DELETE)
    assert row.actor_id == moderator.pk and row.target_user_id == student.pk
    assert row.details == {"moderation": True, "note": "awful", "old_text": "awful"}
    assert ModerationCase.objects.get(message=message).status == CaseStatus.ACTIONED


def test_dismiss_case(group, assigned, moderator):
    _, student = assigned
    message = say(student, group, "fine really")
    case = cases.open_case(message, reports=1)
    dismissed = actions.dismiss_case(moderator=moderator, case_id=case.pk, note="not abusive")
    assert dismissed.status == CaseStatus.DISMISSED and dismissed.closed_by_id == moderator.pk
    row = AuditLog.objects.get(action=AuditAction.CASE_DISMISS)
    assert row.message_id == message.pk and row.target_user_id == student.pk
    with pytest.raises(InvalidInput, match="already closed"):
        actions.dismiss_case(moderator=moderator, case_id=case.pk, note="again")
    # A new report reopens it.
    assert cases.open_case(message, reports=1).status == CaseStatus.OPEN


# --- Who may --------------------------------------------------------------------------


def test_every_action_refuses_non_moderators_and_audits_the_refusal(group, assigned, make_user):
    mentor, student = assigned
    staff_without_permission = make_user(Role.MENTOR, is_staff=True)
    message = say(student, group)
    case = cases.open_case(message, flags=1)
    mute = Mute.objects.create(
        user=student,
        starts_at=timezone.now(),
        ends_at=timezone.now() + timedelta(minutes=5),
        note="x",
    )
    attempts = {
        AuditAction.MESSAGE_DELETE: lambda u: actions.delete_message(
            moderator=u, message_id=message.pk, note="n"
        ),
        AuditAction.WARN: lambda u: actions.warn_sender(
            moderator=u, message_id=message.pk, note="n"
        ),
        AuditAction.MUTE: lambda u: actions.mute_user(
            moderator=u, user_id=student.pk, conversation_id=None, minutes=5, note="n"
        ),
        AuditAction.UNMUTE: lambda u: actions.lift_mute(moderator=u, mute_id=mute.pk, note="n"),
        AuditAction.DEACTIVATE: lambda u: actions.deactivate_user(
            moderator=u, user_id=student.pk, note="n"
        ),
        AuditAction.CASE_DISMISS: lambda u: actions.dismiss_case(
            moderator=u, case_id=case.pk, note="n"
        ),
    }
    for user in (student, mentor, staff_without_permission):
        for attempted, attempt in attempts.items():
            with pytest.raises(AccessDenied, match="Only moderators"):
                attempt(user)
            assert AuditLog.objects.filter(
                actor=user, action=AuditAction.ACCESS_DENIED, details__attempted=attempted
            ).exists(), (user, attempted)
    assert not Warning.objects.exists()
    assert Mute.objects.count() == 1 and Mute.objects.get().lifted_at is None
    assert User.objects.get(pk=student.pk).is_active
    assert Message.objects.get(pk=message.pk).deleted_at is None
    assert ModerationCase.objects.get(pk=case.pk).status == CaseStatus.OPEN


@pytest.mark.parametrize("note", ["", "  \n "])
def test_every_action_requires_a_note(group, assigned, moderator, note):
    _, student = assigned
    message = say(student, group)
    case = cases.open_case(message, flags=1)
    for attempt in (
        lambda: actions.delete_message(moderator=moderator, message_id=message.pk, note=note),
        lambda: actions.warn_sender(moderator=moderator, message_id=message.pk, note=note),
        lambda: actions.mute_user(
            moderator=moderator, user_id=student.pk, conversation_id=None, minutes=5, note=note
        ),
        lambda: actions.deactivate_user(moderator=moderator, user_id=student.pk, note=note),
        lambda: actions.dismiss_case(moderator=moderator, case_id=case.pk, note=note),
    ):
        with pytest.raises(InvalidInput, match="note is required"):
            attempt()
    assert not Mute.objects.exists() and not Warning.objects.exists()
    assert User.objects.get(pk=student.pk).is_active


def test_conversation_page_says_when_the_mute_ends(group, direct, assigned, moderator):
    _, student = assigned
    mute = actions.mute_user(
        moderator=moderator, user_id=student.pk, conversation_id=group.pk, minutes=30, note="x"
    )
    client = APIClient()
    client.force_login(student)
    page = client.get(f"/c/{group.pk}/")
    assert page.context["page_data"]["muted"] == {
        "id": str(mute.pk),
        "conversation_id": str(group.pk),
        "until": mute.ends_at.isoformat(),
        "everywhere": False,
    }
    assert client.get(f"/c/{direct.pk}/").context["page_data"]["muted"] is None
