"""Every "may X" rule of messaging. Services, selectors, views, templates
(through ``messaging.templatetags.policy``) and consumers ask this module;
nothing else tests roles, memberships or archive state to decide access.

The rules:

* Nobody acts unless their account is active (``is_acting``; one place for
  the Python forms, ``_acting`` for the query forms).
* Direct: a student with their assigned mentors and with admins; a mentor
  with their students, with other mentors and with admins; an admin with
  anyone active. Nobody starts a direct conversation with themselves.
  Bots (role ``bot``) start none; a person starts one with a bot they own,
  an admin with any bot. So a bot is in a group only when someone who
  manages the group may add it (its owner, through ``may_add_to_group``,
  or an admin), and posts only where it is a member, as anyone does.
* Bots and incoming webhooks: mentors and admins create bots
  (``may_create_bot``); the owner and admins manage one
  (``may_manage_bot``); mentors and admins who may post in and manage a
  conversation give it an incoming webhook (``may_create_incoming_webhook``).
  Nobody writes directly to someone they blocked or who blocked them
  (``messaging.moderation``): not in a new direct conversation, not in an
  existing one. Group and support conversations are unaffected (a block
  removes nobody from a group).
* Block: anyone but oneself, except that a student may not block their
  assigned mentor or any admin (they report instead).
* Group: mentors and admins create groups. A mentor may add the people they
  could message directly; an admin may add anyone active, but not, to a
  group they are not in, themselves or a bot other than an AI assistant
  (either would read it for them). Only admins join a support conversation
  after it was opened.
* Support: connects one student or mentor (the requester) with all admins.
  A student or mentor opens one for themselves; an admin opens one for a
  student or mentor.
* Read a conversation: its active members.
* Post to it: its active members, while it is not archived and no
  moderator's mute (``Mute``) applies to them there or everywhere.
* Mute it (its notifications, for oneself): its active members, archived
  or not.
* Manage it (rename, archive, add and remove people): its conversation
  admins (active members with the admin role) and platform admins.
* Change a message: its sender, as a member of a writable conversation.
  Moderate (delete or hide anyone's message, warn, mute, deactivate):
  platform admins and holders of the ``moderate`` permission.
* Ask the AI assistant for a summary of one's unread messages
  (``may_summarise``): mentors and admins, as members.
* Mention everyone (``@all``, ``@here``): mentors and admins, in group and
  support conversations.
* React to a message (``messaging.threads``): as posting (a member, not
  archived, no block in a direct conversation; a moderator's mute is the
  service's ``muted``). Taking one's own reaction back: any member, archived,
  blocked or muted.
* Pin and unpin (``may_pin``): members only, never in an archived
  conversation; in a direct conversation either person, unless one of them
  blocked the other (a pin is an event to them); in a group its
  mentors and admins (by platform role) and its conversation admins; in a
  support conversation the support staff (``may_work_support_queue``:
  platform admins and Support agents). Students in groups and requesters in
  support conversations may not.
* Remove a message's link preview card (``may_remove_link_preview``): its
  sender only, while active; moderators hide or delete the message instead.
* See someone's presence: oneself, the people one shares a conversation
  with (both active members), and the people one may message.
* Support requests (``messaging.support``): platform admins are its staff:
  they see every request (the queue), move statuses, assign and set
  priorities. The requester sees their own requests and, with the staff,
  is one of the parties of ``messaging.support.transitions`` (the one table
  of who may make which status move; ``support_parties`` says which parties
  a user is). Only the requester rates a request, once, after it was
  resolved or closed. Assignees are active platform admins.
* Fetch an attachment (its bytes, thumbnail, preview pages): an unsent
  upload, its uploader only; a sent one, the current (active) members of
  its conversation while its message is neither deleted nor hidden by a
  moderator. Platform admins are no exception here: moderation will read
  files through its own audited path.

A refusal never tells an outsider that a conversation exists:
``check_read`` (and ``check_visible``, ``check_manage``) refuse someone who
does not read a conversation with ``NotVisible``, answered exactly as a
missing conversation (or message, or thread: the caller names what was
asked for) and recorded as an ``access.denied`` with the real reason.
``AccessDenied`` (``forbidden``) is for members refused for another reason.

Most rules come in two forms that must agree (tests/messaging/test_policy.py
compares them over every role pair): ``may_…(user, …) -> bool`` for one
case, and a queryset for lists and for SQL that must decide in the database
(``postable_conversations`` is the condition of the one-statement send).
``check_…`` raises the error a service reports.

A query form's conditions stay on its model's own row or inside ``Exists``
subqueries (no joins): the send turns ``postable_conversations`` into an
``UPDATE … WHERE`` whose conditions PostgreSQL re-checks on the row it
locked, so a conversation archived while a send waited is not written to.
"""

