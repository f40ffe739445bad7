"""Moderators' actions: on a message (hide, restore, delete, warn its
sender), on a person (mute, lift a mute, deactivate) and on a case
(dismiss).

Every action is a moderator's (``policy.check_moderate``: a refusal is an
AccessDenied, recorded in the audit log outside the rolled-back
transaction) and needs a note saying why; it writes one audit row naming
the person acted on (``target_user_id``) with the note in its details, and
closes the message's open case when it acts on a message, so the queue
shows what is left to do. Frames go out after commit.
"""

from datetime import timedelta
from typing import Final
from uuid import UUID

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import services as account_services
from accounts.locale import speaking_to
from accounts.models import Role, User
from messaging import audit, events, policy
from messaging.errors import AccessDenied, InvalidInput, NotFound
from messaging.models import (
    AuditAction,
    CaseStatus,
    Conversation,
    Message,
    MessageType,
    ModerationCase,
    Mute,
    Warning,
)
from messaging.moderation.services import cases
from messaging.search.services import indexing
from messaging.services import messages
from messaging.services.transactions import lock_conversation, write_transaction
from messaging.threads.payloads import with_extras
from notifications.services import feed as notification_feed

MAX_NOTE_CHARS: Final = 2000
MAX_WARNING_CHARS: Final = 2000
# A year: longer than that is a deactivation, not a mute.
MAX_MUTE_MINUTES: Final = 60 * 24 * 365
DEFAULT_WARNING: Final = gettext_lazy(
    "A moderator reviewed one of your messages in this conversation. "
    "Please keep to the community guidelines; further messages like it may "
    "lead to a mute."
)


def _clean_note(note: str) -> str:
    """The moderator's reason, required: the audit log must say why."""
    note = (note or "").strip()
    if not note:
        raise InvalidInput(_("A moderator note is required."))
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidInput(
            _("A moderator note has at most %(count)s characters.") % {"count": MAX_NOTE_CHARS}
        )
    return note


def _moderated_message(message_id: UUID) -> Message:
    """The message, read under its conversation's lock (as edits and
    deletes read it), so an action and an edit or delete never interleave.
    System notices and deleted messages are not moderated."""
    conversation_id = (
        Message.objects.filter(pk=message_id).values_list("conversation_id", flat=True).first()
    )
    if conversation_id is None:
        raise NotFound(_("No such message."))
    conversation = lock_conversation(conversation_id)
    message = with_extras(
        Message.objects.select_related("sender").prefetch_related("attachments")
    ).get(pk=message_id)
    message.conversation = conversation
    if message.message_type == MessageType.SYSTEM:
        raise InvalidInput(_("System messages cannot be moderated."))
    if message.is_deleted:
        raise NotFound(_("This message was deleted."))
    return message


def hide_message(*, moderator: User, message_id: UUID, note: str) -> Message:
    """Hide a message from everyone, its sender included: its payload
    becomes a placeholder (``hidden``), its search row and its
    notifications (their excerpts) go, its files may no longer be fetched,
    and its sender may not edit it. Members' sockets get ``message.hidden``.
    The content stays in the database for the moderators; ``restore_message``
    brings it back. Hiding a hidden message changes nothing."""
    with write_transaction(actor=moderator, attempted=AuditAction.MESSAGE_HIDE):
        policy.check_moderate(moderator)
        note = _clean_note(note)
        message = _moderated_message(message_id)
        if message.is_hidden:
            return message
        message.hidden_at = timezone.now()
        message.save(update_fields=["hidden_at"])
        indexing.remove_message(message.pk)
        notification_feed.message_deleted(message_id=message.pk)
        _closed_and_announced(
            message, moderator, AuditAction.MESSAGE_HIDE, note, events.message_hidden(message)
        )
    return message


def _closed_and_announced(
    message: Message, moderator: User, action: str, note: str, frame: dict
) -> None:
    """What hiding and restoring share: the case closes, one audit row with
    the note, and the frame to the conversation after commit."""
    cases.close_case(message.pk, moderator=moderator)
    audit.record(
        actor=moderator,
        action=action,
        conversation_id=message.conversation_id,
        message_id=message.pk,
        target_user_id=message.sender_id,
        note=note,
    )
    events.publish_on_commit(events.conversation_group(message.conversation_id), frame)


def _check_may_undo(moderator: User, person: User | None, *, own: str, admins: str) -> None:
    """A moderator does not undo what was done about themselves (their own
    mute, their hidden message, a case about their message), nor, without
    the admin role, what was done about an admin: ``own`` and ``admins``
    say so. The same lines as muting and deactivating (``_target``)."""
    if person is None:
        return
    if person.pk == moderator.pk:
        raise AccessDenied(own)
    if person.role == Role.ADMIN and moderator.role != Role.ADMIN:
        raise AccessDenied(admins)


