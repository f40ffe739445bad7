"""Starting conversations and managing who is in them."""

from collections.abc import Iterable
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Role, User
from messaging import audit, events, limits, notices, policy
from messaging.e2e import services as e2e_services
from messaging.e2e.models import EncryptedConversation
from messaging.e2e.payloads import cache_e2e_state
from messaging.errors import AccessDenied, ConversationArchived, InvalidInput, NotFound
from messaging.integrations.webhooks import dispatch as bot_dispatch
from messaging.models import (
    AuditAction,
    Conversation,
    ConversationParticipant,
    ConversationType,
    Message,
    MessageType,
    ParticipantRole,
)
from messaging.services.messages import refuse_if_muted
from messaging.services.store import store_message
from messaging.services.transactions import lock_conversation, write_transaction
from messaging.support.models import SupportRequest
from messaging.support.subjects import clean_subject
from notifications import tasks as notification_tasks


def _direct_key(a: User, b: User, *, encrypted: bool = False) -> str:
    """One plain and one encrypted direct conversation per pair at most."""
    key = ":".join(sorted([a.pk.hex, b.pk.hex]))
    return f"{key}:e2e" if encrypted else key


def _check_encryptable(kind: str, members: list[User]) -> None:
    """An end-to-end encrypted conversation is direct or a group, of at
    most ``E2E_MAX_MEMBERS`` people, none of them a bot (docs/e2e.md, "What
    stops working, on purpose")."""
    if kind == ConversationType.SUPPORT:
        raise InvalidInput(_("Support conversations cannot be end-to-end encrypted."))
    _check_encrypted_members(len(members), members)


def _check_encrypted_members(count: int, users: Iterable[User]) -> None:
    most = settings.E2E_MAX_MEMBERS
    if count > most:
        raise InvalidInput(
            _("An end-to-end encrypted conversation has at most %(count)s members.")
            % {"count": most}
        )
    if any(user.role == Role.BOT for user in users):
        raise InvalidInput(_("Bots cannot be in end-to-end encrypted conversations."))


def _check_size(count: int, *, actor: User) -> None:
    """At most the group size of ``actor``'s role (``limits.max_group_members``):
    whoever makes a conversation bigger is held to their role's limit."""
    most = limits.max_group_members(actor.role)
    if count > most:
        raise InvalidInput(_("A conversation has at most %(count)s members.") % {"count": most})


def create_conversation(
    *,
    creator: User,
    kind: str,
    participants: Iterable[User] = (),
    title: str = "",
    metadata: dict | None = None,
    notify: bool = True,
    encrypted: bool = False,
) -> Conversation:
    """Start a conversation of ``kind`` between ``creator`` and ``participants``.

    ``title`` is clean (``validation.clean_title``); a group needs one. A
    direct conversation between two people exists once: asking again
    returns it, unarchived if it was archived (audited as an unarchive). A
    support conversation adds every active admin. The people added are
    notified of it unless ``notify`` is False (old history imported: their
    sockets still receive ``conversation.added``).

    ``encrypted``: end-to-end encrypted (docs/e2e.md), at key version 0
    with a rotation required; the encrypted direct conversation of two
    people is another than their plain one.
    """
    others = list({u.pk: u for u in participants if u.pk != creator.pk}.values())
    _check_size(len(others) + 1, actor=creator)
    if encrypted:
        _check_encryptable(kind, [creator, *others])
    if kind == ConversationType.GROUP and not title.strip():
        raise InvalidInput(_("A group needs a name."))
    if kind == ConversationType.DIRECT and title.strip():
        raise InvalidInput(_("A direct conversation has no title."))
    with audit.denials_recorded(actor=creator, attempted=AuditAction.CONVERSATION_CREATE):
        policy.check_new_conversation(creator=creator, kind=kind, others=others)
    if kind == ConversationType.GROUP:
        # Its title and its people told they were added: not from someone
        # muted everywhere.
        refuse_if_muted(creator, None)

    direct_key = (
        _direct_key(creator, others[0], encrypted=encrypted)
        if kind == ConversationType.DIRECT
        else None
    )
    if direct_key is not None:
        existing = Conversation.objects.filter(direct_key=direct_key).first()
        if existing:
            return _reopened(existing, creator=creator)

    members: dict[UUID, tuple[User, str]] = {creator.pk: (creator, ParticipantRole.ADMIN)}
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
                direct_key=direct_key,
            )
            cache_e2e_state(
                conversation, e2e_services.make_encrypted(conversation) if encrypted else None
            )
            ConversationParticipant.objects.bulk_create(
                ConversationParticipant(conversation=conversation, user=user, role=role)
                for user, role in members.values()
            )
            details: dict = {"type": kind, "participants": [str(pk) for pk in members]}
            if encrypted:
                details["encrypted"] = True
            audit.record(
                actor=creator,
                action=AuditAction.CONVERSATION_CREATE,
                conversation_id=conversation.pk,
                **details,
            )
            _announce_membership(conversation, added=[u for u, _ in members.values()])
            bot_dispatch.note_members([u for u, _ in members.values()])
            if notify and kind != ConversationType.DIRECT:
                # A direct conversation tells its other person with its first message.
                events.enqueue_on_commit(
                    notification_tasks.notify_added,
                    str(conversation.pk),
                    [str(pk) for pk in members if pk != creator.pk],
                    str(creator.pk),
                )
    except IntegrityError:
        # Two people opened the same direct conversation at once.
        if direct_key is not None:
            return Conversation.objects.get(direct_key=direct_key)
        raise
    return conversation