from collections.abc import Callable, Iterable
from datetime import datetime
from functools import wraps
from typing import Any, Final, TypeVar
from uuid import UUID

from django.contrib.auth.models import Permission
from django.db.models import Exists, Model, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import BOT_OWNER_ROLES, MentorAssignment, Role, User
from messaging.errors import (
    AccessDenied,
    ConversationArchived,
    InvalidInput,
    NotFound,
    NotVisible,
    PersonBlocked,
)
from messaging.files.models import Attachment
from messaging.integrations.models import Bot, BotKind
from messaging.models import (
    Conversation,
    ConversationParticipant,
    ConversationType,
    Message,
    Mute,
    ParticipantRole,
    UserBlock,
)
from messaging.support.models import SupportRequest, SupportStatus

M = TypeVar("M", bound=Model)


class _LookUp:
    """The caller did not bring the user's membership row: look it up."""

    def __repr__(self) -> str:
        return "LOOK_UP"


LOOK_UP: Final = _LookUp()
Membership = ConversationParticipant | None | _LookUp


# --- Who acts -----------------------------------------------------------------


def is_acting(user: Any) -> bool:
    """Every rule's first condition: a signed-in, active account."""
    return bool(user is not None and user.is_authenticated and user.is_active)


def _acting(user: Any) -> Q:
    """``is_acting`` in SQL, read from the database at query time: a socket
    holds its user object for hours, and a deactivation must count at once."""
    user_id = getattr(user, "pk", None)
    if user_id is None:
        return Q(pk__in=[])  # anonymous: matches nothing
    return Q(Exists(User.objects.filter(pk=user_id, is_active=True)))


def _rule(rule: Callable[..., bool]) -> Callable[..., bool]:
    """A Python form: False unless its first argument ``is_acting``."""

    @wraps(rule)
    def checked(user: Any, *args: Any, **kwargs: Any) -> bool:
        return is_acting(user) and rule(user, *args, **kwargs)

    return checked


def _query(query: Callable[..., QuerySet[M]]) -> Callable[..., QuerySet[M]]:
    """A query form: empty unless its first argument is active in the database."""

    @wraps(query)
    def checked(user: Any, *args: Any, **kwargs: Any) -> QuerySet[M]:
        return query(user, *args, **kwargs).filter(_acting(user))

    return checked


def _check_acting(user: Any) -> None:
    if not is_acting(user):
        raise AccessDenied(_("This account is deactivated."))


def check_acting(user: Any) -> None:
    """Raise AccessDenied unless ``user`` is signed in and active: for
    actions that only ask that (lifting one's own block)."""
    _check_acting(user)


# --- People -------------------------------------------------------------------


def is_assigned(*, mentor: User, student: User) -> bool:
    return MentorAssignment.objects.filter(mentor=mentor, student=student).exists()


def blocked_between(user: User, other: User) -> bool:
    """Whether either of the two blocked the other."""
    return UserBlock.objects.filter(
        Q(blocker=user.pk, blocked=other.pk) | Q(blocker=other.pk, blocked=user.pk)
    ).exists()


def _blocked_with(user: User, person: Any) -> Exists:
    """``person`` (an ``OuterRef`` to a user id) and ``user``: either
    blocked the other."""
    user_id = getattr(user, "pk", None)
    return Exists(
        UserBlock.objects.filter(
            Q(blocker=user_id, blocked=person) | Q(blocker=person, blocked=user_id)
        )
    )


@_rule
def may_block(user: User, other: User) -> bool:
    """Block ``other``: anyone but oneself, except that a student keeps
    their assigned mentors and the admins within reach (they report a
    message instead: a block would cut them off from the people who look
    after them). Deactivated accounts may be blocked too."""
    if other.pk == user.pk:
        return False
    if user.role == Role.STUDENT:
        if other.role == Role.ADMIN:
            return False
        if other.role == Role.MENTOR and is_assigned(mentor=other, student=user):
            return False
    return True


def check_block(user: User, other: User) -> None:
    _check_acting(user)
    if other.pk == user.pk:
        raise InvalidInput(_("You can't block yourself."))
    if not may_block(user, other):
        raise AccessDenied(_("You can't block your mentor or an admin; report a message instead."))


@_rule
def may_start_direct(user: User, other: User) -> bool:
    return _roles_allow_direct(user, other) and not blocked_between(user, other)


