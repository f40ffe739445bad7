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
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.locale import speaking_to
from accounts.models import User
from notifications import rules
from notifications.models import Delivery, DigestFrequency, NotificationPreference
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


def send_due_digests(*, at: dt.datetime | None = None, run_id: str = "") -> int:
    """Send every digest due at ``at`` (now); returns how many were sent.
    ``run_id``: the task's id (``services.mail``: the same run sends again
    what it claimed before its worker died)."""
    now = at or timezone.now()
    sent = 0
    for user in selectors.digest_candidates():
        preference = getattr(user, "notification_preference", None) or NotificationPreference(
            user=user
        )
        local = now.astimezone(rules.zone(user.time_zone))
        if not _due(preference, local):
            continue
        if send_digest(
            user=user, preference=preference, at=now, local_date=local.date(), run_id=run_id
        ):
            sent += 1
    return sent


def send_digest(
    *,
    user: User,
    preference: NotificationPreference,
    at: dt.datetime,
    local_date: dt.date,
    run_id: str = "",
) -> bool:
    """One person's digest for ``local_date``, in their language and time
    zone; False when there was nothing to say or it was already sent."""
    weekly = preference.digest == DigestFrequency.WEEKLY
    period = dt.timedelta(days=7 if weekly else 1)
    # Everything from here speaks to the person, the status names of their
    # support requests (read by the selector) included.
    with speaking_to(user):
        conversations = selectors.unread_conversations(user, at=at)
        support = selectors.support_updates(user.pk, since=at - period)
        if not conversations and not support:
            return False
        delivery = claim_email(
            user_id=user.pk, key=f"digest:{preference.digest}:{local_date}", run_id=run_id
        )
        if delivery is None:
            return False
        return _email(
            delivery=delivery,
            user=user,
            weekly=weekly,
            conversations=conversations,
            support=support,
        )


def _subject(*, weekly: bool, total: int) -> str:
    # One whole sentence per frequency: "daily" is not a word a translator
    # can slot into another sentence.
    if not total:
        return _("Your weekly Parley digest") if weekly else _("Your daily Parley digest")
    if weekly:
        subject = ngettext(
            "Your weekly Parley digest: %(count)s unread message",
            "Your weekly Parley digest: %(count)s unread messages",
            total,
        )
    else:
        subject = ngettext(
            "Your daily Parley digest: %(count)s unread message",
            "Your daily Parley digest: %(count)s unread messages",
            total,
        )
    return subject % {"count": total}


def _email(
    *,
    delivery: Delivery,
    user: User,
    weekly: bool,
    conversations: list[selectors.UnreadConversation],
    support: list[dict],
) -> bool:
    """Send the digest, built in the active language."""
    total = sum(item.unread for item in conversations)
    items = [
        {
            "name": str(item.conversation),
            "unread": item.unread,
            "sender": item.latest.sender.display_name if item.latest.sender else _("Someone"),
            "excerpt": email_text.excerpt_text(item.latest, EXCERPT_CHARS),
            "excerpt_html": email_text.excerpt_html(item.latest, EXCERPT_CHARS),
            "url": absolute_url(reverse("conversation", args=[item.conversation.pk])),
        }
        for item in conversations
    ]
    return send_templated(
        delivery=delivery,
        to=user.email,
        subject=_subject(weekly=weekly, total=total),
        template="digest",
        context={
            "user": user,
            "weekly": weekly,
            "conversations": items,
            "support": support,
            "total": total,
            "inbox_url": absolute_url(reverse("inbox")),
        },
    )
