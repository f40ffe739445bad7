"""Sending one email to one person, once: the delivery record is written
(committed) before the message goes to the mail server, naming the task run
that claimed it.

None is dropped by a dead worker, and none is sent twice but in one window.
A task run redelivered after its worker died (``acks_late``: the same task
id comes back) finds its own pending claim and sends again, under the same
``Message-ID``: if the first attempt died before the mail server accepted
the message, this is the only copy; if it died after the server had taken
the message but before it learnt so (RFC 1047's window), the person's mail
system gets two copies of one ``Message-ID`` and shows one. Another run's
claim (a second fan-out of the same window, a digest run) is another
sender's: it sends nothing. A send that failed with an error is recorded as
``failed`` and not retried (the server answered; a timeout may have
delivered).
"""

import logging
from email.utils import parseaddr
from uuid import UUID

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from notifications.models import Channel, Delivery, DeliveryState
from notifications.tokens import unsubscribe_url

logger = logging.getLogger(__name__)


def claim_email(*, user_id: UUID | str, key: str, run_id: str = "") -> Delivery | None:
    """Record that ``key`` is being emailed to the person by the task run
    ``run_id``; None when it was sent or is another run's to send. The
    same run's pending claim is claimed again (its worker died inside the
    send)."""
    try:
        # Its own transaction, committed before anything is sent (and a
        # savepoint when a caller holds one, so a collision spoils nothing).
        with transaction.atomic():
            return Delivery.objects.create(
                user_id=user_id, channel=Channel.EMAIL, key=key, attempts=1, claimed_by=run_id
            )
    except IntegrityError:
        pass
    if not run_id:
        return None
    mine = Delivery.objects.filter(
        user_id=user_id,
        channel=Channel.EMAIL,
        key=key,
        state=DeliveryState.PENDING,
        claimed_by=run_id,
    )
    delivery = mine.first()
    # Compare and set on the attempt count: of two copies of one run at once
    # (a redelivery while the first still ran), one sends.
    if delivery is None or not mine.filter(attempts=delivery.attempts).update(
        attempts=delivery.attempts + 1
    ):
        return None
    delivery.attempts += 1
    logger.info("Email %s to %s: sent again by its run %s", key, user_id, run_id)
    return delivery


def message_id(delivery: Delivery) -> str:
    """The ``Message-ID`` of ``delivery``'s email, the same at every attempt,
    so that a mail system keeps one of two copies (RFC 5322 3.6.4)."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "parley.invalid"
    return f"<delivery-{delivery.pk}@{domain}>"


def send_templated(
    *,
    delivery: Delivery,
    to: str,
    subject: str,
    template: str,
    context: dict,
) -> bool:
    """Render ``templates/notifications/email/<template>.txt`` and ``.html``
    and send them as one message with RFC 8058 one-click unsubscribe
    headers; record the outcome on ``delivery``. True when sent."""
    link = unsubscribe_url(delivery.user_id)
    context = {**context, "unsubscribe_url": link, "site_url": settings.PARLEY_SITE_URL}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"notifications/email/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={
            "List-Unsubscribe": f"<{link}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            # Automatic mail: no out-of-office replies (RFC 3834).
            "Auto-Submitted": "auto-generated",
            "Message-ID": message_id(delivery),
        },
    )
    message.attach_alternative(
        render_to_string(f"notifications/email/{template}.html", context), "text/html"
    )
    try:
        message.send()
    except Exception as error:  # noqa: BLE001 - any mail failure is recorded, not raised
        logger.warning("Email %s to %s failed: %s", delivery.key, delivery.user_id, error)
        _finish(delivery, DeliveryState.FAILED, error=str(error)[:2000])
        return False
    _finish(delivery, DeliveryState.SENT)
    return True


def _finish(delivery: Delivery, state: str, *, error: str = "") -> None:
    delivery.state = state
    delivery.error = error
    delivery.finished_at = timezone.now()
    delivery.save(update_fields=["state", "error", "finished_at"])
