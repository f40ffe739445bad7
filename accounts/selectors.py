"""Reads for accounts."""

from uuid import UUID

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.db.models import QuerySet

from accounts.models import User


def mentors_of(user: User) -> QuerySet[User]:
    """The mentors who look after ``user``, by display name."""
    return User.objects.filter(mentees__student=user).order_by("display_name", "email")


def students_of(user: User) -> QuerySet[User]:
    """The students ``user`` looks after, by display name."""
    return User.objects.filter(mentors__mentor=user).order_by("display_name", "email")


def session_keys_of(user: User) -> list[str]:
    """The keys of every stored session signed in as ``user``, expired ones
    included. Sessions are signed blobs, not indexed by user, so each stored
    session is decoded: a cost paid on a password change, not per request."""
    user_id = str(user.pk)
    return [
        session.session_key
        for session in Session.objects.only("session_key", "session_data").iterator()
        if session.get_decoded().get(SESSION_KEY) == user_id
    ]


def user_id_for_email(email: str) -> UUID | None:
    """The id of the account with this (lowercase) email, if any."""
    return User.objects.filter(email=email).values_list("pk", flat=True).first()
