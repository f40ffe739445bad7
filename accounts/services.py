"""Writes for accounts. Views, API views and the admin call these rather
than saving accounts, assignments or tokens themselves."""

from collections.abc import Collection

from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework.authtoken.models import Token

from accounts.models import MentorAssignment, Role, User
from messaging import validation
from messaging.errors import InvalidInput
from messaging.services.sockets import close_user_sockets


def check_assignment_roles(*, mentor: User, student: User) -> None:
    """Raise ``ValidationError`` unless ``mentor`` is a mentor and ``student``
    a student: the precondition of ``assign_mentor``, which forms ask first
    so that a refusal is a form error."""
    if mentor.role != Role.MENTOR:
        raise ValidationError(f"{mentor} is not a mentor.")
    if student.role != Role.STUDENT:
        raise ValidationError(f"{student} is not a student.")


def assign_mentor(*, mentor: User, student: User) -> MentorAssignment:
    """Make ``mentor`` look after ``student``; returns the existing row if any.
    Raises ``ValidationError`` (nothing stored) when the roles do not fit."""
    check_assignment_roles(mentor=mentor, student=student)
    assignment, _ = MentorAssignment.objects.get_or_create(mentor=mentor, student=student)
    return assignment


def unassign_mentor(*, mentor: User, student: User) -> bool:
    """``mentor`` no longer looks after ``student``. Returns whether such an
    assignment existed; conversations and messages between them stay."""
    deleted, _ = MentorAssignment.objects.filter(mentor=mentor, student=student).delete()
    return deleted > 0


def issue_api_token(*, user: User) -> str:
    """The key of ``user``'s API token, made on the first call; the same key
    comes back until the token is deleted. The caller has authenticated
    ``user``."""
    token, _ = Token.objects.get_or_create(user=user)
    return token.key


def save_account(*, user: User, changed: Collection[str] = ()) -> User:
    """Store an account as a form built or edited it (the admin's add and
    change pages; a new password is already hashed on ``user``). ``changed``
    names the fields the form changed: switching ``is_active`` on an existing
    account goes through ``set_active``, so a deactivated person's sockets
    close."""
    existing = not user._state.adding
    with transaction.atomic():
        user.save()
        if existing and "is_active" in changed:
            set_active(user=user, active=user.is_active)
    return user


def update_profile(*, user: User, display_name: str) -> User:
    """Store ``user``'s display name, cleaned by the text rule every
    user-supplied string passes (``validation.clean_display_name``); a
    refusal is a ``ValidationError`` with its message, nothing stored."""
    try:
        display_name = validation.clean_display_name(display_name)
    except InvalidInput as error:
        raise ValidationError(error.message, code=error.code) from None
    user.display_name = display_name
    user.save(update_fields=["display_name"])
    return user


def set_active(*, user: User, active: bool) -> User:
    """Activate or deactivate an account. Deactivation closes the person's
    open sockets at once; their messages stay."""
    with transaction.atomic():
        user.is_active = active
        user.save(update_fields=["is_active"])
        if not active:
            close_user_sockets(user_id=user.pk)
    return user
