"""Pins: messages pinned to their conversation, listed in its header.

Who may pin and unpin is ``policy.may_pin``. Pinning takes the
conversation's lock (as a send does), so two pins never pass the
``MAX_PINS_PER_CONVERSATION`` limit together; the pin row's key (the
message) makes pinning twice one pin. A pinned message that is deleted or
hidden keeps its row but leaves the pinned list (``selectors.pins``).
"""

from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import audit, events, limits, policy
from messaging.errors import NotFound, TooManyPins
from messaging.models import AuditAction, Message
from messaging.moderation.services.actions import _clean_note as clean_moderator_note
from messaging.services.transactions import lock_conversation, write_transaction
from messaging.threads.models import Pin
from messaging.threads.payloads import with_extras
from messaging.threads.selectors.pins import visible_pin_count
from messaging.threads.services.reactions import membership_of, refuse_if_gone


def _message_under_lock(message_id: UUID) -> Message:
    """The message, read once its conversation is locked (a delete or hide
    that committed meanwhile is seen)."""
    conversation_id = (
        Message.objects.filter(pk=message_id).values_list("conversation_id", flat=True).first()
    )
    if conversation_id is None:
        raise NotFound(_("No such message."))
    conversation = lock_conversation(conversation_id)
    message = Message.objects.get(pk=message_id)
    message.conversation = conversation
    return message


def _announced(message: Message, pin: Pin) -> None:
    # The payload shows the pin, reactions and thread as they are now.
    fresh = with_extras(
        Message.objects.select_related("sender").prefetch_related("attachments")
    ).get(pk=message.pk)
    events.publish_on_commit(
        events.conversation_group(message.conversation_id), events.message_pinned(fresh, pin)
    )


def pin_message(*, user: User, message_id: UUID) -> Pin:
    """Pin a message to its conversation; pinning a pinned message returns
    its pin and changes nothing (nothing published).

    Refusals, in this order: ``not_found`` (no such message, or not a
    member: the same answer, recorded), ``archived``, ``forbidden`` (``may_pin``: not
    someone who pins here; recorded), ``not_found`` (a system or deleted
    message), ``hidden``, ``too_many_pins``. Audited (``message.pin``);
    ``message.pinned`` to the conversation after commit."""
    with write_transaction(actor=user, attempted=AuditAction.PIN):
        message = _message_under_lock(message_id)
        membership = membership_of(user, message)
        policy.check_pin(user, message, membership=membership)
        refuse_if_gone(message)
        existing = Pin.objects.filter(message=message).first()
        if existing is not None:
            return existing
        if visible_pin_count(message.conversation_id) >= limits.max_pins_per_conversation():
            raise TooManyPins(
                _("A conversation can have at most %(count)s pinned messages; unpin one first.")
                % {"count": limits.max_pins_per_conversation()}
            )
        try:
            with transaction.atomic():
                pin = Pin.objects.create(
                    message=message, conversation_id=message.conversation_id, pinned_by=user
                )
        except IntegrityError:  # pragma: no cover - the conversation lock orders pins
            return Pin.objects.get(message=message)
        audit.record(
            actor=user,
            action=AuditAction.PIN,
            conversation_id=message.conversation_id,
            message_id=message.pk,
        )
        _announced(message, pin)
    return pin


def unpin_message(*, user: User, message_id: UUID) -> bool:
    """Unpin a message; True when it was pinned, False when it was not
    (nothing published). The same people and refusals as ``pin_message``
    (but for the limit). Audited (``message.unpin``); ``message.unpinned``
    after commit."""
    with write_transaction(actor=user, attempted=AuditAction.UNPIN):
        message = _message_under_lock(message_id)
        membership = membership_of(user, message)
        policy.check_pin(user, message, membership=membership)
        refuse_if_gone(message)
        return _unpin(user, message)


def unpin_as_moderator(*, moderator: User, message_id: UUID, note: str) -> bool:
    """A moderator unpins a message (the admin's Pins list), member or not,
    whatever the message's state or the conversation's, with a note saying
    why. Audited (``message.unpin``, the person who pinned it as
    ``target_user_id``, the note in its details); ``message.unpinned``."""
    with write_transaction(actor=moderator, attempted=AuditAction.UNPIN):
        policy.check_moderate(moderator)
        note = clean_moderator_note(note)
        message = _message_under_lock(message_id)
        return _unpin(moderator, message, note=note)


def _unpin(actor: User, message: Message, *, note: str | None = None) -> bool:
    pin = Pin.objects.filter(message=message).first()
    if pin is None:
        return False
    pin.delete()
    moderation = {"moderation": True, "note": note} if note is not None else {}
    audit.record(
        actor=actor,
        action=AuditAction.UNPIN,
        conversation_id=message.conversation_id,
        message_id=message.pk,
        target_user_id=pin.pinned_by_id if note is not None else None,
        **moderation,
    )
    events.publish_on_commit(
        events.conversation_group(message.conversation_id), events.message_unpinned(message)
    )
    return True
