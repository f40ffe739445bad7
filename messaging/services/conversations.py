"""Starting conversations and managing who is in them."""

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Role, User
from messaging import audit, policy
from messaging.errors import (
    AccessDenied,
    InvalidInput,
    NotFound,
)
from messaging.models import (
    AuditAction,
    Conversation,
    ConversationParticipant,
    ConversationType,
    ParticipantRole,
)
from messaging.services.common import (
    LIMITS,
    announce_membership,
    append_message,
    can_manage,
    clean_title,
    lock_conversation,
    parse_uuid,
    read_own_message,
    require_writable,
    write_transaction,
)


def _direct_key(a: User, b: User) -> str:
    return ":".join(sorted([a.pk.hex, b.pk.hex]))


def create_conversation(
    *,
    creator: User,
    kind: str,
    participants: Iterable[User] = (),
    title: str = "",
    metadata: dict | None = None,
) -> Conversation:
    """Start a conversation of ``kind`` between ``creator`` and ``participants``.

    A direct conversation between two people exists once: asking again
    returns it. A support conversation adds every active admin.
    """
    others = list({u.pk: u for u in participants if u.pk != creator.pk}.values())
    title = clean_title(title)
    if len(others) + 1 > LIMITS["MAX_GROUP_MEMBERS"]:
        raise InvalidInput(f"A conversation has at most {LIMITS['MAX_GROUP_MEMBERS']} members.")
    with audit.denials_recorded(actor=creator, attempted=AuditAction.CONVERSATION_CREATE):
        policy.check_new_conversation(creator=creator, kind=kind, others=others)

    if kind == ConversationType.DIRECT:
        existing = Conversation.objects.filter(direct_key=_direct_key(creator, others[0])).first()
        if existing:
            return existing

    members: dict = {creator.pk: (creator, ParticipantRole.ADMIN)}
    if kind == ConversationType.DIRECT:
        members[others[0].pk] = (others[0], ParticipantRole.ADMIN)
    elif kind == ConversationType.GROUP:
        for user in others:
            members[user.pk] = (user, ParticipantRole.MEMBER)
    else:
        requester = creator if creator.role != Role.ADMIN else others[0]
        members = {requester.pk: (requester, ParticipantRole.MEMBER)}
        for admin in User.objects.filter(role=Role.ADMIN, is_active=True):
            members[admin.pk] = (admin, ParticipantRole.ADMIN)

    try:
        with transaction.atomic():
            conversation = Conversation.objects.create(
                type=kind,
                title=title,
                created_by=creator,
                metadata=metadata or {},
                direct_key=_direct_key(creator, others[0])
                if kind == ConversationType.DIRECT
                else None,
            )
            ConversationParticipant.objects.bulk_create(
                ConversationParticipant(conversation=conversation, user=user, role=role)
                for user, role in members.values()
            )
            audit.record(
                actor=creator,
                action=AuditAction.CONVERSATION_CREATE,
                conversation_id=conversation.pk,
                type=kind,
                participants=[str(pk) for pk in members],
            )
            announce_membership(conversation, added=[u for u, _ in members.values()])
    except IntegrityError:
        # Two people opened the same direct conversation at once.
        if kind == ConversationType.DIRECT:
            return Conversation.objects.get(direct_key=_direct_key(creator, others[0]))
        raise
    return conversation


def rename_conversation(*, actor: User, conversation_id, title: str) -> Conversation:
    title = clean_title(title)
    conversation_id = parse_uuid(conversation_id, what="conversation_id")
    with write_transaction(
        actor=actor, attempted=AuditAction.CONVERSATION_UPDATE, conversation_id=conversation_id
    ):
        conversation = lock_conversation(conversation_id)
        if conversation.type == ConversationType.DIRECT:
            raise InvalidInput("A direct conversation has no title.")
        if not can_manage(conversation, actor):
            raise AccessDenied("Only the conversation's admins rename it.")
        require_writable(conversation)
        conversation.title = title
        conversation.save(update_fields=["title", "updated_at"])
        audit.record(
            actor=actor,
            action=AuditAction.CONVERSATION_UPDATE,
            conversation_id=conversation.pk,
            title=title,
        )
        announce_membership(conversation)
    return conversation


def set_archived(*, actor: User, conversation_id, archived: bool) -> Conversation:
    """Archive (read-only, out of the inbox) or unarchive a conversation.

    Allowed to the conversation's admins (both people of a direct
    conversation) and to platform admins.
    """
    conversation_id = parse_uuid(conversation_id, what="conversation_id")
    action = AuditAction.CONVERSATION_ARCHIVE if archived else AuditAction.CONVERSATION_UNARCHIVE
    with write_transaction(actor=actor, attempted=action, conversation_id=conversation_id):
        conversation = lock_conversation(conversation_id)
        if not can_manage(conversation, actor):
            raise AccessDenied("Only the conversation's admins archive it.")
        if conversation.is_archived == archived:
            return conversation
        conversation.archived_at = timezone.now() if archived else None
        conversation.save(update_fields=["archived_at", "updated_at"])
        audit.record(actor=actor, action=action, conversation_id=conversation.pk)
        announce_membership(conversation)
    return conversation


