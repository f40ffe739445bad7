"""Web Push: a person's devices (subscribe, unsubscribe) and sending them
notifications, encrypted (aes128gcm, RFC 8291) and signed (VAPID, RFC 8292)
with pywebpush.

Every send to a device writes its ``Delivery`` row first (key
``notification:<id>:<subscription id>``), so a retried or redelivered task
sends nothing twice. The push service's answer decides the rest: 2xx sent;
404/410 the device is gone (its subscription is deleted); 429, 5xx or no
answer in time are retried here, in a bounded loop that honours
``Retry-After`` (docs/operations.md, "Web Push"); any other status fails the
delivery. The send goes through ``push_transport``: public addresses only,
checked when it is made, and one deadline for the whole call; an endpoint
refused there (its name now leads inside the network) fails the delivery
and its subscription is deleted.
"""

import datetime as dt
import email.utils
import functools
import ipaddress
import json
import logging
import math
import random
import socket
import time
from dataclasses import dataclass
from urllib.parse import urlsplit
from uuid import UUID

from celery import Task
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.locale import speaking_to
from accounts.models import User
from config import broker
from messaging.errors import InvalidInput
from messaging.support.models import SupportStatus
from messaging.threads import net
from notifications import rules, vapid
from notifications.models import (
    Channel,
    Delivery,
    DeliveryState,
    Kind,
    Notification,
    NotificationPreference,
    PushSubscription,
)
from notifications.selectors import push as selectors
from notifications.services import push_transport
from notifications.services.push_transport import GuardedSession

logger = logging.getLogger(__name__)

MAX_ENDPOINT_CHARS = 1000
P256DH_BYTES = 65  # an uncompressed P-256 point
AUTH_BYTES = 16
EXCERPT_CHARS = 200
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "[::1]", "::1"}


# --- Subscriptions --------------------------------------------------------------


def _decoded(name: str, text: str, size: int) -> bytes:
    try:
        raw = vapid.b64url_decode(text)
    except ValueError:
        raise InvalidInput(_("keys.%(name)s must be base64url.") % {"name": name}) from None
    if len(raw) != size:
        raise InvalidInput(
            _("keys.%(name)s must encode %(size)s bytes.") % {"name": name, "size": size}
        )
    return raw


def check_endpoint(endpoint: str) -> None:
    """Refuse a push service URL the server must not post to: anything but
    https to a public host name or address (plain http to the loopback
    interface is allowed with ``PUSH["ALLOW_LOOPBACK_HTTP"]``, DEBUG only).
    The server makes requests to this URL, so it must not reach inside the
    network it runs in."""
    if len(endpoint) > MAX_ENDPOINT_CHARS:
        raise InvalidInput(
            _("endpoint is at most %(count)s characters.") % {"count": MAX_ENDPOINT_CHARS}
        )
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname or ""
        parts.port  # noqa: B018 (a bad port raises)
    except ValueError:
        raise InvalidInput(_("endpoint is not a URL.")) from None
    if parts.username or parts.password or not host or any(c.isspace() for c in endpoint):
        raise InvalidInput(_("endpoint is not a push service URL."))
    loopback_http = (
        parts.scheme == "http"
        and settings.PUSH["ALLOW_LOOPBACK_HTTP"]
        and (host in _LOOPBACK_NAMES or _is_loopback(host))
    )
    if loopback_http:
        return
    if parts.scheme != "https":
        raise InvalidInput(_("endpoint must be an https URL."))
    # "localhost." is localhost: a final dot only says the name is complete.
    host = host.rstrip(".")
    if host in _LOOPBACK_NAMES or host.endswith((".localhost", ".local", ".internal")):
        raise InvalidInput(_("endpoint must be a public push service."))
    address = _written_address(host)
    if address is None:
        if "." not in host:
            raise InvalidInput(_("endpoint must be a public push service."))
        # A name: what it resolves to is checked at every delivery (net.post).
        return
    if not net.is_public_address(address):
        raise InvalidInput(_("endpoint must be a public push service."))


