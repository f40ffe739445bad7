"""Missed-message email, digests and one-click unsubscribe against a real
SMTP server process (aiosmtpd, tests/notifications/mailserver.py): the
messages are parsed from what the server received."""

import datetime as dt
import re
import uuid
from urllib.parse import urlsplit

import pytest
from django.test import Client
from django.utils import timezone

from messaging import services
from messaging.models import ConversationType
from notifications import tasks
from notifications.models import (
    ConversationMute,
    Delivery,
    DeliveryState,
    DigestFrequency,
    NotificationPreference,
)
from notifications.selectors.preferences import preferences_for
from notifications.services import digests
from notifications.tokens import unsubscribe_token
from tests.notifications.conftest import broker_messages
from tests.notifications.mailserver import MailServer, send_django_mail_to

SITE = "http://parley.example"


@pytest.fixture
def smtp(tmp_path, settings):
    """A real SMTP server process; Django sends to it."""
    server = MailServer(tmp_path / "mail")
    send_django_mail_to(server, settings)
    settings.PARLEY_SITE_URL = SITE
    # No waiting in most tests: a message counts as missed as soon as it is
    # stored (test_a_message_younger_than_the_delay_waits checks the delay).
    settings.PARLEY_MISSED_EMAIL_DELAY_SECONDS = 0
    yield server
    server.stop()


def send(sender, conversation, text):
    return services.send_message(
        sender=sender, conversation_id=conversation.pk, content=text, client_id=uuid.uuid4()
    ).message


def run_task(conversation, user) -> bool:
    return tasks.send_missed_messages(str(conversation.pk), str(user.pk))


def body(message, subtype):
    part = message.get_body(preferencelist=(subtype,))
    assert part is not None, f"no text/{subtype} part"
    assert part.get_content_type() == f"text/{subtype}"
    return part.get_content()


