"""How much a person uploaded lately: the daily upload limits' measure."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Sum
from django.utils import timezone

from accounts.models import User
from messaging.files.models import Attachment

WINDOW = timedelta(hours=24)


@dataclass(frozen=True)
class Usage:
    bytes: int
    count: int


def uploaded_last_day(user: User) -> Usage:
    """Bytes (as stored) and files ``user`` uploaded in the last 24 hours,
    sent or not. A discarded upload no longer counts: its row and bytes are
    gone (the send rate limit bounds how often one can upload at all)."""
    totals = Attachment.objects.filter(
        uploader=user, created_at__gt=timezone.now() - WINDOW
    ).aggregate(size=Sum("size"), files=Count("pk"))
    return Usage(bytes=totals["size"] or 0, count=totals["files"])