def _written_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address ``host`` is written as, if it is one: the standard forms,
    and the shorthand IPv4 forms that resolvers read as addresses too
    ("127.1", "0x7f.0.0.1", "2130706433"); None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    parts = host.split(".")
    if all(p.isdigit() or (p[:2].lower() == "0x" and p[2:].isalnum()) for p in parts if p):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def device_name(user_agent: str) -> str:
    """ "Chrome on Android" from a browser's User-Agent; "" when unknown."""
    ua = user_agent or ""
    browser = next(
        (
            name
            for token, name in (
                ("Edg/", "Edge"),
                ("OPR/", "Opera"),
                ("SamsungBrowser/", "Samsung Internet"),
                ("Firefox/", "Firefox"),
                ("Chrome/", "Chrome"),
                ("Chromium/", "Chromium"),
                ("Safari/", "Safari"),
            )
            if token in ua
        ),
        "",
    )
    system = next(
        (
            name
            for token, name in (
                ("Android", "Android"),
                ("iPhone", "iOS"),
                ("iPad", "iPadOS"),
                ("CrOS", "ChromeOS"),
                ("Windows", "Windows"),
                ("Mac OS X", "macOS"),
                ("Linux", "Linux"),
            )
            if token in ua
        ),
        "",
    )
    if browser and system:
        return f"{browser} on {system}"
    return browser or system


def subscribe(
    *,
    user: User,
    endpoint: str,
    p256dh: str,
    auth: str,
    user_agent: str = "",
    session_key: str = "",
) -> tuple[PushSubscription, bool]:
    """Register a browser's push subscription for ``user``; returns it and
    whether it is new. The endpoint names one browser: subscribing it again
    updates its keys, and moves it to ``user`` when someone else signed in
    on that browser before (it reaches whoever uses it now). ``session_key``:
    the session that asks ("" through an API token), whose end ends it
    (``forget_devices``)."""
    check_endpoint(endpoint)
    point = _decoded("p256dh", p256dh, P256DH_BYTES)
    _decoded("auth", auth, AUTH_BYTES)
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
    except ValueError:
        raise InvalidInput(_("keys.p256dh is not a P-256 public key.")) from None
    subscription, created = PushSubscription.objects.update_or_create(
        endpoint=endpoint,
        defaults={
            "user": user,
            "p256dh": p256dh.rstrip("="),
            "auth": auth.rstrip("="),
            "device_name": device_name(user_agent)[:200],
            "session_key": session_key,
        },
    )
    if created:
        _keep_the_newest(user)
    return subscription, created


# A person's browsers that receive push: a new one past this many replaces
# their oldest, so nobody can make each notification go out thousands of times.
MAX_DEVICES_PER_PERSON = 20


def _keep_the_newest(user: User) -> None:
    old = PushSubscription.objects.filter(user=user).order_by("-created_at", "-pk")[
        MAX_DEVICES_PER_PERSON:
    ]
    PushSubscription.objects.filter(pk__in=list(old.values_list("pk", flat=True))).delete()


def forget_devices(*, user: User, keep_session_key: str | None = None) -> int:
    """End ``user``'s push subscriptions but those ``keep_session_key``
    made: what a password change or a deactivation ends, as it ends the
    sessions and tokens that subscribed (a stolen session could have
    subscribed a browser of its own). Returns how many went."""
    devices = PushSubscription.objects.filter(user=user)
    if keep_session_key:
        devices = devices.exclude(session_key=keep_session_key)
    return devices.delete()[0]


def forget_session_devices(*, session_key: str) -> int:
    """End the push subscriptions ``session_key`` made (its logout)."""
    return PushSubscription.objects.filter(session_key=session_key).delete()[0]


def move_session_devices(*, old_key: str | None, new_key: str | None) -> None:
    """A session went on under a new key (``cycle_key``): its push
    subscriptions follow it."""
    if old_key and new_key and old_key != new_key:
        PushSubscription.objects.filter(session_key=old_key).update(session_key=new_key)


def unsubscribe(*, user: User, subscription_id: UUID) -> None:
    """Forget one of ``user``'s devices (``NotFound`` for anyone else's)."""
    selectors.subscription_of(user, subscription_id).delete()


# --- Sending ----------------------------------------------------------------------