def restore_message(*, moderator: User, message_id: UUID, note: str) -> Message:
    """Undo ``hide_message``: the message shows again to everyone, is found
    by search again, and its files may be fetched again; members' sockets
    get ``message.restored`` with the full payload. Notifications removed
    when it was hidden do not come back. Restoring a message that is not
    hidden changes nothing. Nobody restores their own message; only
    platform admins an admin's."""
    with write_transaction(actor=moderator, attempted=AuditAction.MESSAGE_RESTORE):
        policy.check_moderate(moderator)
        note = _clean_note(note)
        message = _moderated_message(message_id)
        _check_may_undo(
            moderator,
            message.sender,
            own=_("You cannot restore your own message."),
            admins=_("Only platform admins may restore an admin's message."),
        )
        if not message.is_hidden:
            return message
        message.hidden_at = None
        message.save(update_fields=["hidden_at"])
        indexing.index_message(message)
        _closed_and_announced(
            message, moderator, AuditAction.MESSAGE_RESTORE, note, events.message_restored(message)
        )
    return message


def delete_message(*, moderator: User, message_id: UUID, note: str) -> Message:
    """The soft delete of ``messaging.services.delete_message`` (content and
    files gone for good, ``message.deleted``), as a moderator, with the note
    in its one audit row. The one way to delete someone else's message: the
    ordinary delete (API, socket) is the author's own."""
    with write_transaction(actor=moderator, attempted=AuditAction.MESSAGE_DELETE):
        policy.check_moderate(moderator)
        note = _clean_note(note)
        message = messages.delete_message(
            actor=moderator, message_id=message_id, moderator_note=note
        )
        cases.close_case(message.pk, moderator=moderator)
    return message


def warn_sender(*, moderator: User, message_id: UUID, note: str, text: str = "") -> Warning:
    """Warn a message's sender: ``text`` (a default wording when blank) is
    shown to them alone, in that conversation, at once on their sockets
    (``moderation.warning`` to their own group) and after a reload (the
    warnings endpoint). The message stays as it is."""
    with write_transaction(actor=moderator, attempted=AuditAction.WARN):
        policy.check_moderate(moderator)
        note = _clean_note(note)
        text = (text or "").strip()
        if len(text) > MAX_WARNING_CHARS:
            raise InvalidInput(
                _("A warning has at most %(count)s characters.") % {"count": MAX_WARNING_CHARS}
            )
        message = _moderated_message(message_id)
        if message.sender_id is None:
            raise InvalidInput(_("This message's sender no longer exists."))
        if not text:
            # Stored as the warned person reads it: the moderator's language
            # may not be theirs.
            with speaking_to(message.sender):
                text = str(DEFAULT_WARNING)
        warning = Warning.objects.create(
            user_id=message.sender_id,
            conversation_id=message.conversation_id,
            message=message,
            text=text,
            created_by=moderator,
        )
        cases.close_case(message.pk, moderator=moderator)
        audit.record(
            actor=moderator,
            action=AuditAction.WARN,
            conversation_id=message.conversation_id,
            message_id=message.pk,
            target_user_id=message.sender_id,
            note=note,
            warning_id=str(warning.pk),
        )
        events.publish_on_commit(
            events.user_group(message.sender_id), events.moderation_warning(warning)
        )
    return warning


def _target(user_id: UUID, moderator: User, *, doing: str) -> User:
    """The person ``moderator`` would act on; ``doing``: "mute" or "deactivate"."""
    target = User.objects.filter(pk=user_id).first()
    if target is None:
        raise NotFound(_("No such person."))
    if target.pk == moderator.pk:
        refusals = {
            "mute": _("You cannot mute yourself."),
            "deactivate": _("You cannot deactivate yourself."),
        }
        raise InvalidInput(refusals[doing])
    if target.role == Role.ADMIN and moderator.role != Role.ADMIN:
        refusals = {
            "mute": _("Only platform admins may mute an admin."),
            "deactivate": _("Only platform admins may deactivate an admin."),
        }
        raise AccessDenied(refusals[doing])
    return target


