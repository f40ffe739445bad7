"""Reads for accounts."""

from django.db.models import QuerySet

from accounts.models import User


def mentors_of(user: User) -> QuerySet[User]:
    """The mentors who look after ``user``, by display name."""
    return User.objects.filter(mentees__student=user).order_by("display_name", "email")


def students_of(user: User) -> QuerySet[User]:
    """The students ``user`` looks after, by display name."""
    return User.objects.filter(mentors__mentor=user).order_by("display_name", "email")