def enqueue_for(notifications: list[Notification]) -> None:
    """Queue push delivery of these notifications (their channels include
    push), after the surrounding transaction commits, in chunks of
    ``PUSH["TASK_CHUNK"]``: one task per chunk, not per person. People with
    no device are left out, and so are people inside their quiet hours:
    a push then is dropped, not held (the in-app feed and email keep it)."""
    if not notifications or not vapid.configured():
        return
    now = timezone.now()
    user_ids = {n.user_id for n in notifications}
    reachable = selectors.users_with_subscriptions(user_ids)
    preferences = selectors.preferences_by_user(reachable)
    zones = selectors.time_zones_of(reachable)
    ids = [
        str(n.pk)
        for n in notifications
        if n.user_id in reachable
        and rules.quiet_hours_end(_preference(preferences, n.user_id), zones[n.user_id], now)
        is None
    ]
    from notifications.tasks import deliver_push

    size = max(1, settings.PUSH["TASK_CHUNK"])
    for start in range(0, len(ids), size):
        transaction.on_commit(
            functools.partial(_queue_push, deliver_push, ids[start : start + size])
        )


def _queue_push(task: Task, ids: list[str]) -> None:
    # After commit: a broker that is down loses these pushes (the in-app
    # feed and email keep the notifications), never the request.
    try:
        broker.send(task, ids)
    except Exception:
        logger.exception("Could not queue push delivery of %d notifications", len(ids))


def _preference(
    preferences: dict[UUID, NotificationPreference], user_id: UUID
) -> NotificationPreference:
    return preferences.get(user_id) or NotificationPreference(user_id=user_id)


def deliver_notifications(*, notification_ids: list[str]) -> None:
    """Send each notification to every device of its person, once per
    device. Re-checked at send time: nothing for a notification read or
    deleted since, a message deleted since, push switched off, or quiet
    hours begun. Safe to call again with the same ids."""
    if not vapid.configured():
        logger.warning("push is not configured (no VAPID key): %d not sent", len(notification_ids))
        return
    notifications = selectors.notifications_to_push(notification_ids)
    user_ids = {n.user_id for n in notifications}
    preferences = selectors.preferences_by_user(user_ids)
    devices = selectors.subscriptions_by_user(user_ids)
    now = timezone.now()
    # No redirect is followed: the endpoint was checked, where it would
    # redirect to was not (push_transport).
    session = GuardedSession()
    patience = _Patience(settings.PUSH["TASK_RETRY_SECONDS"])
    for notification in notifications:
        preference = _preference(preferences, notification.user_id)
        if not _still_wanted(notification, preference, now):
            continue
        # In the person's language, whoever's action caused it.
        with speaking_to(notification.user):
            shown = _payload(notification, preference)
        payload = json.dumps(shown, separators=(",", ":"))
        for subscription in devices.get(notification.user_id, []):
            _deliver(notification, subscription, payload, session, patience)


def _still_wanted(
    notification: Notification, preference: NotificationPreference, now: dt.datetime
) -> bool:
    if notification.read_at is not None:
        return False
    message = notification.message
    if message is not None and (message.deleted_at is not None or message.hidden_at is not None):
        return False
    if Channel.PUSH.value not in rules.channels_for(preference, notification.kind):
        return False
    return rules.quiet_hours_end(preference, notification.user.time_zone, now) is None


def _excerpt(notification: Notification) -> str:
    data = notification.data or {}
    if data.get("encrypted"):
        # Neither the text nor a file name: the server has neither.
        return _("New encrypted message")
    # A reminder about a message no longer readable shows the person's note.
    text = str(data.get("excerpt") or data.get("note") or "")
    if not text and notification.message is not None:
        text = notification.message.content
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_CHARS else text[: EXCERPT_CHARS - 1] + "…"


def _title(notification: Notification, actor: str, place: str) -> str:
    """The notification's headline, in the active language."""
    kind = notification.kind
    names = {"actor": actor, "place": place}
    if kind == Kind.MENTION:
        title = _("%(actor)s mentioned you in %(place)s") if place else _("%(actor)s mentioned you")
    elif kind == Kind.ADDED:
        title = _("%(actor)s added you to %(place)s") if place else _("%(actor)s added you")
    elif kind == Kind.THREAD_REPLY:
        title = (
            _("%(actor)s replied in a thread in %(place)s")
            if place
            else _("%(actor)s replied in a thread")
        )
    elif kind == Kind.SUPPORT:
        title = _("Support request: %(place)s") if place else _("Support request")
    elif kind == Kind.REMINDER:
        if (notification.data or {}).get("scheduled_message_id"):
            # Its reason is the body (messaging.integrations.scheduling).
            return _("Your scheduled message was not sent")
        # A reminder the person set: what it is about is the body.
        return _("Reminder")
    elif place:
        title = _("%(actor)s in %(place)s")
    else:
        return actor
    return title % names