def _reopened(conversation: Conversation, *, creator: User) -> Conversation:
    """Someone opens a direct conversation again: it comes back from the
    archive, so that they can write in it."""
    if not conversation.is_archived:
        return conversation
    return set_archived(actor=creator, conversation_id=conversation.pk, archived=False)


def rename_conversation(*, actor: User, conversation_id: UUID, title: str) -> Conversation:
    """Retitle a group or support conversation (``title`` clean). The same
    title again changes nothing: no audit row, no event."""
    with write_transaction(
        actor=actor, attempted=AuditAction.CONVERSATION_UPDATE, conversation_id=conversation_id
    ):
        conversation = lock_conversation(conversation_id)
        policy.check_visible(actor, conversation)
        if conversation.type == ConversationType.DIRECT:
            raise InvalidInput(_("A direct conversation has no title."))
        policy.check_manage(
            actor, conversation, refusal=_("Only the conversation's admins rename it.")
        )
        _check_writable(conversation)
        # A title is words every member reads: not from someone muted here.
        refuse_if_muted(actor, conversation.pk)
        if conversation.type == ConversationType.GROUP and not title.strip():
            raise InvalidInput(_("A group needs a name."))
        # A support request's subject is its conversation's title (docs/api.md).
        request = SupportRequest.objects.filter(conversation_id=conversation.pk).first()
        if request is not None:
            title = clean_subject(title)
            if request.subject != title:
                request.subject = title
                request.save(update_fields=["subject", "updated_at"])
        old_title = conversation.title
        if title == old_title:
            return conversation
        conversation.title = title
        conversation.save(update_fields=["title", "updated_at"])
        # Said in the conversation, as a member added or removed is.
        notice = _post_notice(
            conversation,
            actor=actor,
            words=notices.notice(
                notices.CONVERSATION_RENAMED, actor=actor.display_name, title=title
            ),
            metadata={"event": "conversation.rename"},
        )
        audit.record(
            actor=actor,
            action=AuditAction.CONVERSATION_UPDATE,
            conversation_id=conversation.pk,
            message_id=notice.pk,
            old_title=old_title,
            new_title=title,
        )
        _announce_membership(conversation)
    return conversation


