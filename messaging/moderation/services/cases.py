"""The moderation queue's cases: one per message under review.

Reports (``reports``) and flagging filter rules (``messaging.moderation
.filtering``) open a message's case, or reopen it when a moderator had
closed it; moderators' actions and dismissals close it (``actions``). Run
inside the caller's transaction.
"""

from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import audit, policy
from messaging.errors import AccessDenied
from messaging.files.models import Attachment
from messaging.models import AuditAction, CaseStatus, Message, ModerationCase


def open_case(message: Message, *, reports: int = 0, flags: int = 0) -> ModerationCase:
    """The message's case, opened (or reopened) with ``reports`` more
    reports and ``flags`` more filter flags counted.

    Opening keeps a snapshot of the message as it is now (its text and its
    files' names, ``reported_content`` / ``reported_files``), so the
    evidence survives its author editing or deleting it. A reopening (the
    case was closed) takes the snapshot again: what is reported now is the
    message's latest state. While the case stays open, the snapshot stays
    what was first reported; later edits are the audit log's
    (``message.edit`` keeps old and new text)."""
    now = timezone.now()
    snapshot = _snapshot(message)
    case, created = ModerationCase.objects.get_or_create(
        message=message,
        defaults={
            "conversation_id": message.conversation_id,
            "sender_id": message.sender_id,
            "report_count": reports,
            "flag_count": flags,
            "opened_at": now,
            **snapshot,
        },
    )
    if not created:
        reopening = case.status != CaseStatus.OPEN
        ModerationCase.objects.filter(pk=case.pk).update(
            report_count=F("report_count") + reports,
            flag_count=F("flag_count") + flags,
            status=CaseStatus.OPEN,
            opened_at=now if reopening else case.opened_at,
            closed_at=None,
            closed_by=None,
            **(snapshot if reopening else {}),
        )
        case.refresh_from_db()
    return case


def _snapshot(message: Message) -> dict:
    """The fields of a case that keep what the message says now."""
    return {
        "reported_content": message.content,
        "reported_files": list(
            Attachment.objects.filter(message_id=message.pk)
            .order_by("position")
            .values_list("name", flat=True)
        ),
    }


def close_case(message_id, *, moderator: User, status: str = CaseStatus.ACTIONED) -> None:
    """Close the message's open case, if it has one."""
    ModerationCase.objects.filter(message_id=message_id, status=CaseStatus.OPEN).update(
        status=status, closed_at=timezone.now(), closed_by=moderator
    )


def record_case_opened(*, moderator: User, case: ModerationCase) -> None:
    """A moderator opened the case's page, which shows the message, the
    ones around it and its files: reading people's messages is never
    invisible, so each opening writes a ``moderation.review`` row (as the
    conversation review does) naming the case. Anyone else is refused
    (recorded)."""
    with audit.denials_recorded(
        actor=moderator,
        attempted=AuditAction.REVIEW_CONVERSATION,
        conversation_id=case.conversation_id,
    ):
        if not policy.may_moderate(moderator):
            raise AccessDenied(_("Only moderators open cases."))
    audit.record(
        actor=moderator,
        action=AuditAction.REVIEW_CONVERSATION,
        conversation_id=case.conversation_id,
        message_id=case.message_id,
        case=str(case.pk),
    )