def _status_label(notification: Notification) -> str:
    """A support request's status as its person reads it ("Resolved")."""
    status = str((notification.data or {}).get("status") or "")
    if status in SupportStatus.values:
        return str(SupportStatus(status).label)
    return status


def _payload(notification: Notification, preference: NotificationPreference) -> dict:
    """What the service worker shows (static/js/sw.js): a title, a body, the
    page to open, and a tag per conversation so a burst collapses into one
    notification on the device. Built in the active language: the caller
    speaks to the notification's person."""
    actor = notification.actor.display_name if notification.actor else "Parley"
    conversation = notification.conversation
    place = conversation.title if conversation is not None and conversation.title else ""
    if not preference.push_show_content:
        title = "Parley"
        if notification.kind == Kind.REMINDER:
            body = _("You have a reminder.")
        else:
            body = (
                _("%(actor)s added you to a conversation")
                if notification.kind == Kind.ADDED
                else _("New message from %(actor)s")
            ) % {"actor": actor}
    else:
        title = _title(notification, actor, place)
        body = _excerpt(notification) or _status_label(notification) or _("Open Parley to see it.")
    conversation_id = str(notification.conversation_id) if notification.conversation_id else None
    return {
        "title": title,
        "body": body,
        "url": f"/c/{conversation_id}/" if conversation_id else "/",
        "tag": f"conversation:{conversation_id}"
        if conversation_id
        else f"notification:{notification.pk}",
        "conversation_id": conversation_id,
    }


def _urgency(notification: Notification) -> str:
    return "high" if notification.kind in (Kind.MENTION, Kind.DIRECT) else "normal"


@dataclass(frozen=True)
class _Answer:
    status: int | None  # None: no answer (timeout, connection refused)
    retry_after: float | None
    detail: str
    refused: bool = False  # the endpoint itself was refused (push_transport)


def _send(
    subscription: PushSubscription, payload: str, urgency: str, session: GuardedSession
) -> _Answer:
    # Imported here: pywebpush brings aiohttp, about half a second of imports
    # in every process that loads this module (each web process, each test
    # server), of which few ever send a push.
    from pywebpush import WebPushException, webpush

    parts = urlsplit(subscription.endpoint)
    try:
        response = webpush(
            subscription_info={
                "endpoint": subscription.endpoint,
                "keys": {"p256dh": subscription.p256dh, "auth": subscription.auth},
            },
            data=payload,
            vapid_private_key=vapid.vapid(),
            vapid_claims=vapid.claims_for(f"{parts.scheme}://{parts.netloc}"),
            content_encoding="aes128gcm",
            ttl=settings.PUSH["TTL_SECONDS"],
            headers={"Urgency": urgency},
            timeout=settings.PUSH["TIMEOUT_SECONDS"],
            requests_session=session,
        )
    except WebPushException as error:
        answer = error.response
        if answer is None:
            return _Answer(None, None, str(error)[:500])
        return _Answer(
            answer.status_code,
            _retry_after(answer.headers.get("retry-after")),
            f"{answer.status_code} {answer.reason}: {answer.text[:300]}",
        )
    except net.Refused as refused:
        final = refused.code in push_transport.FINAL_REFUSALS
        return _Answer(None, None, f"{refused.code}: {refused}", refused=final)
    if isinstance(response, str):  # only with curl=True, never here
        return _Answer(None, None, "no response")
    return _Answer(response.status_code, None, "")


def _retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - timezone.now()).total_seconds())


def _retryable(answer: _Answer) -> bool:
    if answer.refused:
        return False
    return answer.status is None or answer.status == 429 or answer.status >= 500


