"""What Parley sends a person away from the page (missed-message emails,
digests, push) is written in that person's language and time zone, whoever
caused it and in whatever language the code around it was running; what
accounts and notifications answer in a request follows the request's
language (the browser's, or the person's choice).

Emails go through the real SMTP server process of tests/notifications
and push payloads through the test's own push service, decrypted with the
device's keys."""

import itertools
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone, translation
from rest_framework.test import APIClient

from accounts.models import Role
from config.middleware import unavailable_page
from notifications.models import Kind, Notification, NotificationPreference
from notifications.services import digests, push

# The fixtures of the notification tests: a real SMTP server, a push
# service and a VAPID key of the test's own.
from tests.notifications.test_email import _digest_due, body, run_task, send, smtp  # noqa: F401
from tests.notifications.test_push import path_of, push_service, subscribe, vapid_key  # noqa: F401

pytestmark = pytest.mark.django_db

_addresses = (f"203.0.113.{n}" for n in itertools.count(1))


def speaks(user, language: str, time_zone: str = "UTC"):
    user.language, user.time_zone = language, time_zone
    user.save(update_fields=["language", "time_zone"])
    return user


@pytest.fixture
def maria_and_sam(assigned):
    mentor, student = assigned
    mentor.display_name, student.display_name = "Maria Mentor", "Sam Student"
    mentor.save(update_fields=["display_name"])
    student.save(update_fields=["display_name"])
    return mentor, student


@pytest.fixture(autouse=True)
def _language_put_back():
    """A request through ``LocaleMiddleware`` leaves its language active in
    the thread: the tests after these ones must not inherit Spanish."""
    before = translation.get_language()
    yield
    if before:
        translation.activate(before)
    else:
        translation.deactivate()


# --- Emails -------------------------------------------------------------------------


def test_missed_message_email_is_in_each_readers_language_and_time_zone(
    smtp,  # noqa: F811
    direct,
    maria_and_sam,
):
    maria, sam = maria_and_sam
    speaks(sam, "es", "America/Mexico_City")
    first = send(maria, direct, "¿Tienes un momento?")
    send(maria, direct, "Es sobre el proyecto")
    # The task runs wherever it runs: an English-speaking worker, or in
    # the request of whoever sent the message; Sam reads Spanish.
    with translation.override("en"):
        assert run_task(direct, sam) is True
    [spanish] = smtp.wait_for(1)
    assert spanish["Subject"] == "Maria Mentor te ha enviado 2 mensajes"
    text, html = body(spanish, "plain"), body(spanish, "html")
    assert text.startswith("Hola, Sam Student:")
    assert "Maria Mentor te ha enviado en Parley 2 mensajes que aún no has leído:" in text
    assert "Abrir la conversación: " in text and "Open the conversation" not in text
    assert "Dejar de recibir correos de Parley: " in text
    assert '<html lang="es" dir="ltr">' in html and "Abrir la conversación</a>" in html
    # Times in Sam's zone, named, with Spanish day and month names.
    local = first.sent_at.astimezone(ZoneInfo("America/Mexico_City"))
    weekday = ["lun", "mar", "mié", "jue", "vie", "sáb", "dom"][local.weekday()]
    assert f"Maria Mentor ({weekday} {local.day} " in text
    assert f"{local:%H:%M} CST):" in text

    # Maria chose English: Sam's Spanish (the language around the task
    # this time) does not reach her.
    speaks(maria, "en")
    send(sam, direct, "Sí, dime")
    with translation.override("es"):
        assert run_task(direct, maria) is True
    english = smtp.wait_for(2)[1]
    assert english["Subject"] == "Sam Student sent you a message"
    text = body(english, "plain")
    assert text.startswith("Hi Maria Mentor,")
    assert "Sam Student sent you a message on Parley that you have not read yet:" in text
    assert "UTC):" in text


def test_digest_in_spanish(smtp, direct, maria_and_sam):  # noqa: F811
    maria, sam = maria_and_sam
    speaks(sam, "es")
    at = timezone.now()
    _digest_due(sam, at=at)
    send(maria, direct, "primero")
    send(maria, direct, "lo último que dije")

    with translation.override("en"):
        assert digests.send_due_digests(at=at) == 1
    [message] = smtp.wait_for(1)
    assert message["Subject"] == "Tu resumen diario de Parley: 2 mensajes sin leer"
    text, html = body(message, "plain"), body(message, "html")
    assert "Este es tu resumen diario de Parley." in text
    assert "Conversaciones sin leer (2 mensajes):" in text
    assert ": 2 sin leer" in text and "lo último que dije" in text
    assert "Abrir Parley: " in text
    assert "<title>Tu resumen diario de Parley</title>" in html


