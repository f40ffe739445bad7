"""The session engine (``accounts.sessions``): each stored session says
whose it is, so a password change ends a person's sessions without
decoding anyone's; expired sessions are deleted daily; the move from
Django's table keeps everyone signed in."""

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DjangoSessionStore
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import AccountSession, Role
from accounts.sessions import SessionStore
from accounts.tasks import clear_expired_sessions

pytestmark = pytest.mark.django_db

PASSWORD = "pw-" + "x" * 12
moved = importlib.import_module("accounts.migrations.0005_sessions_by_account")


def signed_in(user) -> Client:
    client = Client()
    response = client.post(reverse("login"), {"username": user.email, "password": PASSWORD})
    assert response.status_code == 302, response
    return client


def key_of(client: Client) -> str:
    return client.session.session_key


def test_a_login_stores_whose_session_it_is_and_a_logout_deletes_it(make_user):
    student = make_user(Role.STUDENT)
    client = signed_in(student)
    row = AccountSession.objects.get(session_key=key_of(client))
    assert row.user_id == student.pk
    assert row.get_decoded()[SESSION_KEY] == str(student.pk)

    client.post(reverse("logout"))
    assert not AccountSession.objects.filter(user=student).exists()


def test_a_session_signed_in_as_nobody_belongs_to_nobody():
    store = SessionStore()
    store["seen_welcome"] = True
    store.create()
    assert AccountSession.objects.get(session_key=store.session_key).user_id is None
    store[SESSION_KEY] = "not-an-account"
    store.save()
    assert AccountSession.objects.get(session_key=store.session_key).user_id is None


def test_a_password_change_ends_that_persons_sessions_without_decoding_any(make_user):
    student, other = make_user(Role.STUDENT), make_user(Role.STUDENT)
    mine, second, theirs = signed_in(student), signed_in(student), signed_in(other)

    with CaptureQueriesContext(connection) as queries:
        services.change_password(
            user=student,
            password="a-New-passphrase-2468",
            actor=student,
            via="profile",
            keep_session_key=key_of(mine),
        )
    assert not [q["sql"] for q in queries if "session_data" in q["sql"]]
    assert set(AccountSession.objects.values_list("session_key", flat=True)) == {
        key_of(mine),
        key_of(theirs),
    }
    assert key_of(second) not in AccountSession.objects.values_list("session_key", flat=True)


def test_expired_sessions_are_cleared_and_live_ones_kept(make_user):
    student = make_user(Role.STUDENT)
    live, expired = signed_in(student), signed_in(student)
    AccountSession.objects.filter(session_key=key_of(expired)).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    assert clear_expired_sessions.apply().result == 1
    assert list(AccountSession.objects.values_list("session_key", flat=True)) == [key_of(live)]
    assert live.get(reverse("profile")).status_code == 200


def test_the_move_copies_every_live_session_with_its_account(make_user):
    """Sessions stored by Django's own engine before the move stay signed
    in: the migration copies the unexpired ones and reads their account."""
    student = make_user(Role.STUDENT)
    old_sessions = apps.get_model("sessions", "Session")

    def old_session(data: dict, expires_in: timedelta) -> str:
        store = DjangoSessionStore()
        store.update(data)
        store.set_expiry(expires_in)
        store.create()
        return store.session_key

    signed_in_data = {
        SESSION_KEY: str(student.pk),
        BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
        HASH_SESSION_KEY: student.get_session_auth_hash(),
    }
    signed = old_session(signed_in_data, timedelta(days=1))
    anonymous = old_session({"seen_welcome": True}, timedelta(days=1))
    expired = old_session(signed_in_data, timedelta(seconds=-1))
    assert old_sessions.objects.count() == 3

    moved.copy_live_sessions(apps, None)

    copied = dict(AccountSession.objects.values_list("session_key", "user_id"))
    assert copied == {signed: student.pk, anonymous: None}
    assert expired not in copied
    client = Client()
    client.cookies[settings.SESSION_COOKIE_NAME] = signed
    assert client.get(reverse("profile")).status_code == 200
