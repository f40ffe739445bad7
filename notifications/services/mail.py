"""Sending one email to one person, once: the delivery record is written
(committed) before the message goes to the mail server.

What "once" means here is *at most once*. A task redelivered after its
worker died finds the record and sends nothing, even when the first attempt
died before the mail server took the message: a lost email is better than a
duplicate in someone's inbox, and the record (state ``pending`` with no
``finished_at``) shows an operator which sends never finished. A send that
fails with an error is recorded as ``failed`` and not retried either.
"""

import logging
from uuid import UUID

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from notifications.models import Channel, Delivery, DeliveryState
from notifications.tokens import unsubscribe_url

logger = logging.getLogger(__name__)


def claim_email(*, user_id: UUID | str, key: str) -> Delivery | None:
    """Record that ``key`` is being emailed to the person; None when it
    already was (by this task before, or by another one now)."""
    try:
        # Its own transaction, committed before anything is sent (and a
        # savepoint when a caller holds one, so a collision spoils nothing).
        with transaction.atomic():
            return Delivery.objects.create(
                user_id=user_id, channel=Channel.EMAIL, key=key, attempts=1
            )
    except IntegrityError:
        return None


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