def add_participants(*, actor: User, conversation_id, users: Iterable[User]) -> Conversation:
    """Bring people into a group (or, for admins, more admins into a support
    conversation). People who had left are brought back."""
    conversation_id = parse_uuid(conversation_id, what="conversation_id")
    users = list({u.pk: u for u in users}.values())
    if not users:
        raise InvalidInput("Name at least one person to add.")
    with write_transaction(
        actor=actor, attempted=AuditAction.PARTICIPANT_ADD, conversation_id=conversation_id
    ):
        conversation = lock_conversation(conversation_id)
        require_writable(conversation)
        if conversation.type == ConversationType.DIRECT:
            raise InvalidInput("A direct conversation has exactly two people.")
        if not can_manage(conversation, actor):
            raise AccessDenied("Only the conversation's admins add people.")
        for user in users:
            allowed = (
                user.role == Role.ADMIN and user.is_active
                if conversation.type == ConversationType.SUPPORT
                else policy.can_add_to_group(actor, user)
            )
            if not allowed:
                raise AccessDenied(f"You may not add {user.display_name}.")
        current = {
            p.user_id: p
            for p in ConversationParticipant.objects.filter(
                conversation=conversation, user__in=users
            )
        }
        added = [u for u in users if u.pk not in current or current[u.pk].left_at is not None]
        active_count = conversation.participants.active().count()
        if active_count + len(added) > LIMITS["MAX_GROUP_MEMBERS"]:
            raise InvalidInput(f"A conversation has at most {LIMITS['MAX_GROUP_MEMBERS']} members.")
        now = timezone.now()
        # Newcomers can read the history, but what was said before they came
        # is not news to them: unread starts at the "added" message.
        cursors = {
            "last_read_seq": conversation.last_seq,
            "last_delivered_seq": conversation.last_seq,
        }
        for user in added:
            if user.pk in current:
                ConversationParticipant.objects.filter(pk=current[user.pk].pk).update(
                    left_at=None, joined_at=now, role=ParticipantRole.MEMBER, **cursors
                )
            else:
                ConversationParticipant.objects.create(
                    conversation=conversation, user=user, **cursors
                )
        if added:
            names = ", ".join(u.display_name for u in added)
            notice = append_message(
                conversation,
                sender=actor,
                content=f"{actor.display_name} added {names}",
                metadata={"event": "participant.add", "user_ids": [str(u.pk) for u in added]},
            )
            read_own_message(conversation, actor=actor, seq=notice.seq)
            audit.record(
                actor=actor,
                action=AuditAction.PARTICIPANT_ADD,
                conversation_id=conversation.pk,
                user_ids=[str(u.pk) for u in added],
            )
            announce_membership(conversation, added=added)
    return conversation


def remove_participant(*, actor: User, conversation_id, user: User) -> Conversation:
    """Take ``user`` out of a group or support conversation; ``actor`` is the
    user themselves (leaving) or one of its admins. Their sockets stop
    receiving it at once."""
    conversation_id = parse_uuid(conversation_id, what="conversation_id")
    with write_transaction(
        actor=actor, attempted=AuditAction.PARTICIPANT_REMOVE, conversation_id=conversation_id
    ):
        conversation = lock_conversation(conversation_id)
        if conversation.type == ConversationType.DIRECT:
            raise InvalidInput("Nobody leaves a direct conversation; archive it instead.")
        if actor.pk != user.pk and not can_manage(conversation, actor):
            raise AccessDenied("Only the conversation's admins remove people.")
        membership = (
            ConversationParticipant.objects.active()
            .filter(conversation=conversation, user=user)
            .first()
        )
        if membership is None:
            raise NotFound(f"{user.display_name} is not in this conversation.")
        membership.left_at = timezone.now()
        membership.save(update_fields=["left_at"])
        verb = "left" if actor.pk == user.pk else f"removed {user.display_name}"
        if not conversation.is_archived:
            notice = append_message(
                conversation,
                sender=actor,
                content=f"{actor.display_name} {verb}",
                metadata={"event": "participant.remove", "user_ids": [str(user.pk)]},
            )
            read_own_message(conversation, actor=actor, seq=notice.seq)
        audit.record(
            actor=actor,
            action=AuditAction.PARTICIPANT_REMOVE,
            conversation_id=conversation.pk,
            user_ids=[str(user.pk)],
        )
        announce_membership(conversation, removed=[user])
    return conversation
