"""Blocks between people: ``blocker`` no longer exchanges direct messages
with ``blocked``, in either direction, until the block is lifted.

A block is enforced by ``messaging.policy`` (``may_start_direct``,
``messageable_users``, ``postable_conversations``): the send's one-statement
claim refuses a direct conversation with a block, and the refusal says
``blocked``. It removes nobody from group or support conversations.
"""

from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import audit, events, policy
from messaging.errors import NotFound
from messaging.models import AuditAction, UserBlock


def _person(user_id: UUID) -> User:
    person = User.objects.filter(pk=user_id).first()
    if person is None:
        raise NotFound(_("No such user."))
    return person


def block_person(*, blocker: User, blocked_id: UUID) -> tuple[UserBlock, bool]:
    """Block someone (``policy.check_block``: not oneself; a student not
    their assigned mentor nor an admin). Returns the block and whether it is
    new; blocking again changes nothing."""
    blocked = _person(blocked_id)
    with audit.denials_recorded(actor=blocker, attempted=AuditAction.BLOCK):
        policy.check_block(blocker, blocked)
    existing = UserBlock.objects.filter(blocker=blocker, blocked=blocked).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            block = UserBlock.objects.create(blocker=blocker, blocked=blocked)
            audit.record(actor=blocker, action=AuditAction.BLOCK, target_user_id=blocked.pk)
            _tell_both(blocker.pk, blocked.pk)
    except IntegrityError:
        return UserBlock.objects.get(blocker=blocker, blocked=blocked), False
    return block, True


def unblock_person(*, blocker: User, blocked_id: UUID) -> bool:
    """Lift one's block of someone; whether there was one. Direct messages
    flow again unless the other person blocked too."""
    policy.check_acting(blocker)
    with transaction.atomic():
        deleted, _per_model = UserBlock.objects.filter(
            blocker=blocker, blocked_id=blocked_id
        ).delete()
        if deleted:
            audit.record(actor=blocker, action=AuditAction.UNBLOCK, target_user_id=blocked_id)
            _tell_both(blocker.pk, blocked_id)
    return bool(deleted)


def lift_for_assignment(*, student: User, mentor: User) -> bool:
    """``mentor`` is now ``student``'s assigned mentor, whom a student may
    not block (``policy.may_block``): lift a block the student made before
    the assignment, so the two can write to each other. Audited as the
    student's ``person.unblock`` with ``{"reason": "assigned"}`` (they did
    not choose it). Whether there was one. Run it in the assignment's
    transaction. The mentor's own block of the student stays: theirs to
    lift."""
    deleted, _per_model = UserBlock.objects.filter(blocker=student, blocked=mentor).delete()
    if deleted:
        audit.record(
            actor=student, action=AuditAction.UNBLOCK, target_user_id=mentor.pk, reason="assigned"
        )
        _tell_both(student.pk, mentor.pk)
    return bool(deleted)


def _tell_both(one: UUID, other: UUID) -> None:
    """``block.changed`` to both people's sockets once this commits, each
    naming the other: a page open on their direct conversation shows the
    new state, the other tabs of the one who acted included
    (docs/protocol.md)."""
    events.publish_on_commit(events.user_group(one), events.block_changed(user_id=other))
    events.publish_on_commit(events.user_group(other), events.block_changed(user_id=one))
