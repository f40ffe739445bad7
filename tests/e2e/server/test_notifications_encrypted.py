"""Notifications of encrypted messages (docs/e2e.md, "What stops working"):
the bell, push, missed-message emails and digests say "New encrypted
message", in the reader's language, with neither the text nor file names;
the emails are read from a real SMTP server process."""

import pytest
from django.utils import timezone
from django.utils.translation import override

from notifications import tasks
from notifications.models import Notification, NotificationPreference
from notifications.selectors.preferences import preferences_for
from notifications.services import digests, push
from tests.notifications.mailserver import MailServer, send_django_mail_to

pytestmark = [pytest.mark.services, pytest.mark.django_db]

SECRET = "my grades are slipping and I am scared"


@pytest.fixture
def e2e_msg_smtp(tmp_path, settings):
    server = MailServer(tmp_path / "mail")
    send_django_mail_to(server, settings)
    settings.PARLEY_SITE_URL = "http://parley.example"
    settings.PARLEY_MISSED_EMAIL_DELAY_SECONDS = 0
    yield server
    server.stop()


def _texts(message) -> str:
    parts = [message["Subject"]]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_content())
    return "\n".join(parts)


def test_the_bell_and_push_say_only_that_a_message_came(
    api, e2e_msg_pair, e2e_msg_direct, e2e_msg_send, django_capture_on_commit_callbacks
):
    mentor, student = e2e_msg_pair
    with django_capture_on_commit_callbacks(execute=True):
        message, sealed = e2e_msg_send(mentor, e2e_msg_direct, SECRET)
    notification = Notification.objects.get(user=student, message=message)
    assert notification.data["excerpt"] == ""
    assert notification.data["encrypted"] is True
    assert sealed.e2e["ciphertext"] not in str(notification.data)

    feed = api(student).get("/api/notifications/").json()
    [entry] = [n for n in feed["notifications"] if n["message_id"] == str(message.pk)]
    assert entry["data"]["excerpt"] == "New encrypted message"
    spanish = api(student).get("/api/notifications/", HTTP_ACCEPT_LANGUAGE="es").json()
    [entry] = [n for n in spanish["notifications"] if n["message_id"] == str(message.pk)]
    assert entry["data"]["excerpt"] == "Nuevo mensaje cifrado"

    preference = preferences_for(student)
    preference.push_show_content = True
    for language, expected in (
        ("en", "New encrypted message"),
        ("es", "Nuevo mensaje cifrado"),
        ("ar", "رسالة مشفرة جديدة"),
    ):
        with override(language):
            payload = push._payload(notification, preference)
        assert payload["body"] == expected
        assert SECRET not in str(payload)


def test_missed_message_email_has_no_text_and_no_file_name(
    e2e_msg_smtp, e2e_msg_pair, e2e_msg_direct, e2e_msg_send
):
    mentor, student = e2e_msg_pair
    _, sealed = e2e_msg_send(mentor, e2e_msg_direct, SECRET)
    assert tasks.send_missed_messages(str(e2e_msg_direct.pk), str(student.pk)) is True
    [mail] = e2e_msg_smtp.wait_for(1)
    texts = _texts(mail)
    assert "New encrypted message" in texts
    assert SECRET not in texts and "grades" not in texts
    assert sealed.e2e["ciphertext"][:20] not in texts
    assert "encrypted.bin" not in texts


def test_a_digest_says_only_that_messages_came(
    e2e_msg_smtp, e2e_msg_pair, e2e_msg_direct, e2e_msg_send
):
    mentor, student = e2e_msg_pair
    at = timezone.now()
    NotificationPreference.objects.update_or_create(
        user=student,
        defaults={"digest": "daily", "digest_hour": at.hour, "digest_weekday": at.weekday()},
    )
    e2e_msg_send(mentor, e2e_msg_direct, SECRET)
    assert digests.send_due_digests(at=at) == 1
    [mail] = e2e_msg_smtp.wait_for(1)
    texts = _texts(mail)
    assert "New encrypted message" in texts
    assert SECRET not in texts


def test_a_thread_reply_notice_has_no_text(
    e2e_msg_pair, e2e_msg_group, e2e_msg_send, django_capture_on_commit_callbacks
):
    mentor, student = e2e_msg_pair
    root, _ = e2e_msg_send(student, e2e_msg_group, "root")
    with django_capture_on_commit_callbacks(execute=True):
        reply, _ = e2e_msg_send(mentor, e2e_msg_group, SECRET, parent_id=root.pk)
    notices = list(Notification.objects.filter(message=reply))
    assert [n.user_id for n in notices] == [student.pk]
    for notification in notices:
        assert SECRET not in str(notification.data)
        assert notification.data["excerpt"] == ""
