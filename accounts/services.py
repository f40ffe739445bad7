"""Writes for accounts."""

from django.core.exceptions import ValidationError
from django.db import transaction
from rest_framework.authtoken.models import Token

from accounts.models import MentorAssignment, Role, User
from messaging import events


def assign_mentor(*, mentor: User, student: User) -> MentorAssignment:
    """Make ``mentor`` look after ``student``; returns the existing row if any."""
    if mentor.role != Role.MENTOR:
        raise ValidationError(f"{mentor} is not a mentor.")
    if student.role != Role.STUDENT:
        raise ValidationError(f"{student} is not a student.")
    assignment, _ = MentorAssignment.objects.get_or_create(mentor=mentor, student=student)
    return assignment


def issue_api_token(*, user: User) -> str:
    """The key of ``user``'s API token, made on the first call; the same key
    comes back until the token is deleted. The caller has authenticated
    ``user``."""
    token, _ = Token.objects.get_or_create(user=user)
    return token.key


def update_profile(*, user: User, display_name: str) -> User:
    display_name = display_name.strip()
    if not display_name:
        raise ValidationError("A display name is required.")
    if len(display_name) > 150:
        raise ValidationError("A display name has at most 150 characters.")
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
            events.publish_on_commit(events.user_group(user.pk), events.session_revoked())
    return user
