"""What a message in a support conversation does to its request: the first
response, and the requester's automatic moves (``transitions.AUTOMATIC``)."""

from messaging import events
from messaging.models import AuditAction, Message, MessageType
from messaging.services.transactions import write_transaction
from messaging.support import transitions
from messaging.support.models import SupportRequest
from messaging.support.services import steps

# --- Messages in the conversation ---------------------------------------------------------


def is_imported(message: Message) -> bool:
    """An imported request's first message: history, not news."""
    support = (message.metadata or {}).get("support")
    return isinstance(support, dict) and bool(support.get("imported"))


def message_posted(message: Message) -> None:
    """A message was posted in a support conversation (the notification
    fan-out calls this, after the send committed, off its hot path).

    From someone other than the requester, the first such message sets
    ``first_response_at`` (its ``sent_at``). From the requester, a pending
    request becomes open and a resolved one reopens (``transitions.AUTOMATIC``;
    the requester is not notified of their own move). A closed request stays
    closed. Idempotent: run again (a redelivered task), it finds the timer
    set, or a status change after the message, and does nothing."""
    if message.message_type == MessageType.SYSTEM or message.deleted_at or is_imported(message):
        return
    request = SupportRequest.objects.filter(conversation_id=message.conversation_id).first()
    if request is None:
        return
    from_requester = message.sender_id == request.requester_id
    if not from_requester and request.first_response_at is not None:
        return
    if from_requester and request.status not in transitions.AUTOMATIC:
        return
    sender = message.sender
    assert sender is not None  # only system messages may lack one
    with write_transaction(actor=sender, attempted=AuditAction.SUPPORT_STATUS):
        request, conversation = steps.locked(request.pk)
        if not from_requester:
            if request.first_response_at is None:
                request.first_response_at = message.sent_at
                request.save(update_fields=["first_response_at", "updated_at"])
                events.publish_on_commit(
                    events.conversation_group(conversation.pk),
                    events.support_updated(steps.fresh(request.pk)),
                )
            return
        target = transitions.AUTOMATIC.get(request.status)
        if target is None or _status_changed_after(message):
            return
        steps.move(request, conversation, actor=sender, status=target, automatic=True)


def _status_changed_after(message: Message) -> bool:
    """Whether the request's status was set after ``message`` (a rerun of the
    hook must not undo a later change)."""
    return Message.objects.filter(
        conversation_id=message.conversation_id,
        message_type=MessageType.SYSTEM,
        seq__gt=message.seq,
        metadata__support__event__in=["status", "opened"],
    ).exists()
