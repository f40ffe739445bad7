"""Changing a password, by its owner on the profile page, by an admin in the
Django admin or with ``manage.py changepassword``, ends everything that
authenticated with the old one: every other session (its pages go to the
login page), every open socket of that person (closed with 4401 on a real
server) and every API token (401). A change of one's own keeps the session
that made it, under a new key: its pages carry on, and reconnect their
sockets with it."""

from io import StringIO
from unittest import mock

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts import services
from accounts.models import AccountSession, Role, User
from messaging.models import AuditLog
from tests.security.conftest import (
    close_code,
    open_real_socket,
    recv_json,
    session_key,
    session_of,
)

orm = sync_to_async
OLD, NEW = "pw-" + "x" * 12, "a-New-passphrase-2468"


def api_status(token: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client.get("/api/me/").status_code


def page_goes_to_login(client) -> bool:
    response = client.get(reverse("profile"))
    return response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.fixture
def owner_and_others(make_user):
    """A student with two sessions (``mine``, where the change is made, and
    ``other``) and an API token."""
    student = make_user(Role.STUDENT)
    mine, other = session_of(student), session_of(student)
    token = services.issue_api_token(user=student)
    return student, mine, other, token


# --- With real sockets on a real server ----------------------------------------------


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
async def test_a_change_on_the_profile_page_ends_the_other_session_its_socket_and_tokens(
    real_server, make_user
):
    student, mine, other, token = await orm(
        lambda: (lambda s: (s, session_of(s), session_of(s), services.issue_api_token(user=s)))(
            make_user(Role.STUDENT)
        )
    )()
    my_socket = await open_real_socket(
        real_server, origin=real_server.http_url, cookie=session_key(mine)
    )
    other_socket = await open_real_socket(
        real_server, origin=real_server.http_url, cookie=session_key(other)
    )
    try:
        assert (await recv_json(my_socket))["type"] == "hello"
        assert (await recv_json(other_socket))["type"] == "hello"

        response = await orm(mine.post)(
            reverse("password_change"),
            {"old_password": OLD, "new_password1": NEW, "new_password2": NEW},
        )
        assert response.status_code == 302, response.content

        assert await close_code(other_socket) == 4401
        # Sockets of the session that made the change close too (a stolen
        # copy of its old cookie may hold one) ...
        assert await close_code(my_socket) == 4401
    finally:
        await my_socket.close()
        await other_socket.close()

    assert await orm(api_status)(token) == 401
    assert await orm(page_goes_to_login)(other)
    # ... and its pages reconnect with the session's new key.
    assert (await orm(mine.get)(reverse("profile"))).status_code == 200
    again = await open_real_socket(
        real_server, origin=real_server.http_url, cookie=session_key(mine)
    )
    try:
        assert (await recv_json(again))["type"] == "hello"
    finally:
        await again.close()
    assert await orm(lambda: User.objects.get(pk=student.pk).check_password(NEW))()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
async def test_a_change_in_the_admin_closes_every_socket_of_that_person(real_server, make_user):
    def setup():
        student = make_user(Role.STUDENT)
        admin = User.objects.create_superuser(
            email="root@example.test", password="root-password-1", display_name="Root"
        )
        return (
            student,
            session_of(student),
            session_of(admin),
            services.issue_api_token(user=student),
        )

    student, theirs, admin_client, token = await orm(setup)()
    socket = await open_real_socket(
        real_server, origin=real_server.http_url, cookie=session_key(theirs)
    )
    try:
        assert (await recv_json(socket))["type"] == "hello"
        url = reverse("admin:auth_user_password_change", args=[student.pk])
        response = await orm(admin_client.post)(
            url, {"password1": NEW, "password2": NEW, "usable_password": "true"}
        )
        assert response.status_code == 302, response.content
        assert await close_code(socket) == 4401
    finally:
        await socket.close()
    assert await orm(api_status)(token) == 401
    assert await orm(page_goes_to_login)(theirs)
    # The admin's own session is untouched.
    assert (await orm(admin_client.get)(reverse("admin:index"))).status_code == 200


# --- Each path goes through the one service --------------------------------------------


@pytest.mark.django_db
def test_the_profile_form_refuses_a_wrong_old_password_and_changes_nothing(owner_and_others):
    student, mine, other, token = owner_and_others
    response = mine.post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": NEW, "new_password2": NEW},
    )
    assert response.status_code == 200
    assert b"old password was entered incorrectly" in response.content
    student.refresh_from_db()
    assert student.check_password(OLD)
    assert Token.objects.filter(key=token).exists()
    assert not page_goes_to_login(other)