def _roles_allow_direct(user: User, other: User) -> bool:
    """``may_start_direct`` before blocks: who may talk to whom by role and
    assignment. Bots start no conversation; a person talks to a bot
    directly when they own it or are an admin."""
    if not other.is_active or other.pk == user.pk:
        return False
    if user.role == Role.BOT:
        return False
    if other.role == Role.BOT:
        return user.role == Role.ADMIN or owns_bot(user, other)
    if Role.ADMIN in (user.role, other.role):
        return True
    if user.role == Role.MENTOR and other.role == Role.MENTOR:
        return True
    if user.role == Role.MENTOR and other.role == Role.STUDENT:
        return is_assigned(mentor=user, student=other)
    if user.role == Role.STUDENT and other.role == Role.MENTOR:
        return is_assigned(mentor=other, student=user)
    return False


@_query
def messageable_users(user: User) -> QuerySet[User]:
    """The people ``user`` may start a direct conversation with."""
    people = (
        User.objects.filter(is_active=True)
        .exclude(pk=user.pk)
        .exclude(_blocked_with(user, OuterRef("pk")))
    )
    if user.role == Role.ADMIN:
        return people
    own_bots = Q(Exists(Bot.objects.filter(user=OuterRef("pk"), owner=user.pk)), role=Role.BOT)
    if user.role == Role.MENTOR:
        mentored = Exists(MentorAssignment.objects.filter(mentor=user, student=OuterRef("pk")))
        return people.filter(
            Q(role__in=[Role.ADMIN, Role.MENTOR]) | Q(mentored, role=Role.STUDENT) | own_bots
        )
    if user.role == Role.STUDENT:
        mentoring = Exists(MentorAssignment.objects.filter(mentor=OuterRef("pk"), student=user))
        return people.filter(Q(role=Role.ADMIN) | Q(mentoring, role=Role.MENTOR) | own_bots)
    return people.none()


@_rule
def may_create_group(user: User) -> bool:
    return user.role in (Role.MENTOR, Role.ADMIN)


@_rule
def may_add_to_group(actor: User, target: User) -> bool:
    """Whether ``actor`` may bring ``target`` into a group (at its creation,
    or later as one of its managers)."""
    if not target.is_active:
        return False
    if actor.role == Role.ADMIN:
        return True
    return actor.role == Role.MENTOR and may_start_direct(actor, target)


@_rule
def may_open_support(creator: User, requester: User) -> bool:
    if not requester.is_active or requester.role in (Role.ADMIN, Role.BOT):
        return False
    return creator.pk == requester.pk or creator.role == Role.ADMIN


@_rule
def may_add_member(actor: User, conversation: Conversation, target: User) -> bool:
    """Whether ``target`` may be brought into ``conversation`` by ``actor``
    (who must also ``may_manage`` it): anyone ``may_add_to_group`` for a
    group but the actor themselves, active admins for a support
    conversation, nobody for a direct one. A platform admin manages groups
    they are not in without reading them: adding themselves, or a bot
    that reads for someone (its token, which they may rotate; its outgoing
    webhook), would open the group's whole history to them (moderation
    reads are audited, docs/security.md). An AI assistant they may add."""
    if conversation.type == ConversationType.GROUP:
        if target.pk == actor.pk:
            return False
        if _reads_for_someone(target) and _membership(actor, conversation, LOOK_UP) is None:
            return False
        return may_add_to_group(actor, target)
    if conversation.type == ConversationType.SUPPORT:
        return target.is_active and target.role == Role.ADMIN
    return False


def _assistants(user_id: UUID | OuterRef) -> QuerySet[Bot]:
    return Bot.objects.filter(user=user_id, kind=BotKind.ASSISTANT)


def _reads_for_someone(user: User) -> bool:
    """A bot whose reading reaches a person: its token's holder, or its
    outgoing webhook's URL (every bot but an AI assistant, whose answers
    stay in the conversation)."""
    return user.role == Role.BOT and not _assistants(user.pk).exists()


@_query
def addable_users(actor: User, conversation: Conversation) -> QuerySet[User]:
    """``may_add_member`` as a query: who ``actor`` may add to ``conversation``
    (current members included; the caller leaves them out)."""
    active = User.objects.filter(is_active=True)
    if conversation.type == ConversationType.SUPPORT:
        return active.filter(role=Role.ADMIN)
    if conversation.type == ConversationType.GROUP:
        if actor.role == Role.ADMIN:
            pool = active.exclude(pk=actor.pk)
            if _membership(actor, conversation, LOOK_UP) is None:
                pool = pool.exclude(Q(role=Role.BOT) & ~Exists(_assistants(OuterRef("pk"))))
            return pool
        if actor.role == Role.MENTOR:
            return messageable_users(actor).exclude(pk=actor.pk)
    return active.none()


