"""The moderation queue's cases: one per message under review.

Reports (``reports``) and flagging filter rules (``messaging.moderation
.filtering``) open a message's case, or reopen it when a moderator had
closed it; moderators' actions and dismissals close it (``actions``). Run
inside the caller's transaction.
"""

from django.db.models import F
from django.utils import timezone

from accounts.models import User
from messaging.models import CaseStatus, Message, ModerationCase


def open_case(message: Message, *, reports: int = 0, flags: int = 0) -> ModerationCase:
    """The message's case, opened (or reopened) with ``reports`` more
    reports and ``flags`` more filter flags counted."""
    now = timezone.now()
    case, created = ModerationCase.objects.get_or_create(
        message=message,
        defaults={
            "conversation_id": message.conversation_id,
            "sender_id": message.sender_id,
            "report_count": reports,
            "flag_count": flags,
            "opened_at": now,
        },
    )
    if not created:
        ModerationCase.objects.filter(pk=case.pk).update(
            report_count=F("report_count") + reports,
            flag_count=F("flag_count") + flags,
            status=CaseStatus.OPEN,
            opened_at=now if case.status != CaseStatus.OPEN else case.opened_at,
            closed_at=None,
            closed_by=None,
        )
        case.refresh_from_db()
    return case


def close_case(message_id, *, moderator: User, status: str = CaseStatus.ACTIONED) -> None:
    """Close the message's open case, if it has one."""
    ModerationCase.objects.filter(message_id=message_id, status=CaseStatus.OPEN).update(
        status=status, closed_at=timezone.now(), closed_by=moderator
    )
