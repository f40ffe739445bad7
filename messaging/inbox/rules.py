"""What the inbox counts, as query expressions: the main stream, a
membership's unread count, a mute, a conversation put away. The inbox's
statements (``messaging.inbox.statements``), the socket's hello and the
unread total (``messaging.selectors``) all count by these."""

from datetime import datetime
from uuid import UUID

from django.db.models import Count, Exists, F, OuterRef, Q, Subquery, Value
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce

from messaging.models import Message
from notifications.models import ConversationMute


def main_stream() -> Q:
    """Messages shown in the conversation's main stream: not a thread reply,
    or one also sent to the conversation (``Message.in_main_stream``)."""
    return Q(parent__isnull=True) | Q(also_to_conversation=True)


def thread_only() -> Q:
    return Q(parent__isnull=False, also_to_conversation=False)


def unread() -> CombinedExpression:
    """A membership's unread count in its conversation's main stream: the
    seqs above the read cursor less the thread-only replies among them.

    The count of those replies is an index-only scan of
    ``message_thread_only_idx`` (conversation, seq; thread-only replies
    alone), so its cost is the number of thread-only replies above the
    cursor, not the conversation's size or the unread depth; the inbox
    stays one query."""
    thread_only_above = Subquery(
        Message.objects.filter(
            conversation_id=OuterRef("conversation_id"), seq__gt=OuterRef("last_read_seq")
        )
        .filter(thread_only())
        .order_by()
        .values("conversation_id")
        .annotate(n=Count("*"))
        .values("n")[:1]
    )
    return F("conversation__last_seq") - F("last_read_seq") - Coalesce(thread_only_above, Value(0))


def muted_by(user_id: UUID, now: datetime) -> Exists:
    """The membership's conversation is muted by the user at ``now``."""
    return Exists(
        ConversationMute.objects.filter(
            user_id=user_id, conversation_id=OuterRef("conversation_id")
        ).filter(Q(until__isnull=True) | Q(until__gt=now))
    )


def put_away() -> Q:
    """Archived by the member for themselves, and still away: nothing has
    arrived since they archived it, or they have it muted (annotation
    ``muted``, ``muted_by``). A main-stream message newer than the archiving
    brings it back; a thread-only reply does not (it reaches the thread's
    followers through their notifications and the thread's own unread)."""
    newer_in_main_stream = Exists(
        Message.objects.filter(
            conversation_id=OuterRef("conversation_id"), sent_at__gt=OuterRef("archived_at")
        ).filter(main_stream())
    )
    return Q(archived_at__isnull=False) & (
        Q(conversation__last_message_at__isnull=True)
        | Q(conversation__last_message_at__lte=F("archived_at"))
        | Q(muted=True)
        | ~Q(newer_in_main_stream)
    )