def mute_user(
    *,
    moderator: User,
    user_id: UUID,
    conversation_id: UUID | None,
    minutes: int,
    note: str,
) -> Mute:
    """Stop a person posting (sending, editing) in one conversation, or
    everywhere (``conversation_id`` None), for ``minutes`` from now. Their
    sends are refused with ``muted`` (``until``, ``retry_after``); they
    still read, and their sockets are told (``moderation.muted``). The mute
    ends by the clock (no job, no event), or by ``lift_mute``."""
    with write_transaction(
        actor=moderator, attempted=AuditAction.MUTE, conversation_id=conversation_id
    ):
        policy.check_moderate(moderator)
        note = _clean_note(note)
        if isinstance(minutes, bool) or not isinstance(minutes, int):
            raise InvalidInput(_("minutes is a whole number."))
        if not 1 <= minutes <= MAX_MUTE_MINUTES:
            raise InvalidInput(
                _("A mute lasts from 1 to %(count)s minutes.") % {"count": MAX_MUTE_MINUTES}
            )
        target = _target(user_id, moderator, doing="mute")
        if (
            conversation_id is not None
            and not Conversation.objects.filter(pk=conversation_id).exists()
        ):
            raise NotFound(_("No such conversation."))
        now = timezone.now()
        mute = Mute.objects.create(
            user=target,
            conversation_id=conversation_id,
            starts_at=now,
            ends_at=now + timedelta(minutes=minutes),
            note=note,
            created_by=moderator,
        )
        audit.record(
            actor=moderator,
            action=AuditAction.MUTE,
            conversation_id=conversation_id,
            target_user_id=target.pk,
            note=note,
            mute_id=str(mute.pk),
            minutes=minutes,
            until=mute.ends_at.isoformat(),
            everywhere=conversation_id is None,
        )
        events.publish_on_commit(events.user_group(target.pk), events.moderation_muted(mute))
    return mute


def lift_mute(*, moderator: User, mute_id: UUID, note: str) -> Mute:
    """End a mute now: the person may post again at once, and their sockets
    are told (``moderation.unmuted``). Lifting a mute
    that was lifted already changes nothing. Nobody lifts their own mute;
    only platform admins an admin's."""
    with write_transaction(actor=moderator, attempted=AuditAction.UNMUTE):
        policy.check_moderate(moderator)
        note = _clean_note(note)
        mute = Mute.objects.select_for_update().filter(pk=mute_id).first()
        if mute is None:
            raise NotFound(_("No such mute."))
        _check_may_undo(
            moderator,
            mute.user,
            own=_("You cannot lift your own mute."),
            admins=_("Only platform admins may lift an admin's mute."),
        )
        if mute.lifted_at is not None:
            return mute
        mute.lifted_at = timezone.now()
        mute.lifted_by = moderator
        mute.save(update_fields=["lifted_at", "lifted_by"])
        audit.record(
            actor=moderator,
            action=AuditAction.UNMUTE,
            conversation_id=mute.conversation_id,
            target_user_id=mute.user_id,
            note=note,
            mute_id=str(mute.pk),
        )
        if mute.ends_at > mute.lifted_at:
            # Ended by the clock already: its pages said so then.
            events.publish_on_commit(
                events.user_group(mute.user_id), events.moderation_unmuted(mute)
            )
    return mute


def deactivate_user(*, moderator: User, user_id: UUID, note: str) -> User:
    """Deactivate an account (``accounts.services.set_active``): every
    socket of theirs closes once this commits, and no rule lets them act
    any more. Only platform admins deactivate admins; nobody themselves.
    An inactive account stays as it is."""
    with write_transaction(actor=moderator, attempted=AuditAction.DEACTIVATE):
        policy.check_moderate(moderator)
        note = _clean_note(note)
        target = _target(user_id, moderator, doing="deactivate")
        if not target.is_active:
            return target
        account_services.set_active(user=target, active=False)
        audit.record(
            actor=moderator,
            action=AuditAction.DEACTIVATE,
            target_user_id=target.pk,
            note=note,
        )
    return target


def dismiss_case(*, moderator: User, case_id: UUID, note: str) -> ModerationCase:
    """Close a case with nothing done to the message (the reports or flags
    did not hold). A later report reopens it. Nobody dismisses a case about
    their own message; only platform admins one about an admin's."""
    with write_transaction(actor=moderator, attempted=AuditAction.CASE_DISMISS):
        policy.check_moderate(moderator)
        note = _clean_note(note)
        case = ModerationCase.objects.select_for_update().filter(pk=case_id).first()
        if case is None:
            raise NotFound(_("No such case."))
        _check_may_undo(
            moderator,
            case.sender,
            own=_("You cannot dismiss a case about your own message."),
            admins=_("Only platform admins may dismiss a case about an admin's message."),
        )
        if case.status != CaseStatus.OPEN:
            raise InvalidInput(_("This case is already closed."))
        cases.close_case(case.message_id, moderator=moderator, status=CaseStatus.DISMISSED)
        case.refresh_from_db()
        audit.record(
            actor=moderator,
            action=AuditAction.CASE_DISMISS,
            conversation_id=case.conversation_id,
            message_id=case.message_id,
            target_user_id=case.sender_id,
            note=note,
            case_id=str(case.pk),
        )
    return case