def check_new_conversation(*, creator: User, kind: str, others: Iterable[User]) -> None:
    """Raise unless ``creator`` may start a ``kind`` conversation with ``others``.

    ``others`` excludes the creator. For support conversations it names the
    requester when an admin opens one on their behalf, and is empty otherwise;
    the admins are added by the service.
    """
    others = list(others)
    if kind == ConversationType.DIRECT:
        if len(others) != 1:
            raise InvalidInput(_("A direct conversation has exactly one other person."))
        if not may_start_direct(creator, others[0]):
            if is_acting(creator) and _roles_allow_direct(creator, others[0]):
                check_not_blocked(creator, others[0])  # allowed but for a block: say so
            raise AccessDenied(_("You may not start a conversation with this person."))
    elif kind == ConversationType.GROUP:
        if not may_create_group(creator):
            raise AccessDenied(_("Only mentors and admins create groups."))
        denied = [u for u in others if not may_add_to_group(creator, u)]
        if denied:
            raise AccessDenied(
                _("You may not add: %(names)s")
                % {"names": ", ".join(sorted(u.display_name for u in denied))}
            )
    elif kind == ConversationType.SUPPORT:
        if creator.role == Role.ADMIN:
            if len(others) != 1:
                raise InvalidInput(_("An admin opens a support conversation for one person."))
            requester = others[0]
        else:
            if others:
                raise InvalidInput(_("A support conversation connects you with the admins."))
            requester = creator
        if not may_open_support(creator, requester):
            raise AccessDenied(_("You may not open this support conversation."))
    else:
        raise InvalidInput(_("Unknown conversation type %(type)s.") % {"type": repr(kind)})


# --- Bots and webhooks (messaging.integrations.bots, .webhooks) ------------------


def owns_bot(user: User, bot_user: User) -> bool:
    """Whether ``bot_user`` is a bot ``user`` owns."""
    return Bot.objects.filter(user=bot_user.pk, owner=user.pk).exists()


@_rule
def may_create_bot(user: User) -> bool:
    """Create a bot (owned by oneself): mentors and admins."""
    return user.role in BOT_OWNER_ROLES


@_rule
def may_manage_bot(user: User, bot: Bot) -> bool:
    """Change a bot, rotate its token, deactivate it, see its deliveries:
    its owner (while they may still create bots) and admins."""
    if user.role == Role.ADMIN:
        return True
    return bot.owner_id == user.pk and may_create_bot(user)


@_query
def managed_bots(user: User) -> QuerySet[Bot]:
    """``may_manage_bot`` as a query."""
    if user.role == Role.ADMIN:
        return Bot.objects.all()
    if user.role == Role.MENTOR:
        return Bot.objects.filter(owner=user.pk)
    return Bot.objects.none()


@_rule
def may_create_incoming_webhook(user: User, conversation: Conversation) -> bool:
    """Give ``conversation`` an incoming webhook (a URL that posts there as
    a bot of its own, which joins it): mentors and admins who may post
    there and manage it (the webhook's bot is a new member)."""
    return (
        user.role in (Role.MENTOR, Role.ADMIN)
        and may_post(user, conversation)
        and may_manage(user, conversation)
    )


# --- Conversations --------------------------------------------------------------


def _membership(
    user: User, conversation: Conversation, membership: Membership
) -> ConversationParticipant | None:
    """The user's active membership of the conversation, or None. A row the
    caller brought counts only if it is that: theirs, here, not left."""
    if isinstance(membership, _LookUp):
        return (
            ConversationParticipant.objects.active()
            .filter(conversation_id=conversation.pk, user_id=user.pk)
            .first()
        )
    if (
        membership is None
        or membership.user_id != user.pk
        or membership.conversation_id != conversation.pk
        or membership.left_at is not None
    ):
        return None
    return membership


def _member_of(user: User, **conditions: Any) -> Exists:
    """Conversations (the outer query's rows) ``user`` is an active member of."""
    return Exists(
        ConversationParticipant.objects.filter(
            conversation=OuterRef("pk"),
            user=getattr(user, "pk", None),
            left_at__isnull=True,
            **conditions,
        )
    )


@_rule
def may_read(user: User, conversation: Conversation, *, membership: Membership = LOOK_UP) -> bool:
    return _membership(user, conversation, membership) is not None


@_rule
def may_mute(user: User, conversation: Conversation, *, membership: Membership = LOOK_UP) -> bool:
    return _membership(user, conversation, membership) is not None


@_query
def readable_conversations(user: User) -> QuerySet[Conversation]:
    return Conversation.objects.filter(_member_of(user))


