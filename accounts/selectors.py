"""Reads for accounts."""

from uuid import UUID

from django.db.models import QuerySet

from accounts.models import AccountSession, User


def mentors_of(user: User) -> QuerySet[User]:
    """The mentors who look after ``user``, by display name."""
    return User.objects.filter(mentees__student=user).order_by("display_name", "email")


def students_of(user: User) -> QuerySet[User]:
    """The students ``user`` looks after, by display name."""
    return User.objects.filter(mentors__mentor=user).order_by("display_name", "email")


def sessions_of(user: User) -> QuerySet[AccountSession]:
    """Every stored session signed in as ``user``, expired ones included
    (by the indexed ``AccountSession.user``: no session is decoded)."""
    return AccountSession.objects.filter(user=user)


def user_id_for_email(email: str) -> UUID | None:
    """The id of the account with this (lowercase) email, if any."""
    return User.objects.filter(email=email).values_list("pk", flat=True).first()
