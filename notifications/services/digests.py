"""Daily and weekly digests: at the person's local hour, their unread
conversations (counts and an excerpt of the latest message) and the support
requests that changed. Nothing is sent when there is nothing to say.

Beat runs ``send_due_digests`` every 15 minutes (``setup_periodic_tasks``),
so each due hour is looked at several times: the delivery record
``digest:<daily|weekly>:<local date>`` makes the first run that has
something to say the only one that sends.
"""

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from notifications import rules
from notifications.models import DigestFrequency, NotificationPreference
from notifications.selectors import digests as selectors
from notifications.services import email_text
from notifications.services.mail import claim_email, send_templated
from notifications.tokens import absolute_url

EXCERPT_CHARS = 140


def _due(preference: NotificationPreference, local: dt.datetime) -> bool:
    if preference.digest == DigestFrequency.DAILY:
        return local.hour == preference.digest_hour
    if preference.digest == DigestFrequency.WEEKLY:
        return local.hour == preference.digest_hour and local.weekday() == preference.digest_weekday
    return False


def send_due_digests(*, at: dt.datetime | None = None) -> int:
    """Send every digest due at ``at`` (now); returns how many were sent."""
    now = at or timezone.now()
    sent = 0
    for user in selectors.digest_candidates():
        preference = getattr(user, "notification_preference", None) or NotificationPreference(
            user=user
        )
        local = now.astimezone(rules.zone(user.time_zone))
        if not _due(preference, local):
            continue
        if send_digest(user=user, preference=preference, at=now, local_date=local.date()):
            sent += 1
    return sent


def send_digest(
    *, user: User, preference: NotificationPreference, at: dt.datetime, local_date: dt.date
) -> bool:
    """One person's digest for ``local_date``; False when there was nothing
    to say or it was already sent."""
    period = dt.timedelta(days=7 if preference.digest == DigestFrequency.WEEKLY else 1)
    conversations = selectors.unread_conversations(user, at=at)
    support = selectors.support_updates(user.pk, since=at - period)
    if not conversations and not support:
        return False
    delivery = claim_email(user_id=user.pk, key=f"digest:{preference.digest}:{local_date}")
    if delivery is None:
        return False
    total = sum(item.unread for item in conversations)
    items = [
        {
            "name": str(item.conversation),
            "unread": item.unread,
            "sender": item.latest.sender.display_name if item.latest.sender else "Someone",
            "excerpt": email_text.excerpt_text(item.latest, EXCERPT_CHARS),
            "excerpt_html": email_text.excerpt_html(item.latest, EXCERPT_CHARS),
            "url": absolute_url(reverse("conversation", args=[item.conversation.pk])),
        }
        for item in conversations
    ]
    label = "weekly" if preference.digest == DigestFrequency.WEEKLY else "daily"
    subject = (
        f"Your {label} Parley digest: {total} unread message{'s' if total != 1 else ''}"
        if total
        else f"Your {label} Parley digest"
    )
    return send_templated(
        delivery=delivery,
        to=user.email,
        subject=subject,
        template="digest",
        context={
            "user": user,
            "label": label,
            "conversations": items,
            "support": support,
            "total": total,
            "inbox_url": absolute_url(reverse("inbox")),
        },
    )