def set_archived(*, actor: User, conversation_id: UUID, archived: bool) -> Conversation:
    """Archive (read-only, out of the inbox) or unarchive a conversation.

    Allowed to whoever ``policy.may_manage`` it: the conversation's admins
    (both people of a direct conversation) and platform admins; archiving a
    direct conversation, only to someone who may block the other person
    (``policy.may_archive``).
    """
    action = AuditAction.CONVERSATION_ARCHIVE if archived else AuditAction.CONVERSATION_UNARCHIVE
    with write_transaction(actor=actor, attempted=action, conversation_id=conversation_id):
        conversation = lock_conversation(conversation_id)
        policy.check_visible(actor, conversation)
        policy.check_manage(
            actor, conversation, refusal=_("Only the conversation's admins archive it.")
        )
        if archived and not policy.may_archive(actor, conversation):
            raise AccessDenied(
                _(
                    "Archiving this conversation would shut the other person out, which "
                    "you may not do; Archive for me puts it away for you alone."
                )
            )
        if conversation.is_archived == archived:
            return conversation
        conversation.archived_at = timezone.now() if archived else None
        conversation.save(update_fields=["archived_at", "updated_at"])
        audit.record(actor=actor, action=action, conversation_id=conversation.pk)
        _announce_membership(conversation)
    return conversation


def add_participants(*, actor: User, conversation_id: UUID, users: Iterable[User]) -> Conversation:
    """Bring people into a group (or, for admins, more admins into a support
    conversation). People who had left are brought back."""
    users = list({u.pk: u for u in users}.values())
    if not users:
        raise InvalidInput(_("Name at least one person to add."))
    with write_transaction(
        actor=actor, attempted=AuditAction.PARTICIPANT_ADD, conversation_id=conversation_id
    ):
        conversation = lock_conversation(conversation_id)
        policy.check_visible(actor, conversation)
        _check_writable(conversation)
        if conversation.type == ConversationType.DIRECT:
            raise InvalidInput(_("A direct conversation has exactly two people."))
        policy.check_manage(
            actor, conversation, refusal=_("Only the conversation's admins add people.")
        )
        # Bringing people (or one's bot) in is speaking there too.
        refuse_if_muted(actor, conversation.pk)
        for user in users:
            if not policy.may_add_member(actor, conversation, user):
                raise AccessDenied(_("You may not add %(name)s.") % {"name": user.display_name})
        current = {
            p.user_id: p
            for p in ConversationParticipant.objects.filter(
                conversation=conversation, user__in=users
            )
        }
        added = [u for u in users if u.pk not in current or current[u.pk].left_at is not None]
        count = conversation.participants.active().count() + len(added)
        _check_size(count, actor=actor)
        encrypted = _is_encrypted(conversation)
        if encrypted:
            _check_encrypted_members(count, added)
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
        bot_dispatch.note_members(added)
        if added:
            names = ", ".join(u.display_name for u in added)
            notice = _post_notice(
                conversation,
                actor=actor,
                words=notices.notice(
                    notices.PARTICIPANTS_ADDED, actor=actor.display_name, names=names
                ),
                metadata={"event": "participant.add", "user_ids": [str(u.pk) for u in added]},
            )
            # One row per person, so the log filters by whom it was about.
            for user in added:
                audit.record(
                    actor=actor,
                    action=AuditAction.PARTICIPANT_ADD,
                    conversation_id=conversation.pk,
                    message_id=notice.pk,
                    target_user_id=user.pk,
                    user_ids=[str(user.pk)],
                )
            if encrypted:
                # Newcomers have no key yet, and get none made before they came.
                e2e_services.require_rotation([conversation.pk])
            _announce_membership(conversation, added=added)
            events.enqueue_on_commit(
                notification_tasks.notify_added,
                str(conversation.pk),
                [str(u.pk) for u in added],
                str(actor.pk),
                str(notice.pk),
            )
    return conversation