@pytest.mark.django_db
def test_the_profile_page_shows_the_password_form(owner_and_others):
    _, mine, _, _ = owner_and_others
    page = mine.get(reverse("profile")).content.decode()
    assert f'action="{reverse("password_change")}"' in page
    for field in ("old_password", "new_password1", "new_password2"):
        assert f'name="{field}"' in page


@pytest.mark.django_db
def test_a_self_change_keeps_only_the_current_session(owner_and_others):
    student, mine, other, token = owner_and_others
    third = session_of(student)
    response = mine.post(
        reverse("password_change"),
        {"old_password": OLD, "new_password1": NEW, "new_password2": NEW},
    )
    assert response.status_code == 302
    assert not Token.objects.filter(user=student).exists()
    assert api_status(token) == 401
    assert page_goes_to_login(other) and page_goes_to_login(third)
    assert not AccountSession.objects.filter(
        session_key__in=[session_key(other), session_key(third)]
    ).exists()
    assert mine.get(reverse("profile")).status_code == 200
    row = AuditLog.objects.get(action="auth.password_changed")
    assert row.actor_id == student.pk
    assert row.details == {
        "user_id": str(student.pk),
        "via": "profile",
        "sessions_ended": 2,
        "tokens_revoked": 1,
        "push_devices_ended": 0,
        "calendar_feed_ended": False,
    }


def test_push_subscriptions_of_the_changing_session_follow_it_to_its_new_key(owner_and_others):
    """The change gives this session a new key; its push subscriptions stay
    with it (so its logout still ends them), the other session's go."""
    from notifications.models import PushSubscription
    from tests.notifications.test_push_api import body

    student, mine, other, _token = owner_and_others
    for client, name in ((mine, "mine"), (other, "other")):
        answer = client.post(
            "/api/push/subscriptions/",
            body(f"https://push.example.com/send/{name}"),
            content_type="application/json",
        )
        assert answer.status_code == 201, answer.content
    before = session_key(mine)
    mine.post(
        reverse("password_change"),
        {"old_password": OLD, "new_password1": NEW, "new_password2": NEW},
    )
    assert session_key(mine) != before
    kept = PushSubscription.objects.get()
    assert (kept.endpoint, kept.session_key) == (
        "https://push.example.com/send/mine",
        session_key(mine),
    )
    mine.post(reverse("logout"))
    assert not PushSubscription.objects.exists()


@pytest.mark.django_db
def test_an_admin_change_ends_every_session_and_token(owner_and_others, admin_client_of):
    student, mine, other, token = owner_and_others
    admin, admin_client = admin_client_of()
    with mock.patch("accounts.services.close_user_sockets") as closed:
        response = admin_client.post(
            reverse("admin:auth_user_password_change", args=[student.pk]),
            {"password1": NEW, "password2": NEW, "usable_password": "true"},
        )
    assert response.status_code == 302
    closed.assert_called_once_with(user_id=student.pk)
    student.refresh_from_db()
    assert student.check_password(NEW)
    assert api_status(token) == 401
    assert page_goes_to_login(mine) and page_goes_to_login(other)
    assert admin_client.get(reverse("admin:index")).status_code == 200
    assert AuditLog.objects.get(action="auth.password_changed").details["via"] == "admin"


