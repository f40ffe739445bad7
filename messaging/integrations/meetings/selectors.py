"""Reading video calls: a member sees a call of their conversation; anyone
else is told it does not exist (the same answer as for an unknown id)."""

from uuid import UUID

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.models import User
from messaging.errors import NotFound
from messaging.integrations.models import Meeting
from messaging.selectors import membership_for


def missing() -> str:
    return _("No such video call.")


def announced_meetings() -> QuerySet[Meeting]:
    """Calls whose announcement stands. A call whose message its starter
    deleted, or a moderator hid, is withdrawn with it: its title, its
    calendar entry and its join link go as the message's content does."""
    return Meeting.objects.filter(message__deleted_at__isnull=True, message__hidden_at__isnull=True)


def visible_meeting(*, user: User, meeting_id: UUID, attempted: str = "meeting.view") -> Meeting:
    """The call, with its conversation and starter, once ``user`` may read
    its conversation (``membership_for``: an active member). An unknown id,
    a withdrawn call (``announced_meetings``) and a call of someone else's
    conversation are the same ``not_found``; the last is recorded as a
    refusal of ``attempted``."""
    meeting = (
        announced_meetings()
        .select_related("conversation", "started_by", "message")
        .filter(pk=meeting_id)
        .first()
    )
    if meeting is None:
        raise NotFound(missing())
    membership_for(user, meeting.conversation_id, attempted=attempted, missing=missing())
    return meeting


def all_meetings() -> QuerySet[Meeting]:
    """Every call, newest first (the admin's list)."""
    return Meeting.objects.select_related("conversation", "started_by").order_by("-starts_at")