def remove_participant(*, actor: User, conversation_id: UUID, user: User) -> Conversation:
    """Take ``user`` out of a group or support conversation; ``actor`` is the
    user themselves (leaving) or one of its managers. Their sockets stop
    receiving it at once."""
    with write_transaction(
        actor=actor, attempted=AuditAction.PARTICIPANT_REMOVE, conversation_id=conversation_id
    ):
        conversation = lock_conversation(conversation_id)
        policy.check_visible(actor, conversation)
        if conversation.type == ConversationType.DIRECT:
            raise InvalidInput(_("Nobody leaves a direct conversation; archive it instead."))
        if actor.pk != user.pk:
            policy.check_manage(
                actor, conversation, refusal=_("Only the conversation's admins remove people.")
            )
        membership = (
            ConversationParticipant.objects.active()
            .filter(conversation=conversation, user=user)
            .first()
        )
        if membership is None:
            raise NotFound(_("%(name)s is not in this conversation.") % {"name": user.display_name})
        if actor.pk == user.pk:
            words = notices.notice(notices.PARTICIPANT_LEFT, actor=actor.display_name)
        else:
            words = notices.notice(
                notices.PARTICIPANT_REMOVED, actor=actor.display_name, name=user.display_name
            )
        _take_out(conversation, membership, actor=actor, words=words)
        # Their bots leave with them: a bot (and its incoming webhooks) must
        # not go on reading and posting for someone no longer there.
        bots = list(
            ConversationParticipant.objects.active()
            .filter(conversation=conversation, user__bot__owner=user)
            .select_related("user")
        )
        for bot in bots:
            _take_out(
                conversation,
                bot,
                actor=actor,
                words=notices.notice(
                    notices.PARTICIPANT_REMOVED,
                    actor=actor.display_name,
                    name=bot.user.display_name,
                ),
            )
        # Whoever left gets no key made after (read nothing said after).
        e2e_services.require_rotation([conversation.pk])
        _announce_membership(conversation, removed=[user, *(bot.user for bot in bots)])
    return conversation


def _take_out(
    conversation: Conversation,
    membership: ConversationParticipant,
    *,
    actor: User,
    words: dict,
) -> None:
    """End ``membership`` now, with its notice (unless the conversation is
    archived) and its audit row (the caller holds the conversation's lock)."""
    membership.left_at = timezone.now()
    membership.save(update_fields=["left_at"])
    notice = None
    if not conversation.is_archived:
        notice = _post_notice(
            conversation,
            actor=actor,
            words=words,
            metadata={"event": "participant.remove", "user_ids": [str(membership.user_id)]},
        )
    audit.record(
        actor=actor,
        action=AuditAction.PARTICIPANT_REMOVE,
        conversation_id=conversation.pk,
        message_id=notice.pk if notice else None,
        target_user_id=membership.user_id,
        user_ids=[str(membership.user_id)],
    )


# --- Shared steps -------------------------------------------------------------------


def _is_encrypted(conversation: Conversation) -> bool:
    return EncryptedConversation.objects.filter(conversation_id=conversation.pk).exists()


def _check_writable(conversation: Conversation) -> None:
    if conversation.is_archived:
        raise ConversationArchived(_("This conversation is archived."))


def _post_notice(
    conversation: Conversation, *, actor: User, words: dict, metadata: dict
) -> Message:
    """Store a system message under the next seq (the caller holds the
    conversation's lock and has checked the policy; the actor need not be a
    member, or may just have left). The actor wrote it, so it is not unread
    for them. ``words`` (``notices.notice``) is its English ``content`` and,
    kept in its metadata, its words in each reader's language."""
    message = Message(
        conversation_id=conversation.pk,
        sender=actor,
        content=notices.english(words),
        message_type=MessageType.SYSTEM,
        metadata={**metadata, "notice": words},
        sent_at=timezone.now(),
    )
    store_message(message, claim=Conversation.objects.all(), audit_action=None)
    conversation.last_seq = message.seq
    conversation.last_message_at = message.sent_at
    return message


def _announce_membership(
    conversation: Conversation, *, added: Iterable[User] = (), removed: Iterable[User] = ()
) -> None:
    """Tell the people added and removed (their own groups) and the members
    (the conversation's group) after commit."""
    added, removed = list(added), list(removed)
    if added:
        # Built once: the payload loads every member, and support
        # conversations are announced to all admins.
        frame = events.conversation_added(conversation)
    for user in added:
        events.publish_on_commit(
            events.user_group(user.pk), frame, conversation_id=str(conversation.pk)
        )
    for user in removed:
        events.publish_on_commit(
            events.user_group(user.pk),
            events.conversation_removed(conversation.pk),
            conversation_id=str(conversation.pk),
        )
    events.publish_on_commit(
        events.conversation_group(conversation.pk), events.conversation_updated(conversation)
    )