@pytest.mark.django_db
def test_an_admin_disabling_password_login_ends_every_session(owner_and_others, admin_client_of):
    student, mine, other, token = owner_and_others
    _, admin_client = admin_client_of()
    response = admin_client.post(
        reverse("admin:auth_user_password_change", args=[student.pk]),
        {"usable_password": "false", "unset-password": "1"},
    )
    assert response.status_code == 302
    student.refresh_from_db()
    assert not student.has_usable_password()
    assert api_status(token) == 401
    assert page_goes_to_login(mine) and page_goes_to_login(other)


@pytest.mark.django_db
def test_an_admin_changing_their_own_password_stays_signed_in(admin_client_of):
    admin, admin_client = admin_client_of()
    elsewhere = session_of(admin)
    response = admin_client.post(
        reverse("admin:auth_user_password_change", args=[admin.pk]),
        {"password1": NEW, "password2": NEW, "usable_password": "true"},
    )
    assert response.status_code == 302
    assert admin_client.get(reverse("admin:index")).status_code == 200
    assert elsewhere.get(reverse("admin:index")).status_code == 302


@pytest.mark.django_db
def test_manage_py_changepassword_ends_every_session_and_token(owner_and_others):
    student, mine, other, token = owner_and_others
    out = StringIO()
    with (
        mock.patch("getpass.getpass", return_value=NEW),
        mock.patch("accounts.services.close_user_sockets") as closed,
    ):
        call_command("changepassword", student.email, stdout=out)
    assert "Password changed successfully" in out.getvalue()
    closed.assert_called_once_with(user_id=student.pk)
    student.refresh_from_db()
    assert student.check_password(NEW)
    assert api_status(token) == 401
    assert page_goes_to_login(mine) and page_goes_to_login(other)
    assert AuditLog.objects.get(action="auth.password_changed").details["via"] == "command"


@pytest.mark.django_db
def test_the_service_ends_sessions_of_that_person_only(owner_and_others, make_user):
    student, mine, other, token = owner_and_others
    bystander = make_user(Role.STUDENT)
    theirs = session_of(bystander)
    their_token = services.issue_api_token(user=bystander)
    with mock.patch("accounts.services.close_user_sockets") as closed:
        services.change_password(
            user=student,
            password=NEW,
            actor=student,
            via="profile",
            keep_session_key=session_key(mine),
        )
    closed.assert_called_once_with(user_id=student.pk)
    assert page_goes_to_login(other)
    # The kept session is left to its view (update_session_auth_hash).
    assert AccountSession.objects.filter(session_key=session_key(mine)).exists()
    assert not page_goes_to_login(theirs)
    assert api_status(their_token) == 200
    assert settings.SESSION_ENGINE == "accounts.sessions"


@pytest.fixture
def admin_client_of(db):
    def make():
        admin = User.objects.create_superuser(
            email="root@example.test", password="root-password-1", display_name="Root"
        )
        return admin, session_of(admin)

    return make


@pytest.mark.django_db
def test_a_bot_never_gets_a_password(admin_client_of, make_user):
    """A bot signs in with its API token only: the admin's password page
    refuses to give it a password (a form error, nothing stored), and so
    does the service behind it and manage.py changepassword."""
    from accounts import services as account_services
    from accounts.models import Role

    _, admin_client = admin_client_of()
    bot = make_user(Role.BOT, name="Course calendar")
    bot.set_unusable_password()
    bot.save(update_fields=["password"])
    response = admin_client.post(
        reverse("admin:auth_user_password_change", args=[bot.pk]),
        {"password1": NEW, "password2": NEW, "usable_password": "true"},
    )
    assert response.status_code == 200
    assert b"never with a password" in response.content
    bot.refresh_from_db()
    assert not bot.has_usable_password()
    with pytest.raises(ValueError):
        account_services.change_password(user=bot, password=NEW, actor=None, via="command")
    bot.refresh_from_db()
    assert not bot.has_usable_password()
