"""Writes for accounts."""

from django.core.exceptions import ValidationError

from accounts.models import MentorAssignment, Role, User


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