def _direct_block(user: User, conversation: Conversation) -> bool:
    """A direct conversation between ``user`` and someone either of them
    blocked (its other participants, whether or not they left)."""
    if conversation.type != ConversationType.DIRECT:
        return False
    others = (
        ConversationParticipant.objects.filter(conversation_id=conversation.pk)
        .exclude(user_id=user.pk)
        .values("user_id")
    )
    return UserBlock.objects.filter(
        Q(blocker=user.pk, blocked__in=others) | Q(blocked=user.pk, blocker__in=others)
    ).exists()


def _with_a_block(user: User) -> Q:
    """``_direct_block`` as a condition on conversations (the outer query's
    rows), inside ``Exists`` only: the send's claim locks the row."""
    blocked_pair = ConversationParticipant.objects.filter(conversation=OuterRef("pk")).filter(
        _blocked_with(user, OuterRef("user_id"))
    )
    return Q(type=ConversationType.DIRECT) & Q(Exists(blocked_pair))


def mutes_in_force(
    user_id: Any, conversation: Any, *, now: datetime | None = None
) -> QuerySet[Mute]:
    """The moderators' mutes that stop ``user_id`` posting in
    ``conversation`` (an id, or ``OuterRef("pk")`` in a query form) at
    ``now`` (default: now): started, not ended, not lifted, for that
    conversation or everywhere. A mute ends by the clock alone: no job
    lifts it. A bot is muted wherever its owner is: a person muted must not
    go on through a bot of theirs (or its incoming webhooks)."""
    now = now or timezone.now()
    return Mute.objects.filter(
        Q(conversation=conversation) | Q(conversation__isnull=True),
        Q(user_id=user_id) | Q(user_id__in=Bot.objects.filter(user_id=user_id).values("owner_id")),
        starts_at__lte=now,
        ends_at__gt=now,
        lifted_at__isnull=True,
    )


@_rule
def may_post(user: User, conversation: Conversation, *, membership: Membership = LOOK_UP) -> bool:
    return (
        not conversation.is_archived
        and may_read(user, conversation, membership=membership)
        and not mutes_in_force(user.pk, conversation.pk).exists()
        and not _direct_block(user, conversation)
    )


@_query
def postable_conversations(user: User, *, now: datetime | None = None) -> QuerySet[Conversation]:
    """Where ``user`` may post at ``now`` (default: now; the send passes its
    own time, ``messaging.services.claims``)."""
    return Conversation.objects.filter(
        _member_of(user),
        ~Exists(mutes_in_force(getattr(user, "pk", None), OuterRef("pk"), now=now)),
        archived_at__isnull=True,
    ).exclude(_with_a_block(user))


@_rule
def may_manage(user: User, conversation: Conversation, *, membership: Membership = LOOK_UP) -> bool:
    if user.role == Role.ADMIN:
        return True
    membership = _membership(user, conversation, membership)
    return membership is not None and membership.role == ParticipantRole.ADMIN


@_rule
def may_archive(
    user: User, conversation: Conversation, *, membership: Membership = LOOK_UP
) -> bool:
    """Archive ``conversation`` for everyone in it (read-only for all):
    whoever ``may_manage`` it; a direct conversation only someone who
    ``may_block`` the other person, since an archived one cuts the two off
    as a block does (a student would otherwise shut out their assigned
    mentor or an admin). Unarchiving needs ``may_manage`` only."""
    if not may_manage(user, conversation, membership=membership):
        return False
    if conversation.type != ConversationType.DIRECT or user.role == Role.ADMIN:
        return True
    others = (
        ConversationParticipant.objects.filter(conversation_id=conversation.pk)
        .exclude(user_id=user.pk)
        .select_related("user")
    )
    return all(may_block(user, row.user) for row in others)


@_query
def managed_conversations(user: User) -> QuerySet[Conversation]:
    if user.role == Role.ADMIN:
        return Conversation.objects.all()
    return Conversation.objects.filter(_member_of(user, role=ParticipantRole.ADMIN))


def check_read(
    user: User,
    conversation: Conversation,
    *,
    membership: Membership = LOOK_UP,
    missing: str | None = None,
) -> None:
    """Raise ``NotVisible`` unless ``user`` may read ``conversation``: the
    answer for an object that does not exist, worded as ``missing`` (the
    missing object the caller was asked for: "No such message." for a
    message of the conversation; by default "No such conversation."), so
    that a refusal tells nobody the conversation is there. The audit log
    keeps the real reason. A deactivated account (a socket opened before
    it was deactivated) reads nothing, and is answered the same."""
    if not is_acting(user):
        raise NotVisible(
            missing or _("No such conversation."), reason=_("This account is deactivated.")
        )
    if not may_read(user, conversation, membership=membership):
        raise NotVisible(
            missing or _("No such conversation."),
            reason=_("You are not a member of this conversation."),
        )


