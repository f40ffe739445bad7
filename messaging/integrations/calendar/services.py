"""A person's calendar feed token: made on first ask, rotated on demand
(the old URL stops working at once; audited) and when their password
changes or the account is deactivated (``end_with_credentials``)."""

import secrets

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from messaging import audit, policy
from messaging.integrations.models import CalendarFeed
from messaging.models import AuditAction


def new_token() -> str:
    """43 URL-safe characters (256 random bits)."""
    return secrets.token_urlsafe(32)


def feed_for(*, user: User) -> CalendarFeed:
    """The person's feed, made with a fresh token the first time."""
    policy.check_acting(user)
    feed = CalendarFeed.objects.filter(user=user).first()
    if feed is not None:
        return feed
    try:
        with transaction.atomic():
            return CalendarFeed.objects.create(user=user, token=new_token())
    except IntegrityError:
        return CalendarFeed.objects.get(user=user)  # another tab, just now


def rotate_feed(*, user: User) -> CalendarFeed:
    """Give the person's feed a new token: the old URL answers 404 from
    now on. Audited."""
    policy.check_acting(user)
    with transaction.atomic():
        feed = CalendarFeed.objects.select_for_update().filter(user=user).first()
        if feed is None:
            feed = CalendarFeed.objects.create(user=user, token=new_token())
        feed.token = new_token()
        feed.rotated_at = timezone.now()
        feed.save(update_fields=["token", "rotated_at"])
        audit.record(actor=user, action=AuditAction.CALENDAR_FEED_ROTATE)
    return feed


def end_with_credentials(*, user: User) -> bool:
    """A password change or a deactivation ends what the person's
    credentials let in: the feed's URL is a credential to the person's
    reminders and meetings, like an API token.
    Its token is replaced (the calendar app shows nothing new until the
    person subscribes to the new URL, on the Calendar page); no feed is made
    for someone who had none. Whether there was one to end. Audited by the
    change that ends it."""
    return bool(
        CalendarFeed.objects.filter(user=user).update(token=new_token(), rotated_at=timezone.now())
    )
