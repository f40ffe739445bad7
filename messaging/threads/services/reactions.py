"""Reactions: one person's emoji on one message, added and taken back with
one click, live for every member (``reaction.added``, ``reaction.removed``).

One row per (message, user, emoji): the UNIQUE constraint is the final word
when two clicks race (two tabs, two server processes); the loser finds the
row there and answers as if it had added it. The message row is locked
(``FOR NO KEY UPDATE``) while a reaction is added or removed, so the limits
(``MAX_REACTIONS_PER_MESSAGE`` distinct emoji, ``MAX_REACTIONS_PER_PERSON``
per person) count exactly, and a reaction never lands on a message deleted
or hidden a moment before.
"""

from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import audit, events, limits, policy
from messaging.errors import MessageHidden, NotFound, TooManyReactions
from messaging.models import AuditAction, ConversationParticipant, Message, MessageType
from messaging.moderation.services.actions import _clean_note as clean_moderator_note
from messaging.services.messages import refuse_if_muted
from messaging.services.transactions import write_transaction
from messaging.threads.emoji import clean_emoji
from messaging.threads.models import Reaction


def locked_message(message_id: UUID) -> Message:
    """The message with its conversation, its row locked against concurrent
    reactions, deletes and hides for the rest of the transaction (other
    rows' foreign keys to it are not held up); NotFound when there is none."""
    message = (
        Message.objects.select_related("conversation")
        .select_for_update(no_key=True, of=("self",))
        .filter(pk=message_id)
        .first()
    )
    if message is None:
        raise NotFound(_("No such message."))
    return message


def membership_of(user: User, message: Message) -> ConversationParticipant | None:
    """The user's active membership of the message's conversation, or None."""
    return (
        ConversationParticipant.objects.active()
        .filter(conversation_id=message.conversation_id, user_id=user.pk)
        .first()
    )


def refuse_if_gone(message: Message) -> None:
    """System and deleted messages are ``not_found`` for reactions, pins and
    saving; a message a moderator hid is ``hidden``."""
    if message.message_type == MessageType.SYSTEM or message.deleted_at is not None:
        raise NotFound(_("No such message."))
    if message.hidden_at is not None:
        raise MessageHidden(_("A moderator hid this message."))


def _recorded(
    *, actor: User, message: Message, emoji: str, person: User, added: bool, **details
) -> None:
    """The audit row of a reaction put on or taken off (``details`` added
    to it), and its ``reaction.added``/``reaction.removed`` after commit."""
    audit.record(
        actor=actor,
        action=AuditAction.REACTION_ADD if added else AuditAction.REACTION_REMOVE,
        conversation_id=message.conversation_id,
        message_id=message.pk,
        emoji=emoji,
        **details,
    )
    events.publish_on_commit(
        events.conversation_group(message.conversation_id),
        events.reaction_changed(added=added, message=message, emoji=emoji, user=person),
    )


def add_reaction(*, user: User, message_id: UUID, emoji: str) -> bool:
    """Put ``emoji`` (``clean_emoji``: ``invalid`` unless one emoji) on a
    message; True when it was added, False when the person had it there
    already (nothing published, nothing audited).

    Refusals, in this order: ``not_found`` (no such message, or not a
    member: the same answer, recorded), ``not_found`` (a system or deleted message),
    ``hidden``, ``archived``, ``blocked`` (a direct conversation with a
    block: whoever may not post may not react), ``muted`` (a moderator's
    mute), ``too_many_reactions``. Audited (``reaction.add``, the emoji in
    its details); ``reaction.added`` to the conversation after commit."""
    emoji = clean_emoji(emoji)
    with write_transaction(actor=user, attempted=AuditAction.REACTION_ADD):
        message = locked_message(message_id)
        membership = membership_of(user, message)
        policy.check_read_message(user, message, membership=membership)
        refuse_if_gone(message)
        policy.check_react(user, message, adding=True, membership=membership)
        refuse_if_muted(user, message.conversation_id)
        # Two small reads, not every reaction of a popular message.
        on_message = Reaction.objects.filter(message=message)
        mine = list(on_message.filter(user=user).values_list("emoji", flat=True))
        if emoji in mine:
            return False
        if len(mine) >= limits.max_reactions_per_person():
            raise TooManyReactions(
                _("You can put at most %(count)s reactions on a message.")
                % {"count": limits.max_reactions_per_person()}
            )
        if (
            not on_message.filter(emoji=emoji).exists()
            and on_message.values("emoji").distinct().count() >= limits.max_reactions_per_message()
        ):
            raise TooManyReactions(
                _("A message can have at most %(count)s different reactions.")
                % {"count": limits.max_reactions_per_message()}
            )
        try:
            with transaction.atomic():  # a savepoint: the race's loser carries on
                Reaction.objects.create(message=message, user=user, emoji=emoji)
        except IntegrityError:
            return False  # added a moment ago elsewhere (UNIQUE): already there
        _recorded(actor=user, message=message, emoji=emoji, person=user, added=True)
    return True


def remove_reaction(*, user: User, message_id: UUID, emoji: str) -> bool:
    """Take one's own ``emoji`` off a message; True when it was there, False
    when it was not (nothing published). Any member may, in an archived
    conversation, muted or blocked too; ``not_found`` and ``hidden`` as for
    ``add_reaction``. Audited (``reaction.remove``);
    ``reaction.removed`` after commit."""
    emoji = clean_emoji(emoji)
    with write_transaction(actor=user, attempted=AuditAction.REACTION_REMOVE):
        message = locked_message(message_id)
        membership = membership_of(user, message)
        policy.check_read_message(user, message, membership=membership)
        refuse_if_gone(message)
        policy.check_react(user, message, adding=False, membership=membership)
        removed, _per_model = Reaction.objects.filter(
            message=message, user=user, emoji=emoji
        ).delete()
        if not removed:
            return False
        _recorded(actor=user, message=message, emoji=emoji, person=user, added=False)
    return True


def remove_reaction_as_moderator(*, moderator: User, reaction_id: int, note: str) -> Reaction:
    """A moderator takes someone's reaction off a message (the admin's
    Reactions list), whatever the message's state, with a note saying why
    (``invalid`` without one). One audit row (``reaction.remove``, the
    person as ``target_user_id``, the emoji and note in its details);
    ``reaction.removed`` to the conversation after commit. ``not_found``
    when the reaction is gone already."""
    with write_transaction(actor=moderator, attempted=AuditAction.REACTION_REMOVE):
        policy.check_moderate(moderator)
        note = clean_moderator_note(note)
        reaction = Reaction.objects.filter(pk=reaction_id).select_related("user").first()
        if reaction is None:
            raise NotFound(_("No such reaction."))
        message = locked_message(reaction.message_id)
        removed, _per_model = Reaction.objects.filter(pk=reaction.pk).delete()
        if not removed:
            raise NotFound(_("No such reaction."))
        _recorded(
            actor=moderator,
            message=message,
            emoji=reaction.emoji,
            person=reaction.user,
            added=False,
            target_user_id=reaction.user_id,
            moderation=True,
            note=note,
        )
    return reaction
