"""Writes for accounts."""

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import MentorAssignment, Role, User
from messaging.services.sockets import close_user_sockets


def assign_mentor(*, mentor: User, student: User) -> MentorAssignment:
    """Make ``mentor`` look after ``student``; returns the existing row if any."""
    if mentor.role != Role.MENTOR:
        raise ValidationError(f"{mentor} is not a mentor.")
    if student.role != Role.STUDENT:
        raise ValidationError(f"{student} is not a student.")
    assignment, _ = MentorAssignment.objects.get_or_create(mentor=mentor, student=student)
    return assignment


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
            close_user_sockets(user_id=user.pk)
    return user