def check_read_message(user: User, message: Message, *, membership: Membership = LOOK_UP) -> None:
    """``check_read`` for an action that names ``message``: refused as a
    message that does not exist ("No such message.")."""
    check_read(user, message.conversation, membership=membership, missing=_("No such message."))


def check_visible(user: User, conversation: Conversation) -> None:
    """Raise ``NotVisible`` ("No such conversation.") unless ``user`` reads
    ``conversation`` or may manage it (a platform admin): the first check of
    anything done to a conversation by its id, before any rule that would
    tell what kind of conversation it is."""
    if is_acting(user) and may_manage(user, conversation):
        return
    check_read(user, conversation)


def check_post(user: User, conversation: Conversation, *, membership: Membership = LOOK_UP) -> None:
    check_read(user, conversation, membership=membership)
    if conversation.is_archived:
        raise ConversationArchived(_("This conversation is archived."))
    if _direct_block(user, conversation):
        others = conversation.participants.exclude(user_id=user.pk).values_list("user_id")
        other = User.objects.filter(pk__in=others).first()
        if other is not None:
            check_not_blocked(user, other)


def check_not_blocked(user: User, other: User) -> None:
    """Raise PersonBlocked, saying who blocked whom, if either of the two
    blocked the other."""
    if UserBlock.objects.filter(blocker=user.pk, blocked=other.pk).exists():
        raise PersonBlocked(_("You can't message this person."))
    if UserBlock.objects.filter(blocker=other.pk, blocked=user.pk).exists():
        raise PersonBlocked(_("This person can't receive your messages."))


def check_manage(
    user: User,
    conversation: Conversation,
    *,
    refusal: str,
    membership: Membership = LOOK_UP,
) -> None:
    """Raise ``AccessDenied(refusal)`` unless ``user`` may manage
    ``conversation``; ``NotVisible`` for someone who does not even read it."""
    _check_acting(user)
    if not may_manage(user, conversation, membership=membership):
        check_read(user, conversation, membership=membership)
        raise AccessDenied(refusal)


# --- Messages -------------------------------------------------------------------


MODERATE_PERMISSION: Final = "messaging.moderate"
WORK_SUPPORT_PERMISSION: Final = "messaging.work_support_queue"


@_rule
def may_moderate(user: User) -> bool:
    """Moderators act on anyone's message and on people (the moderation
    queue, ``messaging.moderation``), member or not, archived or not:
    platform admins by their role, anyone else through the ``moderate``
    permission (the Moderators group, handed out in the admin)."""
    return user.role == Role.ADMIN or user.has_perm(MODERATE_PERMISSION)


def check_moderate(user: User) -> None:
    """Raise AccessDenied unless ``user`` may moderate (``may_moderate``)."""
    _check_acting(user)
    if not may_moderate(user):
        raise AccessDenied(_("Only moderators may do this."))


@_rule
def may_change_message(user: User, message: Message) -> bool:
    """Edit or delete as its author: one's own message, as a member of a
    writable conversation. System messages are nobody's to change; that is
    the service's ``invalid``, not a refusal."""
    return message.sender_id == user.pk and may_post(user, message.conversation)


def check_change_message(user: User, message: Message, *, deleting: bool) -> None:
    """Raise unless ``user`` may change (edit, or delete when ``deleting``)
    ``message``: one's own messages only, whoever one is. A moderator
    removes someone else's message through the moderation queue
    (``moderation.services.actions.delete_message``, with a note), never
    through the ordinary delete."""
    conversation = message.conversation
    check_read_message(user, message)
    if message.sender_id != user.pk:
        raise AccessDenied(_("You can change only your own messages."))
    if conversation.is_archived:
        raise ConversationArchived(_("This conversation is archived."))
    if not deleting and _direct_block(user, conversation):
        # An edit reaches the other person as much as a send; deleting
        # one's own message stays possible.
        check_post(user, conversation)


# --- The AI assistant (messaging.integrations.assistant) ---------------------------


@_rule
def may_summarise(
    user: User, conversation: Conversation, *, membership: Membership = LOOK_UP
) -> bool:
    """Ask the conversation's assistant to summarise one's unread messages
    there: its mentors and admins (by platform role), as members."""
    return user.role in (Role.MENTOR, Role.ADMIN) and may_read(
        user, conversation, membership=membership
    )


