"""Web Push delivery against a push service the test runs itself: a small
HTTP server on 127.0.0.1 that records each POST and answers what the test
scripted. Each body is decrypted with the subscription's own private key
(http_ece, aes128gcm) and the VAPID token is verified with the server's
public key, as a real push service and browser would."""

import base64
import contextlib
import datetime as dt
import json
import os
import socket
import stat
import threading
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import http_ece
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from django.utils import timezone

from accounts.models import Role
from config.celery import app as celery_app
from messaging import services as messaging_services
from messaging.models import ConversationType
from notifications import vapid
from notifications.models import (
    Delivery,
    DeliveryState,
    Kind,
    Notification,
    NotificationPreference,
    PushSubscription,
)
from notifications.services import push

pytestmark = [pytest.mark.django_db]


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# --- A push service ---------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict  # names in lowercase
    body: bytes


@dataclass
class PushService:
    """Records every POST; answers each path from its script (a queue of
    (status, headers)), 201 once the script runs out."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    scripts: dict = field(default_factory=lambda: defaultdict(deque))
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def script(self, path: str, *answers: tuple[int, dict]) -> None:
        self.scripts[path].extend(answers)

    def to(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]


@pytest.fixture
def push_service():
    service = PushService()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with service.lock:
                service.received.append(
                    Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                )
                queued = service.scripts[self.path]
                status, headers = queued.popleft() if queued else (201, {})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield service
    server.shutdown()
    server.server_close()


# --- A browser's subscription ----------------------------------------------------


@dataclass
class Browser:
    """What a browser keeps for one subscription: its key pair and secret."""

    private_key: ec.EllipticCurvePrivateKey
    auth: bytes

    @classmethod
    def new(cls) -> "Browser":
        return cls(ec.generate_private_key(ec.SECP256R1()), os.urandom(16))

    @property
    def p256dh(self) -> str:
        return b64url(
            self.private_key.public_key().public_bytes(
                serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
            )
        )

    def decrypt(self, body: bytes) -> dict:
        plain = http_ece.decrypt(
            body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm"
        )
        return json.loads(plain)


@pytest.fixture(autouse=True)
def vapid_key(tmp_path, settings):
    """A key file of the test's own (the embedded default makes one)."""
    settings.VAPID_PRIVATE_KEY = ""
    settings.VAPID_KEY_FILE = str(tmp_path / "var" / "vapid.pem")
    vapid.vapid.cache_clear()
    yield tmp_path / "var" / "vapid.pem"
    vapid.vapid.cache_clear()


@pytest.fixture
def subscribe(push_service):
    """``subscribe(user)``: a new browser of ``user`` subscribed through the
    service, its endpoint on the test's push service (or at ``origin``)."""

    def make(user, *, user_agent="", origin=None):
        browser = Browser.new()
        subscription, created = push.subscribe(
            user=user,
            endpoint=f"{origin or push_service.origin}/push/{uuid.uuid4().hex}",
            p256dh=browser.p256dh,
            auth=b64url(browser.auth),
            user_agent=user_agent,
        )
        assert created
        return subscription, browser

    return make


def path_of(subscription) -> str:
    return urlsplit(subscription.endpoint).path


@pytest.fixture
def notify(mentor, student):
    """A small factory of notification rows, as the fan-out makes them:
    ``notify(user, kind, content=…)`` records a message of the mentor (the
    student's when ``user`` is the mentor) in their direct conversation, or
    in their group, and a notification of it for ``user``."""
    conversations = {}

    def make(user, kind=Kind.DIRECT, *, content="Are you free at 3?", group=False):
        actor = student if user == mentor else mentor
        if group not in conversations:
            conversations[group] = messaging_services.create_conversation(
                creator=mentor,
                kind=ConversationType.GROUP if group else ConversationType.DIRECT,
                participants=[student],
                title="Capstone group" if group else "",
            )
        conversation = conversations[group]
        message = messaging_services.send_message(
            sender=actor, conversation_id=conversation.pk, content=content, client_id=uuid.uuid4()
        ).message
        return Notification.objects.create(
            user=user,
            kind=kind,
            conversation=conversation,
            message=message,
            actor=actor,
            data={"excerpt": content},
        )

    return make


@pytest.fixture
def mentor(make_user):
    return make_user(Role.MENTOR, name="Maria Mentor")


@pytest.fixture
def student(make_user, mentor):
    from accounts.models import MentorAssignment

    student = make_user(Role.STUDENT, name="Sam Student")
    MentorAssignment.objects.create(mentor=mentor, student=student)
    return student