def _backoff(attempt: int) -> float:
    """Without ``Retry-After``: 1 s, 2 s, 4 s… with a little jitter, so
    deliveries that failed together do not retry together."""
    return (2 ** (attempt - 1)) * (1 + random.random() / 4)


class _Patience:
    """The seconds one task may spend on sends that do not deliver: retry
    waits and unanswered sends' timeouts. Counted, not timed, so what a
    task does is decided by the answers it gets, whatever the machine's
    speed."""

    def __init__(self, seconds: float):
        self.left = seconds

    def spend(self, seconds: float) -> None:
        self.left -= seconds

    def affords(self, seconds: float) -> bool:
        return seconds <= self.left


def _rest(subscription: PushSubscription, now: dt.datetime) -> None:
    """Send nothing more to this device for ``PUSH["REST_SECONDS"]``
    (this task's later notifications included)."""
    subscription.resting_until = now + dt.timedelta(seconds=settings.PUSH["REST_SECONDS"])
    PushSubscription.objects.filter(pk=subscription.pk).update(
        resting_until=subscription.resting_until
    )


def _deliver(
    notification: Notification,
    subscription: PushSubscription,
    payload: str,
    session: GuardedSession,
    patience: _Patience,
) -> None:
    delivery, _created = Delivery.objects.get_or_create(
        user_id=notification.user_id,
        channel=Channel.PUSH,
        key=f"notification:{notification.pk}:{subscription.pk}",
    )
    if delivery.state != DeliveryState.PENDING:
        return  # sent (or settled) by an earlier run of this task
    if subscription.resting_until is not None and subscription.resting_until > timezone.now():
        _finish(delivery, DeliveryState.FAILED, "device resting after sends that failed")
        return
    max_attempts = max(1, settings.PUSH["MAX_ATTEMPTS"])
    max_delay = settings.PUSH["MAX_RETRY_DELAY_SECONDS"]
    urgency = _urgency(notification)
    attempt = delivery.attempts
    while True:
        # Claim the attempt: of two runs of the same task at once, one moves
        # the count on and sends; the other finds it moved and leaves.
        claimed = Delivery.objects.filter(
            pk=delivery.pk, state=DeliveryState.PENDING, attempts=attempt
        ).update(attempts=attempt + 1)
        if not claimed:
            return
        attempt += 1
        answer = _send(subscription, payload, urgency, session)
        if answer.status is not None and 200 <= answer.status < 300:
            now = timezone.now()
            _finish(delivery, DeliveryState.SENT, "")
            PushSubscription.objects.filter(pk=subscription.pk).update(
                last_success_at=now, resting_until=None
            )
            return
        if answer.status in (404, 410):
            # The browser unsubscribed or the subscription expired: it will
            # never work again (RFC 8030, section 7.3).
            _finish(delivery, DeliveryState.FAILED, f"subscription gone: {answer.detail}")
            PushSubscription.objects.filter(pk=subscription.pk).delete()
            return
        if answer.refused:
            # Its name now leads inside the network (or a port or scheme the
            # server does not call): no push will ever be sent to it.
            _finish(delivery, DeliveryState.FAILED, f"endpoint refused: {answer.detail}")
            PushSubscription.objects.filter(pk=subscription.pk).delete()
            return
        if not _retryable(answer):
            _finish(delivery, DeliveryState.FAILED, answer.detail)
            return
        if answer.status is None:
            patience.spend(settings.PUSH["TIMEOUT_SECONDS"])  # what no answer may have held
        delay = answer.retry_after if answer.retry_after is not None else _backoff(attempt)
        if attempt >= max_attempts or delay > max_delay or not patience.affords(delay):
            _finish(delivery, DeliveryState.FAILED, f"gave up after {attempt}: {answer.detail}")
            _rest(subscription, timezone.now())
            return
        patience.spend(delay)
        logger.info(
            "push to subscription %s answered %s; retrying in %.1f s",
            subscription.pk,
            answer.status or "nothing",
            delay,
        )
        time.sleep(math.ceil(delay * 10) / 10)


def _finish(delivery: Delivery, state: DeliveryState, error: str) -> None:
    Delivery.objects.filter(pk=delivery.pk).update(
        state=state, error=error[:2000], finished_at=timezone.now()
    )