def check_summarise(
    user: User, conversation: Conversation, *, membership: Membership = LOOK_UP
) -> None:
    """Raise unless ``user`` ``may_summarise`` ``conversation``: a
    non-member is told it does not exist (``check_read``), a member of
    another role ``AccessDenied``."""
    check_read(user, conversation, membership=membership)
    if not may_summarise(user, conversation, membership=membership):
        raise AccessDenied(_("Only mentors and admins can ask the assistant for a summary."))


# --- Mentions ---------------------------------------------------------------------


@_rule
def may_mention_everyone(user: User, conversation: Conversation) -> bool:
    """``@all`` and ``@here`` reach a whole group or support conversation:
    mentors and admins may use them; from anyone else they are plain text
    (a student cannot page a 500-member group)."""
    return user.role in (Role.MENTOR, Role.ADMIN) and conversation.type in (
        ConversationType.GROUP,
        ConversationType.SUPPORT,
    )


# --- Reactions and pins (messaging.threads) -----------------------------------------


def check_react(
    user: User, message: Message, *, adding: bool, membership: Membership = LOOK_UP
) -> None:
    """Raise unless ``user`` may add a reaction in ``conversation`` (as
    ``check_post``: whoever may not post may not react) or, with ``adding``
    False, take one of their own back (``check_read``: a member). A
    moderator's mute is checked by the service (``muted``), as for sends.
    ``message`` is the one reacted to: a non-member is told there is no
    such message."""
    check_read_message(user, message, membership=membership)
    if adding:
        check_post(user, message.conversation, membership=membership)


@_rule
def may_pin(user: User, conversation: Conversation, *, membership: Membership = LOOK_UP) -> bool:
    """Pin a message to ``conversation``, or unpin one (module docstring)."""
    if conversation.is_archived:
        return False
    membership = _membership(user, conversation, membership)
    if membership is None:
        return False
    if conversation.type == ConversationType.DIRECT:
        # Not across a block: a pin is an event to the other person.
        return not _direct_block(user, conversation)
    if conversation.type == ConversationType.GROUP:
        return user.role in (Role.MENTOR, Role.ADMIN) or membership.role == ParticipantRole.ADMIN
    if conversation.type == ConversationType.SUPPORT:
        return may_work_support_queue(user)
    return False


def check_pin(user: User, message: Message, *, membership: Membership = LOOK_UP) -> None:
    """Raise unless ``user`` may pin ``message`` in its conversation:
    NotVisible ("No such message.") for a non-member, ConversationArchived,
    then PersonBlocked in a direct conversation across a block (as a send
    there), then AccessDenied for a member whose role does not pin here."""
    conversation = message.conversation
    check_read_message(user, message, membership=membership)
    if conversation.is_archived:
        raise ConversationArchived(_("This conversation is archived."))
    if conversation.type == ConversationType.DIRECT:
        check_post(user, conversation, membership=membership)
    if not may_pin(user, conversation, membership=membership):
        raise AccessDenied(_("You may not pin messages in this conversation."))


@_rule
def may_remove_link_preview(user: User, message: Message) -> bool:
    """Remove ``message``'s link preview card: its sender only (module
    docstring). Whether the card exists and the user may read the message
    is the caller's question first."""
    return message.sender_id == user.pk


def check_remove_link_preview(user: User, message: Message) -> None:
    """Raise AccessDenied unless ``user`` may remove ``message``'s card."""
    _check_acting(user)
    if not may_remove_link_preview(user, message):
        raise AccessDenied(_("Only the sender may remove a message's link preview."))


# --- Files ------------------------------------------------------------------------


@_rule
def may_fetch_attachment(user: User, attachment: Attachment) -> bool:
    """Its bytes, thumbnail or preview pages. Unsent: its uploader only (the
    conversation's members have not been shown it). Sent: the conversation's
    current members, as long as the message is neither deleted nor hidden
    by a moderator; leaving the conversation, deleting or hiding the
    message ends access at once (restoring it gives it back). Reads the
    message (``attachment.message``) when sent."""
    if attachment.message_id is None:
        return attachment.uploader_id == user.pk
    message = attachment.message
    if message is None or message.deleted_at is not None or message.hidden_at is not None:
        return False
    return (
        ConversationParticipant.objects.active()
        .filter(conversation_id=attachment.conversation_id, user_id=user.pk)
        .exists()
    )


@_rule
def may_fetch_attachment_as_moderator(user: User, attachment: Attachment) -> bool:
    """A moderator reviewing a reported message fetches its files, member of
    the conversation or not, deleted or hidden message or not (the evidence
    stays reachable until the purge): through the moderation download,
    which audits every fetch as one by a moderator. Unsent uploads are
    nobody's business but their uploader's."""
    return attachment.message_id is not None and may_moderate(user)


