"""Who may talk to whom. Every messaging service asks this module.

The rules, for active users only:

* Direct: a student with their assigned mentors and with admins; a mentor with
  their students, with other mentors and with admins; an admin with anyone.
  Nobody starts a direct conversation with themselves.
* Group: mentors and admins create groups. A mentor may add the people they
  could message directly; an admin may add anyone.
* Support: connects one student or mentor (the requester) with all admins.
  A student or mentor opens one for themselves; an admin opens one for a
  student or mentor.
"""

from collections.abc import Iterable

from accounts.models import MentorAssignment, Role, User
from messaging.errors import AccessDenied, InvalidInput
from messaging.models import ConversationType


def is_assigned(*, mentor: User, student: User) -> bool:
    return MentorAssignment.objects.filter(mentor=mentor, student=student).exists()


def can_start_direct(initiator: User, other: User) -> bool:
    if not (initiator.is_active and other.is_active) or initiator.pk == other.pk:
        return False
    if Role.ADMIN in (initiator.role, other.role):
        return True
    if initiator.role == Role.MENTOR and other.role == Role.MENTOR:
        return True
    if initiator.role == Role.MENTOR and other.role == Role.STUDENT:
        return is_assigned(mentor=initiator, student=other)
    if initiator.role == Role.STUDENT and other.role == Role.MENTOR:
        return is_assigned(mentor=other, student=initiator)
    return False


def can_create_group(user: User) -> bool:
    return user.is_active and user.role in (Role.MENTOR, Role.ADMIN)


def can_add_to_group(actor: User, target: User) -> bool:
    """Whether ``actor`` may bring ``target`` into a group they manage."""
    if not (actor.is_active and target.is_active):
        return False
    if actor.role == Role.ADMIN:
        return True
    return actor.role == Role.MENTOR and can_start_direct(actor, target)


def can_open_support(creator: User, requester: User) -> bool:
    if not (creator.is_active and requester.is_active) or requester.role == Role.ADMIN:
        return False
    return creator.pk == requester.pk or creator.role == Role.ADMIN


def check_new_conversation(*, creator: User, kind: str, others: Iterable[User]) -> None:
    """Raise unless ``creator`` may start a ``kind`` conversation with ``others``.

    ``others`` excludes the creator. For support conversations it names the
    requester when an admin opens one on their behalf, and is empty otherwise;
    the admins are added by the service.
    """
    others = list(others)
    if kind == ConversationType.DIRECT:
        if len(others) != 1:
            raise InvalidInput("A direct conversation has exactly one other person.")
        if not can_start_direct(creator, others[0]):
            raise AccessDenied("You may not start a conversation with this person.")
    elif kind == ConversationType.GROUP:
        if not can_create_group(creator):
            raise AccessDenied("Only mentors and admins create groups.")
        denied = [u for u in others if not can_add_to_group(creator, u)]
        if denied:
            raise AccessDenied(
                "You may not add: " + ", ".join(sorted(u.display_name for u in denied))
            )
    elif kind == ConversationType.SUPPORT:
        if creator.role == Role.ADMIN:
            if len(others) != 1:
                raise InvalidInput("An admin opens a support conversation for one person.")
            requester = others[0]
        else:
            if others:
                raise InvalidInput("A support conversation connects you with the admins.")
            requester = creator
        if not can_open_support(creator, requester):
            raise AccessDenied("You may not open this support conversation.")
    else:
        raise InvalidInput(f"Unknown conversation type {kind!r}.")
