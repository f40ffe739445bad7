"""Messaging speaks each person's language: the REST API's and the socket's
error messages, the words stored for them, the labels of choices. A
person's profile choice comes first, else their browser's (the request's
``Accept-Language``, the socket handshake's); the error ``code`` never
changes."""

import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import Group
from django.utils import translation
from rest_framework.test import APIClient

from accounts.locale import accepted_language
from accounts.models import Role
from config.asgi import application
from messaging import services
from messaging.moderation.models import ReportReason
from messaging.moderation.services import actions
from messaging.support.models import SupportStatus
from tests.realtime.conftest import HOST, ORIGIN, Socket, session_cookie

UNKNOWN = "00000000-0000-4000-8000-0000000000ff"


def said_in(language: str, message: str) -> str:
    """``message`` as the catalogs of ``language`` have it (whoever worded
    it), after checking that they do translate it."""
    with translation.override(language):
        translated = translation.gettext(message)
    assert translated != message, f"{message!r} has no {language} translation"
    return translated


def api_error(user, path, **headers):
    client = APIClient()
    client.force_login(user)
    response = client.get(path, **headers)
    return response.status_code, response.json()["error"]


# --- The REST API -------------------------------------------------------------------


@pytest.mark.django_db
def test_api_error_in_the_language_chosen_on_the_profile(make_user):
    english = make_user(Role.MENTOR)
    spanish = make_user(Role.MENTOR, language="es")
    path = f"/api/conversations/{UNKNOWN}/messages/"

    status_en, error_en = api_error(english, path)
    status_es, error_es = api_error(spanish, path)

    assert error_en == {"code": "not_found", "message": "No such conversation."}
    assert error_es == {"code": "not_found", "message": said_in("es", "No such conversation.")}
    assert status_en == status_es == 404


@pytest.mark.django_db
def test_api_error_in_the_browsers_language_without_a_profile_choice(make_user):
    person = make_user(Role.MENTOR)
    status, error = api_error(
        person,
        f"/api/conversations/{UNKNOWN}/messages/",
        HTTP_ACCEPT_LANGUAGE="es-MX,es;q=0.9,en;q=0.5",
    )
    assert status == 404
    assert error == {"code": "not_found", "message": said_in("es", "No such conversation.")}


@pytest.mark.django_db
def test_profile_choice_wins_over_the_browser(make_user):
    person = make_user(Role.MENTOR, language="ar")
    _status, error = api_error(
        person, f"/api/conversations/{UNKNOWN}/messages/", HTTP_ACCEPT_LANGUAGE="es"
    )
    assert error == {"code": "not_found", "message": said_in("ar", "No such conversation.")}


@pytest.mark.django_db
def test_a_token_client_is_answered_in_the_profiles_language(make_user):
    """A token is read by the API, after the middleware that speaks to a
    session's person: its person's language (and time zone) still apply,
    and end with the request (the next one, anonymous, is English)."""
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    person = make_user(Role.MENTOR, language="ar", time_zone="Asia/Tokyo")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=person).key}")
    response = client.get(f"/api/conversations/{UNKNOWN}/messages/", HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "not_found",
        "message": said_in("ar", "No such conversation."),
    }
    assert response["Content-Language"] == "ar"
    assert translation.get_language() != "ar"
    assert timezone.get_current_timezone_name() == settings.TIME_ZONE
    anonymous = APIClient().get(f"/api/conversations/{UNKNOWN}/messages/")
    assert anonymous.status_code == 401
    assert anonymous["Content-Language"] == "en"


@pytest.mark.django_db
def test_a_token_client_hears_an_unknown_endpoint_and_notification_in_its_language(make_user):
    """Every 404 of the API, also outside its views (an unknown path) and
    from a service (someone else's notification), in the person's language."""
    from rest_framework.authtoken.models import Token

    person = make_user(Role.STUDENT, language="es")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=person).key}")
    unknown = client.get("/api/no-such-thing/")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["message"] == said_in("es", "No such endpoint or object.")
    assert unknown.json()["error"]["message"] != "No such endpoint or object."
    assert translation.get_language() != "es"
    notification = client.post(f"/api/notifications/{UNKNOWN}/read/")
    assert notification.status_code == 404
    assert notification.json()["error"]["message"] == said_in("es", "No such notification.")
    assert notification.json()["error"]["message"] != "No such notification."
    # A token that is no token is no one: English, and still a 404.
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Token nope")
    assert stranger.get("/api/no-such-thing/").json()["error"]["message"] == (
        "No such endpoint or object."
    )


@pytest.mark.django_db
def test_a_token_clients_language_ends_with_a_request_the_database_failed(make_user, monkeypatch):
    """A database fault leaves the view by an exception (answered 503 by
    config.middleware), not through DRF's finalize_response: the token's
    person's language and time zone end with it all the same."""
    from django.db import OperationalError
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from messaging import selectors

    def fails(*args, **kwargs):
        raise OperationalError("the database went away")

    monkeypatch.setattr(selectors, "inbox", fails)
    person = make_user(Role.MENTOR, language="ar", time_zone="Asia/Tokyo")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=person).key}")
    answer = client.get("/api/conversations/")
    assert answer.status_code == 503
    assert answer.json()["error"]["code"] == "unavailable"
    assert translation.get_language() != "ar"
    assert timezone.get_current_timezone_name() == settings.TIME_ZONE