def local_path(url: str) -> str:
    assert url.startswith(SITE + "/"), url
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_one_email_gathers_the_unread_messages_with_working_links(smtp, direct, assigned):
    mentor, student = assigned
    mentor.display_name = "Maria Mentor"
    mentor.save()
    for text in ("First question", "Second <b>thing</b>", "Third & last"):
        send(mentor, direct, text)

    assert run_task(direct, student) is True

    [message] = smtp.wait_for(1)
    assert message["Subject"] == "Maria Mentor sent you 3 messages"
    assert message["To"] == student.email
    # Folded onto its own line (it is long): whitespace around it is not part of it.
    unsubscribe = str(message["List-Unsubscribe"]).strip()
    assert re.fullmatch(r"<https?://\S+/notifications/unsubscribe/\S+/>", unsubscribe)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.is_multipart()
    text, html = body(message, "plain"), body(message, "html")
    for content in ("First question", "Second <b>thing</b>", "Third & last"):
        assert content in text
    # The HTML part escapes what people wrote.
    assert "Second &lt;b&gt;thing&lt;/b&gt;" in html and "<b>thing</b>" not in html
    assert "Third &amp; last" in html

    # The link opens the conversation, after logging in.
    link = re.search(r"Open the conversation: (\S+)", text).group(1)
    assert link in html
    client = Client()
    answer = client.get(local_path(link))
    assert answer.status_code == 302 and "/login/" in answer["Location"]
    client.force_login(student)
    page = client.get(local_path(link))
    assert page.status_code == 200
    assert page.resolver_match.url_name == "conversation"
    assert "First question" in page.content.decode()

    # The record says it was sent, once.
    delivery = Delivery.objects.get(user=student, channel="email")
    assert delivery.key.startswith(f"missed:{direct.pk}:")
    assert delivery.state == DeliveryState.SENT

    # One-click unsubscribe from the header: no login, no CSRF token.
    unsubscribe_url = unsubscribe[1:-1]
    anonymous = Client(enforce_csrf_checks=True)
    confirm = anonymous.get(local_path(unsubscribe_url))
    assert confirm.status_code == 200
    assert b'method="post"' in confirm.content
    assert preferences_for(student).email_enabled is True  # GET changes nothing
    done = anonymous.post(
        local_path(unsubscribe_url),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert done.status_code == 200
    assert b"Email stopped" in done.content
    assert preferences_for(student).email_enabled is False

    # Email is off: a new unread message sends nothing.
    send(mentor, direct, "Are you there?")
    assert run_task(direct, student) is False
    assert len(smtp.messages()) == 1


def test_rich_text_is_mailed_as_the_page_shows_it(smtp, direct, assigned):
    mentor, student = assigned
    send(mentor, direct, f"**Read** [the plan](https://plan.example/a) @{student.display_name}")
    send(mentor, direct, "`<b>code</b>` and <script>alert(1)</script>\n- one\n- two")

    assert run_task(direct, student) is True
    [message] = smtp.wait_for(1)
    text, html = body(message, "plain"), body(message, "html")
    # The HTML part carries the stored, sanitized rendering.
    assert "<strong>Read</strong>" in html
    assert (
        '<a href="https://plan.example/a" target="_blank" rel="noopener noreferrer nofollow">'
        "the plan</a>"
    ) in html
    assert (
        f'<span class="mention" data-user-id="{student.pk}">@{student.display_name}</span>' in html
    )
    assert "<code>&lt;b&gt;code&lt;/b&gt;</code>" in html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<li>one</li>" in html
    # The text part has the words, no Markdown and no tags.
    assert f"Read the plan @{student.display_name}" in text
    assert "**" not in text and "[the plan]" not in text and "<strong>" not in text
    assert "<b>code</b> and <script>alert(1)</script>" in text


def test_a_tampered_unsubscribe_token_is_refused(client, student):
    token = unsubscribe_token(student.pk)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    for bad in (tampered, "nonsense", unsubscribe_token(uuid.uuid4())):
        assert client.post(f"/notifications/unsubscribe/{bad}/").status_code == 400
        assert client.get(f"/notifications/unsubscribe/{bad}/").status_code == 400
    assert preferences_for(student).email_enabled is True


def test_messages_read_before_the_task_runs_send_nothing(smtp, direct, assigned):
    mentor, student = assigned
    send(mentor, direct, "one")
    last = send(mentor, direct, "two")
    services.mark_read(user=student, conversation_id=direct.pk, up_to_seq=last.seq)

    assert run_task(direct, student) is False
    assert not Delivery.objects.filter(user=student).exists()
    assert smtp.messages() == []


def test_partly_read_sends_only_the_unread_rest(smtp, direct, assigned):
    mentor, student = assigned
    first = send(mentor, direct, "already seen")
    send(mentor, direct, "not seen yet")
    services.mark_read(user=student, conversation_id=direct.pk, up_to_seq=first.seq)

    assert run_task(direct, student) is True
    [message] = smtp.wait_for(1)
    text = body(message, "plain")
    assert "not seen yet" in text and "already seen" not in text
    assert message["Subject"].endswith("sent you a message")


def test_a_muted_conversation_sends_nothing(smtp, direct, assigned):
    mentor, student = assigned
    ConversationMute.objects.create(user=student, conversation=direct, until=None)
    send(mentor, direct, "hello?")
    assert run_task(direct, student) is False

    # A mute that ended no longer silences.
    ConversationMute.objects.filter(user=student).update(
        until=timezone.now() - dt.timedelta(minutes=1)
    )
    assert run_task(direct, student) is True
    assert len(smtp.wait_for(1)) == 1


def test_email_switched_off_for_the_kind_sends_nothing(smtp, direct, assigned):
    mentor, student = assigned
    preference = preferences_for(student)
    preference.kinds = {"direct": {"email": False}}
    preference.save()
    send(mentor, direct, "hello?")
    assert run_task(direct, student) is False
    assert smtp.messages() == []


def test_own_and_deleted_messages_are_not_mailed(smtp, direct, assigned):
    mentor, student = assigned
    send(student, direct, "my own words")
    gone = send(mentor, direct, "oops")
    services.delete_message(actor=mentor, message_id=gone.pk)
    assert run_task(direct, student) is False
    assert smtp.messages() == []


def test_one_email_per_conversation_per_window(smtp, direct, assigned):
    mentor, student = assigned
    send(mentor, direct, "one")
    send(mentor, direct, "two")
    # Two messages, two tasks: one email.
    assert run_task(direct, student) is True
    assert run_task(direct, student) is False
    assert len(smtp.wait_for(1)) == 1
    assert Delivery.objects.filter(user=student, channel="email").count() == 1

    # A message after that email is a new window: an email of its own with
    # only the new message, though the earlier ones are still unread.
    send(mentor, direct, "three")
    assert run_task(direct, student) is True
    first, second = smtp.wait_for(2)
    assert "three" in body(second, "plain")
    assert "one" not in body(second, "plain")
    assert Delivery.objects.filter(user=student, channel="email").count() == 2


def test_group_subject_names_the_group(smtp, assigned, make_user):
    mentor, student = assigned
    group = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student], title="Capstone"
    )
    preference = preferences_for(student)
    preference.kinds = {"group": {"email": True}}
    preference.save()
    send(mentor, group, "Welcome!")
    assert run_task(group, student) is True
    [message] = smtp.wait_for(1)
    assert message["Subject"] == "New messages in Capstone"


