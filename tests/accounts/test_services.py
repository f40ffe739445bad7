"""accounts: the user model, mentor assignments and their service."""

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.test import RequestFactory

from accounts import services
from accounts.models import MentorAssignment, Role, User
from messaging import policy
from messaging import services as messaging_services
from messaging.models import AuditAction, AuditLog, UserBlock
from messaging.moderation.services import blocks


@pytest.mark.django_db
def test_users_log_in_by_email_which_is_stored_lowercase():
    user = User.objects.create_user(
        email="Ada.Lovelace@Example.TEST", password="pw-secret-123", display_name="Ada Lovelace"
    )
    assert user.email == "ada.lovelace@example.test"
    assert user.role == Role.STUDENT and not user.is_staff
    assert user.initials == "AL" and user.get_full_name() == "Ada Lovelace"
    assert user.check_password("pw-secret-123")
    with pytest.raises(ValueError, match="email address is required"):
        User.objects.create_user(email="", password="x", display_name="Nobody")
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(
            email="ada.lovelace@example.test", password="x", display_name="Again"
        )


@pytest.mark.django_db
def test_superusers_are_platform_admins():
    root = User.objects.create_superuser(
        email="root@example.test", password="pw-secret-123", display_name="Root"
    )
    assert root.role == Role.ADMIN and root.is_platform_admin
    assert root.is_staff and root.is_superuser
    assert root.pk.version == 4


@pytest.mark.django_db
def test_initials_fall_back_to_the_email(make_user):
    user = make_user(Role.MENTOR, name="   ")
    assert user.initials == user.email[0].upper()


@pytest.mark.django_db
def test_assign_mentor_is_idempotent_and_checks_roles(mentor, student, admin_user):
    first = services.assign_mentor(mentor=mentor, student=student)
    again = services.assign_mentor(mentor=mentor, student=student)
    assert first.pk == again.pk and MentorAssignment.objects.count() == 1
    assert list(mentor.mentees.values_list("student", flat=True)) == [student.pk]
    with pytest.raises(ValidationError, match="not a mentor"):
        services.assign_mentor(mentor=admin_user, student=student)
    with pytest.raises(ValidationError, match="not a student"):
        services.assign_mentor(mentor=mentor, student=admin_user)
    assert MentorAssignment.objects.count() == 1


@pytest.mark.django_db
def test_assigning_a_mentor_lifts_the_student_s_block_of_them(mentor, student, make_user):
    other_mentor = make_user(Role.MENTOR, name="Other Mentor")
    blocks.block_person(blocker=student, blocked_id=mentor.pk)
    blocks.block_person(blocker=student, blocked_id=other_mentor.pk)
    assert not policy.may_start_direct(student, mentor)

    services.assign_mentor(mentor=mentor, student=student)

    assert not UserBlock.objects.filter(blocker=student, blocked=mentor).exists()
    # Only that mentor's: the student's other blocks stay.
    assert UserBlock.objects.filter(blocker=student, blocked=other_mentor).exists()
    row = AuditLog.objects.get(action=AuditAction.UNBLOCK)
    assert (row.actor, row.target_user_id) == (student, mentor.pk)
    assert row.details == {"reason": "assigned"}
    # They can write to each other again.
    assert policy.may_start_direct(student, mentor)
    direct = messaging_services.create_conversation(
        creator=student, kind="direct", participants=[mentor]
    )
    sent = messaging_services.send_message(
        sender=student, conversation_id=direct.pk, content="Hello", client_id=uuid.uuid4()
    )
    assert sent.message.seq == 1

    # Assigning again (no block left) records nothing more.
    services.assign_mentor(mentor=mentor, student=student)
    assert AuditLog.objects.filter(action=AuditAction.UNBLOCK).count() == 1


@pytest.mark.django_db
def test_the_database_refuses_duplicate_and_self_assignments(mentor, student):
    MentorAssignment.objects.create(mentor=mentor, student=student)
    with pytest.raises(IntegrityError), transaction.atomic():
        MentorAssignment.objects.create(mentor=mentor, student=student)
    with pytest.raises(IntegrityError), transaction.atomic():
        MentorAssignment.objects.create(mentor=mentor, student=mentor)


@pytest.mark.django_db
def test_login_and_forms_ignore_email_letter_case(client):
    from accounts.forms import UserCreationForm

    User.objects.create_user(email="sam@example.test", password="pw-secret-123", display_name="Sam")
    # Password checks need the request (the login lockout counts per address).
    login_page = RequestFactory().post("/login/")
    assert client.login(request=login_page, email="Sam@Example.TEST", password="pw-secret-123")

    form = UserCreationForm(
        data={
            "email": "New.Person@Example.TEST",
            "display_name": "New",
            "role": Role.MENTOR,
            "password1": "a-Long-pass-9876",
            "password2": "a-Long-pass-9876",
        }
    )
    assert form.is_valid(), form.errors
    assert form.save().email == "new.person@example.test"
    duplicate = UserCreationForm(
        data={
            "email": "SAM@example.test",
            "display_name": "Sam 2",
            "role": Role.STUDENT,
            "password1": "a-Long-pass-9876",
            "password2": "a-Long-pass-9876",
        }
    )
    assert not duplicate.is_valid()
    assert "email" in duplicate.errors


@pytest.mark.django_db
def test_issue_api_token_returns_the_same_key_until_the_token_is_deleted(student, mentor):
    from rest_framework.authtoken.models import Token

    key = services.issue_api_token(user=student)
    assert services.issue_api_token(user=student) == key
    assert Token.objects.get(user=student).key == key
    assert services.issue_api_token(user=mentor) != key
    Token.objects.filter(user=student).delete()
    assert services.issue_api_token(user=student) not in (key, "")


@pytest.mark.parametrize(
    ("changed", "closes"),
    [
        (["role"], True),
        (["is_staff"], True),
        (["display_name", "is_superuser"], True),
        (["display_name", "time_zone"], False),
        ([], False),
    ],
)
def test_saving_an_account_closes_its_sockets_only_when_its_powers_change(
    mentor, monkeypatch, changed, closes
):
    """The admin's save: a change of role or staff status closes the person's
    sockets (they hold the account as it was); a change of their profile
    does not."""
    closed = []
    monkeypatch.setattr(services, "close_user_sockets", lambda *, user_id: closed.append(user_id))
    services.save_account(user=mentor, changed=changed)
    assert closed == ([mentor.pk] if closes else [])