@pytest.mark.django_db
def test_api_validation_error_keeps_its_code_in_spanish(make_user):
    """A DRF validation error (a serializer field's) and its ``code``."""
    english = make_user(Role.MENTOR)
    spanish = make_user(Role.MENTOR, language="es")
    path = "/api/presence/?user_ids=" + ",".join(str(uuid.uuid4()) for _ in range(201))

    _status, error_en = api_error(english, path)
    status, error_es = api_error(spanish, path)

    assert status == 400
    assert error_en["code"] == error_es["code"] == "invalid"
    assert error_en["message"] == "user_ids: At most 200 user ids."
    assert error_es["message"] == "user_ids: Como máximo 200 identificadores de usuario."


# --- The socket ---------------------------------------------------------------------


async def open_socket(user, accept_language: str | None = None) -> Socket:
    """A socket of ``user``'s, its handshake sent with ``accept_language``."""
    cookie = await sync_to_async(session_cookie)(user)
    headers = [
        (b"host", HOST),
        (b"origin", ORIGIN),
        (b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()),
    ]
    if accept_language:
        headers.append((b"accept-language", accept_language.encode()))
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
    connected, _subprotocol = await communicator.connect(timeout=5)
    assert connected
    socket = Socket(communicator, cookie)
    await socket.recv_type("hello")
    return socket


def empty_send(conversation_id) -> dict:
    return {
        "type": "message.send",
        "conversation_id": str(conversation_id),
        "client_id": str(uuid.uuid4()),
        "content": "",
    }


async def error_for(user, frame: dict, accept_language: str | None = None) -> dict:
    socket = await open_socket(user, accept_language)
    try:
        await socket.send(frame)
        return await socket.recv_type("error")
    finally:
        await socket.close()


@pytest.mark.django_db(transaction=True)
async def test_socket_error_in_the_language_chosen_on_the_profile(make_user):
    english = await sync_to_async(make_user)(Role.MENTOR)
    spanish = await sync_to_async(make_user)(Role.MENTOR, language="es")

    error_en = await error_for(english, empty_send(UNKNOWN))
    error_es = await error_for(spanish, empty_send(UNKNOWN))

    assert error_en["code"] == error_es["code"] == "invalid"
    assert error_en["message"] == "A message cannot be empty."
    assert error_es["message"] == said_in("es", "A message cannot be empty.")


@pytest.mark.django_db(transaction=True)
async def test_socket_error_in_arabic_for_who_chose_arabic(make_user):
    person = await sync_to_async(make_user)(Role.MENTOR, language="ar")
    error = await error_for(person, {"type": "ping", "ref": "x" * 65})
    assert error["code"] == "invalid"
    assert error["message"] == said_in(
        "ar", "ref must be text of at most %(count)s characters."
    ) % {"count": 64}


@pytest.mark.django_db(transaction=True)
async def test_socket_error_in_the_handshakes_language_without_a_profile_choice(make_user):
    person = await sync_to_async(make_user)(Role.MENTOR)
    error = await error_for(person, empty_send(UNKNOWN), accept_language="es-ES,es;q=0.9")
    assert error["message"] == said_in("es", "A message cannot be empty.")


@pytest.mark.django_db(transaction=True)
async def test_service_refusal_on_the_socket_in_spanish(make_user):
    """A refusal raised by a service, on the database's thread."""
    mentor = await sync_to_async(make_user)(Role.MENTOR, language="es")
    frame = empty_send(UNKNOWN) | {"content": "hola"}
    error = await error_for(mentor, frame)
    assert error["code"] == "not_found"
    assert error["message"] == said_in("es", "No such conversation.")


def test_accept_language_header_read_as_django_reads_it():
    assert accepted_language("es-MX,es;q=0.9,en;q=0.5") == "es"
    assert accepted_language("fr, ar;q=0.5") == "ar"
    assert accepted_language("fr") is None
    assert accepted_language("") is None


# --- Words stored for a person, labels ----------------------------------------------


@pytest.mark.django_db
def test_default_warning_is_stored_in_the_warned_persons_language(make_user, direct, student):
    """The moderator reads English; the student, Spanish."""
    moderator = make_user(Role.MENTOR, is_staff=True)
    moderator.groups.add(Group.objects.get(name="Moderators"))
    student.language = "es"
    student.save(update_fields=["language"])
    message = services.send_message(
        sender=student, conversation_id=direct.pk, content="rude", client_id=uuid.uuid4()
    ).message

    warning = actions.warn_sender(moderator=moderator, message_id=message.pk, note="rude")

    assert warning.text == said_in("es", str(actions.DEFAULT_WARNING))


def test_choice_labels_are_translated():
    with translation.override("es"):
        assert str(SupportStatus.RESOLVED.label) == "Resuelta"
        assert str(ReportReason.HARASSMENT.label) == "Acoso o intimidación"
    with translation.override("ar"):
        assert str(ReportReason.HARASSMENT.label) == "تحرش أو تنمر"
    assert str(ReportReason.HARASSMENT.label) == "Harassment or bullying"


@pytest.mark.django_db
def test_the_schedule_dialog_names_the_message_as_a_noun(client, direct, student):
    """ "Message" is a verb on a button ("Message Sam") and a noun on the
    schedule dialog's field: each has its own translation."""
    student.language = "es"
    student.save(update_fields=["language"])
    client.force_login(student)
    page = client.get(f"/c/{direct.pk}/").content.decode()
    assert '<label for="schedule-content">Mensaje</label>' in page
    student.language = "ar"
    student.save(update_fields=["language"])
    page = client.get(f"/c/{direct.pk}/").content.decode()
    assert '<label for="schedule-content">الرسالة</label>' in page