def test_a_mention_in_a_quiet_group_is_mailed_and_named(smtp, assigned):
    mentor, student = assigned
    mentor.display_name = "Maria Mentor"
    mentor.save()
    group = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student], title="Capstone"
    )
    send(mentor, group, "Just chatting")  # groups send no email by default
    services.send_message(
        sender=mentor,
        conversation_id=group.pk,
        content=f"@{student.display_name} what do you think?",
        client_id=uuid.uuid4(),
    )
    assert run_task(group, student) is True
    [message] = smtp.wait_for(1)
    assert message["Subject"] == "Maria Mentor mentioned you in Capstone"
    text = body(message, "plain")
    assert "what do you think?" in text and "Just chatting" not in text


def test_at_all_in_a_quiet_group_is_mailed_as_a_mention(smtp, assigned):
    """The fan-out counts ``@all`` as a mention of every member and schedules
    the email; the email agrees (groups alone send none by default)."""
    mentor, student = assigned
    mentor.display_name = "Maria Mentor"
    mentor.save()
    group = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student], title="Capstone"
    )
    send(mentor, group, "@all the room moves to B12")
    assert run_task(group, student) is True
    [message] = smtp.wait_for(1)
    assert message["Subject"] == "Maria Mentor mentioned you in Capstone"
    assert "the room moves to B12" in body(message, "plain")


def test_busy_groups_send_no_email_by_default(smtp, assigned):
    mentor, student = assigned
    group = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student], title="Busy"
    )
    send(mentor, group, "Welcome!")
    assert run_task(group, student) is False
    assert smtp.messages() == []


def test_a_message_younger_than_the_delay_waits(smtp, settings, direct, assigned):
    mentor, student = assigned
    settings.PARLEY_MISSED_EMAIL_DELAY_SECONDS = 120
    message = send(mentor, direct, "just now")
    assert run_task(direct, student) is False
    # Two minutes later (the message's time moved back instead of the clock).
    type(message).objects.filter(pk=message.pk).update(
        sent_at=timezone.now() - dt.timedelta(seconds=121)
    )
    assert run_task(direct, student) is True
    assert len(smtp.wait_for(1)) == 1


# --- Quiet hours -----------------------------------------------------------------


@pytest.mark.services
def test_quiet_hours_hold_mail_until_they_end(smtp, direct, assigned, on_the_broker):
    """Inside quiet hours nothing is sent and the check is queued again for
    their end (a real broker message with that ETA); run then, it sends."""
    app = on_the_broker
    app.control.purge()
    mentor, student = assigned
    student.time_zone = "Asia/Tokyo"
    student.save()
    now_local = timezone.now().astimezone(dt.timezone(dt.timedelta(hours=9)))
    start = (now_local - dt.timedelta(hours=1)).time().replace(second=0, microsecond=0)
    end = (now_local + dt.timedelta(hours=2)).time().replace(second=0, microsecond=0)
    NotificationPreference.objects.create(
        user=student, quiet_hours_start=start, quiet_hours_end=end
    )
    send(mentor, direct, "late-night question")

    assert run_task(direct, student) is False
    assert smtp.messages() == []
    assert not Delivery.objects.filter(user=student).exists()

    [held] = broker_messages(app)
    assert held.headers["task"] == "notifications.tasks.send_missed_messages"
    args, kwargs, _ = held.payload
    assert kwargs == {"conversation_id": str(direct.pk), "user_id": str(student.pk)}
    eta = dt.datetime.fromisoformat(held.headers["eta"])
    expected_end = (now_local + dt.timedelta(hours=2)).replace(second=0, microsecond=0)
    assert eta == expected_end

    # The quiet hours are over when the held task runs (the hours are moved
    # instead of the clock): it sends.
    NotificationPreference.objects.filter(user=student).update(
        quiet_hours_start=end, quiet_hours_end=(now_local + dt.timedelta(hours=3)).time()
    )
    assert tasks.send_missed_messages(*args, **kwargs) is True
    [message] = smtp.wait_for(1)
    assert "late-night question" in body(message, "plain")


# --- Digests -------------------------------------------------------------------------


def _digest_due(user, *, at, frequency=DigestFrequency.DAILY, weekday=None):
    return NotificationPreference.objects.create(
        user=user,
        digest=frequency,
        digest_hour=at.astimezone(dt.UTC).hour,
        digest_weekday=at.astimezone(dt.UTC).weekday() if weekday is None else weekday,
    )


