"""What a moderator reads to judge a case (the queue's change page in the
admin): the message with the ones around it, its reports and filter hits,
and what moderators already did about this message or its sender. Reads
only; nothing here checks who asks: the admin is moderators' only
(``policy.may_moderate``)."""

from django.db.models import Q, QuerySet

from messaging.models import (
    AuditAction,
    AuditLog,
    FilterHit,
    Message,
    ModerationCase,
    Report,
)

# How many messages around the reported one its change page shows, each side.
CONTEXT_MESSAGES = 5

# The audit actions that are moderators' (or the filter's) doing about a
# message or a person: a case's history.
MODERATION_ACTIONS = (
    AuditAction.MESSAGE_HIDE,
    AuditAction.MESSAGE_RESTORE,
    AuditAction.MESSAGE_DELETE,
    AuditAction.REPORT,
    AuditAction.FILTER_HIT,
    AuditAction.CASE_DISMISS,
    AuditAction.WARN,
    AuditAction.MUTE,
    AuditAction.UNMUTE,
    AuditAction.DEACTIVATE,
    AuditAction.REVIEW_CONVERSATION,
)


def surrounding_messages(message: Message, *, each_side: int = CONTEXT_MESSAGES) -> list[Message]:
    """The message and up to ``each_side`` messages before and after it in
    its conversation, in seq order, with their senders; contents as stored
    (hidden ones included: moderators see them)."""
    around = Message.objects.filter(conversation_id=message.conversation_id).select_related(
        "sender"
    )
    before = list(around.filter(seq__lt=message.seq).order_by("-seq")[:each_side])
    after = list(around.filter(seq__gt=message.seq).order_by("seq")[:each_side])
    return [*reversed(before), message, *after]


def reports_of(case: ModerationCase) -> QuerySet[Report]:
    return case.reports.select_related("reporter").order_by("created_at")


def filter_hits_of(case: ModerationCase) -> QuerySet[FilterHit]:
    return FilterHit.objects.filter(message_id=case.message_id).order_by("at", "id")


def history_of(case: ModerationCase) -> QuerySet[AuditLog]:
    """Moderation rows about the case's message, or about its sender
    anywhere (earlier warnings, mutes, hidden messages), oldest first."""
    about = Q(message_id=case.message_id)
    if case.sender_id is not None:
        about |= Q(target_user_id=case.sender_id)
    return (
        AuditLog.objects.filter(about, action__in=MODERATION_ACTIONS)
        .select_related("actor")
        .order_by("at", "id")
    )


def messages_for_review(conversation_id) -> QuerySet[Message]:
    """Every message of a conversation, in seq order, for a moderator's
    review page (paged by the caller)."""
    return (
        Message.objects.filter(conversation_id=conversation_id)
        .select_related("sender")
        .prefetch_related("attachments")
        .order_by("seq")
    )