def deliveries(subscription=None, **filters):
    rows = Delivery.objects.filter(channel="push", **filters)
    if subscription is not None:
        rows = rows.filter(key__endswith=f":{subscription.pk}")
    return list(rows)


def verify_vapid(received: Received, origin: str) -> dict:
    """The JWT of RFC 8292's ``Authorization: vapid t=…, k=…``, verified
    with ``k``, which must be the server's public key; returns its claims."""
    scheme, _, params = received.headers["authorization"].partition(" ")
    assert scheme == "vapid"
    parts = dict(p.strip().split("=", 1) for p in params.split(","))
    assert parts["k"] == vapid.public_key()
    header, claims, signature = parts["t"].split(".")
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), unb64url(parts["k"]))
    raw = unb64url(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public.verify(der, f"{header}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    assert json.loads(unb64url(header))["alg"] == "ES256"
    decoded = json.loads(unb64url(claims))
    assert decoded["aud"] == origin
    assert decoded["sub"].startswith("mailto:")
    assert decoded["exp"] > dt.datetime.now(dt.UTC).timestamp()
    return decoded


# --- Sending ------------------------------------------------------------------------


def test_payload_is_encrypted_for_the_device_and_signed(
    push_service, subscribe, notify, student, mentor, settings
):
    settings.PUSH = {**settings.PUSH, "TTL_SECONDS": 3600}
    phone, phone_keys = subscribe(student)
    laptop, laptop_keys = subscribe(student)
    notification = notify(student, content="Are   you free\nat 3?")

    push.deliver_notifications(notification_ids=[str(notification.pk)])

    for subscription, keys in ((phone, phone_keys), (laptop, laptop_keys)):
        [received] = push_service.to(path_of(subscription))
        assert received.headers["content-encoding"] == "aes128gcm"
        assert received.headers["ttl"] == "3600"
        assert received.headers["urgency"] == "high"
        verify_vapid(received, push_service.origin)
        assert keys.decrypt(received.body) == {
            "title": "Maria Mentor",
            "body": "Are you free at 3?",
            "url": f"/c/{notification.conversation_id}/",
            "tag": f"conversation:{notification.conversation_id}",
            "conversation_id": str(notification.conversation_id),
        }
        # The other device's keys cannot read it.
        other = laptop_keys if keys is phone_keys else phone_keys
        with pytest.raises(Exception):  # noqa: B017 (http_ece raises InvalidTag)
            other.decrypt(received.body)
        [delivery] = deliveries(subscription)
        assert (delivery.state, delivery.attempts) == (DeliveryState.SENT, 1)
        assert delivery.key == f"notification:{notification.pk}:{subscription.pk}"
        subscription.refresh_from_db()
        assert subscription.last_success_at is not None


def test_group_message_is_normal_urgency_and_names_the_group(
    push_service, subscribe, notify, student
):
    subscription, keys = subscribe(student)
    NotificationPreference.objects.create(
        user=student, kinds={"group": {"push": True, "in_app": True, "email": False}}
    )
    notification = notify(student, Kind.GROUP, group=True, content="Slides are up")
    push.deliver_notifications(notification_ids=[str(notification.pk)])
    [received] = push_service.to(path_of(subscription))
    assert received.headers["urgency"] == "normal"
    payload = keys.decrypt(received.body)
    assert (payload["title"], payload["body"]) == (
        "Maria Mentor in Capstone group",
        "Slides are up",
    )


def test_lock_screen_without_content(push_service, subscribe, notify, student):
    NotificationPreference.objects.create(user=student, push_show_content=False)
    subscription, keys = subscribe(student)
    notification = notify(student, content="My grades are attached")
    push.deliver_notifications(notification_ids=[str(notification.pk)])
    payload = keys.decrypt(push_service.to(path_of(subscription))[0].body)
    assert payload["body"] == "New message from Maria Mentor"
    assert "grades" not in json.dumps(payload)


def test_a_redelivered_task_sends_once(push_service, subscribe, notify, student):
    subscription, _ = subscribe(student)
    notification = notify(student)
    for _ in range(3):
        push.deliver_notifications(notification_ids=[str(notification.pk)])
    assert len(push_service.to(path_of(subscription))) == 1
    assert len(deliveries(subscription)) == 1


def test_gone_subscription_is_removed(push_service, subscribe, notify, student):
    gone, _ = subscribe(student)
    kept, _ = subscribe(student)
    push_service.script(path_of(gone), (410, {}))
    notification = notify(student)
    push.deliver_notifications(notification_ids=[str(notification.pk)])
    assert not PushSubscription.objects.filter(pk=gone.pk).exists()
    assert PushSubscription.objects.filter(pk=kept.pk).exists()
    assert len(push_service.to(path_of(kept))) == 1
    [failed] = Delivery.objects.filter(key__endswith=f":{gone.pk}")
    assert failed.state == DeliveryState.FAILED and "gone" in failed.error


def test_429_with_retry_after_is_retried_then_delivered_once(
    push_service, subscribe, notify, student
):
    subscription, keys = subscribe(student)
    push_service.script(path_of(subscription), (429, {"Retry-After": "1"}))
    notification = notify(student)
    push.deliver_notifications(notification_ids=[str(notification.pk)])
    first, second = push_service.to(path_of(subscription))
    assert keys.decrypt(first.body) == keys.decrypt(second.body)
    [delivery] = deliveries(subscription)
    assert (delivery.state, delivery.attempts) == (DeliveryState.SENT, 2)
    # Redelivered afterwards: nothing more is sent.
    push.deliver_notifications(notification_ids=[str(notification.pk)])
    assert len(push_service.to(path_of(subscription))) == 2


def test_retry_after_beyond_the_limit_is_not_waited_for(
    push_service, subscribe, notify, student, settings
):
    settings.PUSH = {**settings.PUSH, "MAX_RETRY_DELAY_SECONDS": 5}
    subscription, _ = subscribe(student)
    push_service.script(path_of(subscription), (429, {"Retry-After": "3600"}))
    push.deliver_notifications(notification_ids=[str(notify(student).pk)])
    assert len(push_service.to(path_of(subscription))) == 1
    [delivery] = deliveries(subscription)
    assert delivery.state == DeliveryState.FAILED and "429" in delivery.error


def test_server_errors_are_retried_up_to_the_limit(
    push_service, subscribe, notify, student, settings
):
    settings.PUSH = {**settings.PUSH, "MAX_ATTEMPTS": 3}
    subscription, _ = subscribe(student)
    push_service.script(path_of(subscription), *[(503, {"Retry-After": "0"})] * 5)
    push.deliver_notifications(notification_ids=[str(notify(student).pk)])
    assert len(push_service.to(path_of(subscription))) == 3
    [delivery] = deliveries(subscription)
    assert (delivery.state, delivery.attempts) == (DeliveryState.FAILED, 3)
    assert PushSubscription.objects.filter(pk=subscription.pk).exists()


def test_a_device_that_ran_out_of_retries_rests(push_service, subscribe, notify, student, settings):
    """Its next notifications are not sent to it until the rest is over, so
    a device that never takes a push costs one delivery's attempts."""
    settings.PUSH = {**settings.PUSH, "MAX_ATTEMPTS": 2}
    subscription, _ = subscribe(student)
    push_service.script(path_of(subscription), *[(503, {"Retry-After": "0"})] * 10)
    first, second = notify(student), notify(student)
    push.deliver_notifications(notification_ids=[str(first.pk), str(second.pk)])
    assert len(push_service.to(path_of(subscription))) == 2  # the first's two attempts
    states = {d.key.split(":")[1]: (d.state, d.attempts, d.error) for d in deliveries()}
    assert states[str(first.pk)][:2] == (DeliveryState.FAILED, 2)
    assert states[str(second.pk)] == (
        DeliveryState.FAILED,
        0,
        "device resting after sends that failed",
    )
    resting = PushSubscription.objects.get(pk=subscription.pk).resting_until
    assert resting is not None and resting > timezone.now()
    # Once the rest is over it is sent to again; a success ends the rest.
    PushSubscription.objects.filter(pk=subscription.pk).update(
        resting_until=timezone.now() - dt.timedelta(seconds=1)
    )
    push_service.scripts[path_of(subscription)].clear()
    push.deliver_notifications(notification_ids=[str(notify(student).pk)])
    assert len(push_service.to(path_of(subscription))) == 3
    assert PushSubscription.objects.get(pk=subscription.pk).resting_until is None


def test_one_task_waits_on_failing_devices_within_its_budget(
    push_service, subscribe, notify, student, settings, monkeypatch
):
    """Twenty devices each asking to be retried in 10 s would hold a worker
    half an hour per notification: the task's waits are bounded in all."""
    waits: list[float] = []
    monkeypatch.setattr(push.time, "sleep", waits.append)
    settings.PUSH = {**settings.PUSH, "TASK_RETRY_SECONDS": 25}
    devices = [subscribe(student)[0] for _ in range(3)]
    for device in devices:
        push_service.script(path_of(device), *[(429, {"Retry-After": "10"})] * 10)
    push.deliver_notifications(notification_ids=[str(notify(student).pk)])
    assert sum(waits) <= 25 and waits == [10, 10]
    assert [len(push_service.to(path_of(d))) for d in devices] == [3, 1, 1]
    assert {d.state for d in deliveries()} == {DeliveryState.FAILED}


def test_other_client_errors_fail_without_retry(push_service, subscribe, notify, student):
    subscription, _ = subscribe(student)
    push_service.script(path_of(subscription), (400, {}))
    push.deliver_notifications(notification_ids=[str(notify(student).pk)])
    assert len(push_service.to(path_of(subscription))) == 1
    [delivery] = deliveries(subscription)
    assert delivery.state == DeliveryState.FAILED and delivery.error.startswith("400")
    assert PushSubscription.objects.filter(pk=subscription.pk).exists()


def test_nothing_for_read_notifications_or_push_switched_off(
    push_service, subscribe, notify, student, mentor
):
    student_device, _ = subscribe(student)
    mentor_device, _ = subscribe(mentor)
    read = notify(student)
    Notification.objects.filter(pk=read.pk).update(read_at=dt.datetime.now(dt.UTC))
    NotificationPreference.objects.create(user=mentor, push_enabled=False)
    off = notify(mentor)
    push.deliver_notifications(notification_ids=[str(read.pk), str(off.pk)])
    assert push_service.received == []
    assert deliveries() == []


# --- Enqueueing ---------------------------------------------------------------------


@pytest.fixture
def eager_celery():
    """Tasks run in this process (the embedded profile's way), so what
    ``enqueue_for`` queues is delivered to the test's push service."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


def test_enqueue_skips_quiet_hours_and_people_without_devices(
    push_service,
    subscribe,
    notify,
    student,
    mentor,
    make_user,
    eager_celery,
    django_capture_on_commit_callbacks,
):
    awake, _ = subscribe(student)
    asleep_device, _ = subscribe(mentor)
    # Quiet all day but the minute before midnight, in the mentor's own zone.
    mentor.time_zone = "Pacific/Auckland"
    mentor.save(update_fields=["time_zone"])
    NotificationPreference.objects.create(
        user=mentor, quiet_hours_start=dt.time(0, 0), quiet_hours_end=dt.time(23, 59)
    )
    now_there = dt.datetime.now(dt.UTC).astimezone(ZoneInfo("Pacific/Auckland"))
    if now_there.time() >= dt.time(23, 59):
        pytest.skip("the one minute outside the quiet hours")
    nobody_device = make_user(Role.STUDENT)
    for_student = notify(student)
    for_mentor = notify(mentor)
    without_device = notify(nobody_device)

    with django_capture_on_commit_callbacks(execute=True) as queued:
        push.enqueue_for([for_student, for_mentor, without_device])

    assert len(queued) == 1
    assert len(push_service.to(path_of(awake))) == 1
    assert push_service.to(path_of(asleep_device)) == []
    assert deliveries(asleep_device) == []


def test_enqueue_sends_chunks_not_one_task_per_person(
    push_service,
    subscribe,
    notify,
    make_user,
    eager_celery,
    settings,
    mentor,
    django_capture_on_commit_callbacks,
):
    settings.PUSH = {**settings.PUSH, "TASK_CHUNK": 2}
    people = [make_user(Role.STUDENT) for _ in range(5)]
    devices = [subscribe(person)[0] for person in people]
    notifications = [notify(person) for person in people]

    with django_capture_on_commit_callbacks(execute=True) as queued:
        push.enqueue_for(notifications)

    assert len(queued) == 3  # 2 + 2 + 1
    for device in devices:
        assert len(push_service.to(path_of(device))) == 1


# --- Keys -----------------------------------------------------------------------------


def test_embedded_key_is_made_once_and_kept_private(vapid_key):
    assert not vapid_key.exists()
    first = vapid.public_key()
    assert stat.S_IMODE(vapid_key.stat().st_mode) == 0o600
    vapid.vapid.cache_clear()
    assert vapid.public_key() == first
    assert len(unb64url(first)) == 65 and unb64url(first)[0] == 4


def test_production_key_from_the_environment(settings):
    key = ec.generate_private_key(ec.SECP256R1())
    raw = b64url(key.private_numbers().private_value.to_bytes(32, "big"))
    public = b64url(
        key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    for given in (raw, pem):
        settings.VAPID_PRIVATE_KEY = given
        settings.VAPID_PUBLIC_KEY = public
        vapid.vapid.cache_clear()
        assert vapid.public_key() == public
    settings.VAPID_PRIVATE_KEY = ""
    settings.VAPID_KEY_FILE = ""
    vapid.vapid.cache_clear()
    with pytest.raises(vapid.PushNotConfigured):
        vapid.public_key()


def test_device_names():
    chrome_linux = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0.0.0 Safari/537.36"
    )
    firefox_android = "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0"
    safari_iphone = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
    )
    assert push.device_name(chrome_linux) == "Chrome on Linux"
    assert push.device_name(firefox_android) == "Firefox on Android"
    assert push.device_name(safari_iphone) == "Safari on iOS"
    assert push.device_name("") == ""


def test_a_send_cut_short_by_a_crash_is_made_again(push_service, subscribe, notify, student):
    """A worker killed between writing its claim and hearing the push
    service's answer leaves the row pending: the redelivered task sends
    (the one window where a device may get a push twice; the tag makes the
    browser show it once) and settles the row."""
    subscription, _ = subscribe(student)
    notification = notify(student)
    Delivery.objects.create(
        user=student,
        channel="push",
        key=f"notification:{notification.pk}:{subscription.pk}",
        attempts=1,
    )
    push.deliver_notifications(notification_ids=[str(notification.pk)])
    assert len(push_service.to(path_of(subscription))) == 1
    [delivery] = deliveries(subscription)
    assert (delivery.state, delivery.attempts) == (DeliveryState.SENT, 2)


def test_nothing_is_sent_without_a_vapid_key(push_service, subscribe, notify, student, settings):
    subscription, _ = subscribe(student)
    notification = notify(student)
    settings.VAPID_KEY_FILE = ""
    vapid.vapid.cache_clear()
    push.deliver_notifications(notification_ids=[str(notification.pk)])
    assert push_service.received == []
    assert deliveries() == []


# --- The endpoint at send time ---------------------------------------------------------


def test_an_endpoint_that_now_leads_inside_the_network_is_refused_when_sent_to(
    push_service, subscribe, notify, student, settings
):
    """Checked when saved, an endpoint's name may later resolve to a private
    address (DNS rebinding, or a name that changed hands): the send checks
    the address again, sends nothing there, and ends the subscription."""
    subscription, _ = subscribe(student)
    kept, _ = subscribe(student)
    # From here the loopback interface is inside the network, as in production.
    settings.PUSH = {**settings.PUSH, "ALLOW_LOOPBACK_HTTP": False}
    push.deliver_notifications(notification_ids=[str(notify(student).pk)])
    assert push_service.received == []
    for refused in (subscription, kept):
        [delivery] = deliveries(refused)
        assert delivery.state == DeliveryState.FAILED
        assert delivery.error.startswith("endpoint refused: address"), delivery.error
        assert delivery.attempts == 1
    assert not PushSubscription.objects.filter(pk__in=[subscription.pk, kept.pk]).exists()


@pytest.fixture
def trickling_push_service():
    """A push service that answers the status line, then one header line
    every 0.2 s until the test ends (at most 30 s): each read returns well
    within any per-read timeout."""
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(30)

    def serve():
        with contextlib.suppress(OSError):
            connection, _ = listener.accept()
            with connection:
                connection.recv(65536)
                connection.sendall(b"HTTP/1.1 201 Created\r\n")
                for n in range(150):
                    if stop.wait(0.2):
                        break
                    connection.sendall(f"X-Slow-{n}: 1\r\n".encode())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    stop.set()
    thread.join(5)
    listener.close()


def test_a_push_service_answering_a_byte_at_a_time_is_cut_off_at_the_deadline(
    trickling_push_service, subscribe, notify, student, settings
):
    """The push's timeout bounds the whole call, not each read: a service
    that trickles its answer ends the attempt at the deadline (a timeout,
    retried like no answer), and the worker goes on."""
    settings.PUSH = {**settings.PUSH, "TIMEOUT_SECONDS": 1.0, "MAX_ATTEMPTS": 1}
    subscription, _ = subscribe(student, origin=trickling_push_service)
    push.deliver_notifications(notification_ids=[str(notify(student).pk)])
    [delivery] = deliveries(subscription)
    assert delivery.state == DeliveryState.FAILED
    assert "timeout" in delivery.error, delivery.error
    # A timeout is no reason to end the subscription.
    assert PushSubscription.objects.filter(pk=subscription.pk).exists()