def test_digest_lists_unread_conversations_once(smtp, direct, assigned):
    mentor, student = assigned
    at = timezone.now()
    _digest_due(student, at=at)
    _digest_due(mentor, at=at)  # nothing unread: no digest
    send(mentor, direct, "first")
    send(mentor, direct, "the *latest* thing I said")

    assert digests.send_due_digests(at=at) == 1
    [message] = smtp.wait_for(1)
    assert message["To"] == student.email
    assert message["Subject"] == "Your daily Parley digest: 2 unread messages"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text, html = body(message, "plain"), body(message, "html")
    assert "2 unread" in text and "the latest thing I said" in text
    assert "the <em>latest</em> thing I said" in html
    assert "*latest*" not in text
    assert f"/c/{direct.pk}/" in text
    assert Delivery.objects.get(user=student).key == f"digest:daily:{at.date()}"

    # A second run in the same hour (beat runs every 15 minutes) sends nothing.
    assert digests.send_due_digests(at=at + dt.timedelta(minutes=15)) == 0
    assert len(smtp.messages()) == 1


def test_digest_only_when_there_is_something_to_say(smtp, direct, assigned):
    mentor, student = assigned
    at = timezone.now()
    _digest_due(student, at=at)
    last = send(mentor, direct, "read already")
    services.mark_read(user=student, conversation_id=direct.pk, up_to_seq=last.seq)
    assert digests.send_due_digests(at=at) == 0
    assert smtp.messages() == []
    assert not Delivery.objects.exists()


def test_digest_follows_hour_weekday_and_switches(smtp, direct, assigned):
    mentor, student = assigned
    at = timezone.now()
    send(mentor, direct, "unread")
    preference = _digest_due(
        student, at=at, frequency=DigestFrequency.WEEKLY, weekday=(at.weekday() + 1) % 7
    )
    assert digests.send_due_digests(at=at) == 0  # another weekday
    assert digests.send_due_digests(at=at + dt.timedelta(hours=1)) == 0  # another hour
    preference.digest = DigestFrequency.OFF
    preference.save()
    assert digests.send_due_digests(at=at + dt.timedelta(days=1)) == 0  # off
    preference.digest = DigestFrequency.WEEKLY
    preference.email_enabled = False
    preference.save()
    assert digests.send_due_digests(at=at + dt.timedelta(days=1)) == 0  # email off
    assert smtp.messages() == []
    preference.email_enabled = True
    preference.save()
    assert digests.send_due_digests(at=at + dt.timedelta(days=1)) == 1  # its weekday
    [message] = smtp.wait_for(1)
    assert message["Subject"] == "Your weekly Parley digest: 1 unread message"


def test_digest_hour_is_the_persons_local_hour(smtp, direct, assigned):
    mentor, student = assigned
    student.time_zone = "America/New_York"
    student.save()
    send(mentor, direct, "unread")
    at = dt.datetime(2026, 7, 1, 12, 0, tzinfo=dt.UTC)  # 08:00 in New York (EDT)
    NotificationPreference.objects.create(user=student, digest_hour=8)
    assert digests.send_due_digests(at=at.replace(hour=8)) == 0  # 04:00 there
    assert digests.send_due_digests(at=at) == 1
    assert Delivery.objects.get(user=student).key == "digest:daily:2026-07-01"


@pytest.mark.services
def test_schedule_for_queues_one_check_per_person_after_the_delay(
    settings, direct, assigned, on_the_broker
):
    from notifications.services import missed_email

    app = on_the_broker
    app.control.purge()
    settings.PARLEY_MISSED_EMAIL_DELAY_SECONDS = 120
    mentor, student = assigned
    before = timezone.now()
    missed_email.schedule_for(
        conversation_id=direct.pk, user_ids=[student.pk, str(student.pk), mentor.pk]
    )
    queued = broker_messages(app)
    assert sorted(m.payload[1]["user_id"] for m in queued) == sorted(
        [str(student.pk), str(mentor.pk)]
    )
    for message in queued:
        assert message.headers["task"] == "notifications.tasks.send_missed_messages"
        assert message.payload[1]["conversation_id"] == str(direct.pk)
        eta = dt.datetime.fromisoformat(message.headers["eta"])
        assert eta >= before + dt.timedelta(seconds=120)


def test_a_mail_server_that_stops_answering_is_given_up_on(tmp_path, settings, direct, assigned):
    """EMAIL_TIMEOUT bounds each SMTP call: a server that never answers
    DATA fails the send, recorded as failed, and nothing is retried."""
    server = MailServer(tmp_path / "slow", data_delay=600)
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = server.port
        settings.EMAIL_TIMEOUT = 1
        settings.PARLEY_MISSED_EMAIL_DELAY_SECONDS = 0
        mentor, student = assigned
        send(mentor, direct, "hello")
        assert run_task(direct, student) is False
        delivery = Delivery.objects.get(user=student)
        assert delivery.state == DeliveryState.FAILED
        assert "timed out" in delivery.error
        assert run_task(direct, student) is False  # at most once: no second try
        assert Delivery.objects.filter(user=student).count() == 1
    finally:
        server.stop()