@_rule
def may_review_conversation(user: User, conversation: Conversation) -> bool:
    """Read a conversation one is not in, to judge a report in context:
    moderators, every reading audited (``moderation.review``)."""
    return may_moderate(user)


# --- Presence ---------------------------------------------------------------------


def _shares_a_conversation_with(user: User) -> Exists:
    """People (the outer query's rows) who are active members of a
    conversation ``user`` is an active member of."""
    theirs = ConversationParticipant.objects.active().filter(user=user).values("conversation_id")
    return Exists(
        ConversationParticipant.objects.active().filter(
            user=OuterRef("pk"), conversation_id__in=theirs
        )
    )


@_rule
def may_see_presence(user: User, other: User) -> bool:
    if other.pk == user.pk or may_start_direct(user, other):
        return True
    return User.objects.filter(pk=other.pk).filter(_shares_a_conversation_with(user)).exists()


@_query
def presence_visible_users(user: User) -> QuerySet[User]:
    return User.objects.filter(
        Q(pk=user.pk)
        | Q(_shares_a_conversation_with(user))
        | Q(pk__in=messageable_users(user).values("pk"))
    )


def _holds(permission: str) -> Q:
    """``User.has_perm(permission)`` for active users, as a condition on
    users: superusers, and holders through their own or a group's grant."""
    app_label, codename = permission.split(".")
    granted = Permission.objects.filter(codename=codename, content_type__app_label=app_label)
    return (
        Q(is_superuser=True)
        | Q(
            Exists(
                User.user_permissions.through.objects.filter(
                    user=OuterRef("pk"), permission__in=granted
                )
            )
        )
        | Q(
            Exists(
                User.groups.through.objects.filter(
                    user=OuterRef("pk"), group__permissions__in=granted
                )
            )
        )
    )


# --- Support requests -------------------------------------------------------------

SUPPORT_STAFF: Final = "staff"
SUPPORT_REQUESTER: Final = "requester"


@_rule
def may_work_support_queue(user: User) -> bool:
    """See every request, move statuses, assign, set priorities: platform
    admins by their role, anyone else through the ``work_support_queue``
    permission (the Support agents group). Moderating alone is not enough."""
    return user.role == Role.ADMIN or user.has_perm(WORK_SUPPORT_PERMISSION)


@_rule
def may_see_support_request(user: User, request: SupportRequest) -> bool:
    return request.requester_id == user.pk or may_work_support_queue(user)


@_query
def visible_support_requests(user: User) -> QuerySet[SupportRequest]:
    """``may_see_support_request`` as a query."""
    if may_work_support_queue(user):
        return SupportRequest.objects.all()
    return SupportRequest.objects.filter(requester=getattr(user, "pk", None))


def support_parties(user: User, request: SupportRequest) -> frozenset[str]:
    """Which parties of ``messaging.support.transitions`` ``user`` is for
    ``request``: ``SUPPORT_STAFF``, ``SUPPORT_REQUESTER``, both (never in
    practice: admins do not open requests for themselves) or none."""
    if not is_acting(user):
        return frozenset()
    parties = set()
    if may_work_support_queue(user):
        parties.add(SUPPORT_STAFF)
    if request.requester_id == user.pk:
        parties.add(SUPPORT_REQUESTER)
    return frozenset(parties)


@_rule
def may_rate_support(user: User, request: SupportRequest) -> bool:
    """The requester, once, after the request was resolved or closed."""
    return (
        request.requester_id == user.pk
        and request.status in (SupportStatus.RESOLVED, SupportStatus.CLOSED)
        and request.rated_at is None
    )


def may_be_assigned_support(user: User) -> bool:
    """Who a request may be assigned to: an active member of the support
    staff (``may_work_support_queue``)."""
    return is_acting(user) and may_work_support_queue(user)


def support_assignees() -> QuerySet[User]:
    """``may_be_assigned_support`` as a query."""
    return User.objects.filter(is_active=True).filter(
        Q(role=Role.ADMIN) | _holds(WORK_SUPPORT_PERMISSION)
    )


def check_see_support_request(user: User, request: SupportRequest) -> None:
    """Raise NotFound (never reveal a request) unless ``user`` may see it."""
    _check_acting(user)
    if not may_see_support_request(user, request):
        raise NotFound(_("No such support request."))


def check_work_support_queue(user: User, *, refusal: str) -> None:
    _check_acting(user)
    if not may_work_support_queue(user):
        raise AccessDenied(refusal)
