"""Email of one notification, for the kinds that have an email of their own
(a reminder): the other kinds are told by their conversation's
missed-message email (``services.missed_email``).

The fan-out calls ``schedule_for`` after commit; the task claims
``notification:<id>`` (``services.mail``), so a rerun or redelivered task
sends nothing twice. Nothing is sent for a notification gone since (its
message was deleted), for a person whose email for the kind is off, or
inactive; inside quiet hours the email waits for their end.
"""

import datetime as dt
import logging
from uuid import UUID

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.locale import speaking_to
from accounts.models import User
from notifications import rules
from notifications.models import Channel, Delivery, Kind, Notification
from notifications.selectors.preferences import preferences_for
from notifications.services.mail import claim_email, send_templated
from notifications.tokens import absolute_url

logger = logging.getLogger(__name__)

# The kinds emailed one notification per email.
KINDS = frozenset({Kind.REMINDER.value})


def schedule_for(notifications: list[Notification]) -> None:
    """Queue the email of each of ``notifications``. Call after commit."""
    from notifications.tasks import send_notification_email as task

    for notification in notifications:
        task.delay(str(notification.pk))


def link_of(notification: Notification) -> str:
    """The page the notification opens, as an absolute URL: its message in
    context, else the site."""
    data = notification.data or {}
    if not notification.conversation_id:
        return absolute_url("/")
    path = f"/c/{notification.conversation_id}/"
    if data.get("thread_id"):
        path += f"?thread={data['thread_id']}"
    if data.get("seq"):
        path += f"#seq-{data['seq']}"
    return absolute_url(path)


def send_notification_email(*, notification_id: UUID | str, run_id: str = "") -> bool:
    """Email the notification to its person once; True when sent."""
    notification = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if notification is None or notification.kind not in KINDS:
        return False
    user = notification.user
    if not user.is_active or not user.email:
        return False
    preference = preferences_for(user)
    if Channel.EMAIL.value not in rules.channels_for(preference, notification.kind):
        return False
    quiet_until = rules.quiet_hours_end(preference, user.time_zone, timezone.now())
    if quiet_until is not None:
        _hold_until(notification_id=notification.pk, eta=quiet_until)
        return False
    delivery = claim_email(user_id=user.pk, key=f"notification:{notification.pk}", run_id=run_id)
    if delivery is None:
        return False
    data = notification.data or {}
    if data.get("scheduled_message_id"):
        return _send_scheduled_failed(delivery, user, data)
    with speaking_to(user):
        excerpt = str(data.get("excerpt") or "")
        note = str(data.get("note") or "")
        shown = excerpt or note
        subject = (
            _("Reminder: %(excerpt)s") % {"excerpt": _shorten(shown)} if shown else _("Reminder")
        )
        return send_templated(
            delivery=delivery,
            to=user.email,
            subject=subject,
            template="reminder",
            context={
                "user": user,
                "note": note,
                "excerpt": excerpt,
                "conversation_title": data.get("conversation_title") or "",
                # A direct conversation's title is the other person's name.
                "direct": data.get("conversation_type") == "direct",
                "unavailable": bool(data.get("unavailable")),
                "message_url": link_of(notification),
            },
        )


def _send_scheduled_failed(delivery: Delivery, user: User, data: dict) -> bool:
    """A scheduled message of the person's that could not be sent
    (``messaging.integrations.scheduling``): the reason is the excerpt."""
    with speaking_to(user):
        return send_templated(
            delivery=delivery,
            to=user.email,
            subject=_("Your scheduled message was not sent"),
            template="scheduled_failed",
            context={
                "user": user,
                "excerpt": str(data.get("excerpt") or ""),
                "conversation_title": data.get("conversation_title") or "",
                "scheduled_url": absolute_url(reverse("scheduled")),
            },
        )


def _shorten(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _hold_until(*, notification_id: UUID, eta: dt.datetime) -> None:
    """Send when quiet hours end (eager mode cannot wait: there the email
    is dropped, as the in-app notification keeps it)."""
    from notifications.tasks import send_notification_email as task

    if task.app.conf.task_always_eager:
        logger.info("Quiet hours: eager mode cannot hold notification %s", notification_id)
        return
    task.apply_async(args=[str(notification_id)], eta=eta)