def test_arabic_email_reads_right_to_left(smtp, direct, maria_and_sam):  # noqa: F811
    maria, sam = maria_and_sam
    speaks(sam, "ar")
    _digest_due(sam, at=(at := timezone.now()), frequency="weekly")
    send(maria, direct, "Hello")
    assert digests.send_due_digests(at=at) == 1
    [message] = smtp.wait_for(1)
    # Folded onto its own line (encoded, it is long): the fold is not part of it.
    assert message["Subject"].strip() == "ملخصك الأسبوعي من Parley: رسالة واحدة غير مقروءة"
    html = body(message, "html")
    assert '<html lang="ar" dir="rtl">' in html
    # The bar beside each conversation stands at the start of the line.
    assert "border-right: 3px solid" in html and "border-left" not in html


# --- Push ---------------------------------------------------------------------------


def _mention(maria, sam, group_title="Capstone group") -> Notification:
    from messaging import services as messaging_services
    from messaging.models import ConversationType

    group = messaging_services.create_conversation(
        creator=maria, kind=ConversationType.GROUP, participants=[sam], title=group_title
    )
    message = messaging_services.send_message(
        sender=maria, conversation_id=group.pk, content="@Sam mira esto", client_id=uuid.uuid4()
    ).message
    return Notification.objects.create(
        user=sam,
        kind=Kind.MENTION,
        conversation=group,
        message=message,
        actor=maria,
        data={"excerpt": "@Sam mira esto"},
    )


def test_push_title_and_body_in_the_persons_language(
    push_service,  # noqa: F811
    subscribe,  # noqa: F811
    maria_and_sam,
):
    maria, sam = maria_and_sam
    speaks(sam, "es")
    subscription, keys = subscribe(sam)
    mention = _mention(maria, sam)
    with translation.override("en"):
        push.deliver_notifications(notification_ids=[str(mention.pk)])
    payload = keys.decrypt(push_service.to(path_of(subscription))[0].body)
    assert payload["title"] == "Maria Mentor te ha mencionado en Capstone group"
    assert payload["body"] == "@Sam mira esto"

    # On the lock screen, without the text: still Spanish.
    NotificationPreference.objects.create(user=sam, push_show_content=False)
    second, second_keys = subscribe(sam)
    mention.delete()
    hidden = _mention(maria, sam, group_title="Otro grupo")
    push.deliver_notifications(notification_ids=[str(hidden.pk)])
    payload = second_keys.decrypt(push_service.to(path_of(second))[0].body)
    assert (payload["title"], payload["body"]) == ("Parley", "Mensaje nuevo de Maria Mentor")


# --- Requests: the browser's language -----------------------------------------------


def test_lockout_is_explained_in_the_browsers_language(student):
    def attempt(**extra):
        # Each from another address: the account's lock, not an address's
        # throttle, is what answers.
        return APIClient().post(
            "/api/auth/token/",
            {"email": student.email, "password": "wrong"},
            format="json",
            REMOTE_ADDR=next(_addresses),
            **extra,
        )

    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt()
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    api_answer = attempt(HTTP_ACCEPT_LANGUAGE="es")
    assert api_answer.status_code == 429
    assert api_answer.json()["error"]["message"] == (
        "Demasiados intentos fallidos de inicio de sesión en esta cuenta o desde esta "
        f"dirección. Vuelve a intentarlo dentro de {minutes} minutos."
    )
    page = Client(REMOTE_ADDR=next(_addresses), HTTP_ACCEPT_LANGUAGE="ar").post(
        "/login/", {"username": student.email, "password": "wrong"}
    )
    assert page.status_code == 429
    assert f"حاول مرة أخرى بعد {minutes} دقيقة." in page.content.decode()


def test_settings_form_errors_and_labels_in_the_browsers_language(student):
    client = Client(HTTP_ACCEPT_LANGUAGE="es")
    client.force_login(student)
    answer = client.post(
        "/settings/notifications/",
        {
            "quiet_hours_start": "22:00",
            "time_zone": "UTC",
            "digest": "daily",
            "digest_hour": "8",
            "digest_weekday": "0",
        },
    )
    assert answer.status_code == 400
    page = answer.content.decode()
    assert "Indica un inicio y un final para las horas de silencio, o borra los dos." in page
    assert "Menciones por correo electrónico" in page
    assert "Notificaciones por correo electrónico" in page
    assert ">lunes<" in page  # Django's own day names


def test_role_labels_are_translated(make_user):
    sam = make_user(Role.STUDENT)
    with translation.override("es"):
        assert sam.get_role_display() == "Estudiante"
        assert str(Role.ADMIN.label) == "Administrador"
    with translation.override("ar"):
        assert str(Role.MENTOR.label) == "مرشد"
    with translation.override("en"):
        assert sam.get_role_display() == "Student"


def test_database_unavailable_page_in_the_request_language():
    with translation.override("ar"):
        page = unavailable_page()
    assert page.startswith('<!doctype html><html lang="ar" dir="rtl">')
    assert "لا يستطيع Parley الوصول إلى قاعدة بياناته الآن." in page
    with translation.override("es"):
        assert "<title>Vuelve a intentarlo en breve</title>" in unavailable_page()
