"""The access policy, one row per case: every role pair, with and without a
mentor assignment, self, and inactive people, for direct, group and support
conversations; both the policy functions and the service that enforces them.
"""

from dataclasses import dataclass

import pytest

from accounts.models import MentorAssignment, Role
from messaging import policy, selectors, services
from messaging.errors import AccessDenied, InvalidInput
from messaging.models import (
    AuditAction,
    AuditLog,
    Conversation,
    ConversationParticipant,
    ConversationType,
)

S, M, A = Role.STUDENT, Role.MENTOR, Role.ADMIN


OK, DENIED, INVALID = "ok", "denied", "invalid"


@dataclass(frozen=True)
class Case:
    """``initiator`` acts towards ``other`` (None: towards themselves).

    ``direct`` / ``group`` / ``support`` are the policy answers:
    can_start_direct(initiator, other), can_add_to_group(initiator, other),
    can_open_support(initiator, requester=other). The ``*_svc`` fields are
    what services.create_conversation does with the same people; None means
    "ok if the policy allows, denied otherwise".
    """

    initiator: str
    other: str | None
    direct: bool
    group: bool
    support: bool
    assigned: bool = False
    other_active: bool = True
    initiator_active: bool = True
    direct_svc: str | None = None
    group_svc: str | None = None
    support_svc: str | None = None

    def outcome(self, kind: str) -> str:
        explicit = getattr(self, f"{kind}_svc")
        if explicit:
            return explicit
        return OK if getattr(self, kind) else DENIED


# Students and mentors open support only for themselves; asking on behalf of
# someone else is malformed, not forbidden.
CASES = {
    # student initiates
    "student-student": Case(
        S, S, direct=False, group=False, support=False, group_svc=DENIED, support_svc=INVALID
    ),
    "student-mentor-unassigned": Case(
        S, M, direct=False, group=False, support=False, support_svc=INVALID
    ),
    "student-mentor-assigned": Case(
        S, M, assigned=True, direct=True, group=False, support=False, support_svc=INVALID
    ),
    "student-admin": Case(S, A, direct=True, group=False, support=False, support_svc=INVALID),
    # mentor initiates
    "mentor-student-unassigned": Case(
        M, S, direct=False, group=False, support=False, support_svc=INVALID
    ),
    "mentor-student-assigned": Case(
        M, S, assigned=True, direct=True, group=True, support=False, support_svc=INVALID
    ),
    "mentor-mentor": Case(M, M, direct=True, group=True, support=False, support_svc=INVALID),
    "mentor-admin": Case(M, A, direct=True, group=True, support=False, support_svc=INVALID),
    # admin initiates
    "admin-student": Case(A, S, direct=True, group=True, support=True),
    "admin-mentor": Case(A, M, direct=True, group=True, support=True),
    "admin-admin": Case(A, A, direct=True, group=True, support=False),
    # self: no direct conversation with yourself; a group of one is allowed
    # to those who create groups; support is opened for yourself.
    "student-self": Case(
        S,
        None,
        direct=False,
        group=False,
        support=True,
        direct_svc=INVALID,
        group_svc=DENIED,
        support_svc=OK,
    ),
    "mentor-self": Case(
        M,
        None,
        direct=False,
        group=False,
        support=True,
        direct_svc=INVALID,
        group_svc=OK,
        support_svc=OK,
    ),
    "admin-self": Case(
        A,
        None,
        direct=False,
        group=True,
        support=False,
        direct_svc=INVALID,
        group_svc=OK,
        support_svc=INVALID,
    ),
    # inactive people
    "student-inactive-mentor-assigned": Case(
        S,
        M,
        assigned=True,
        other_active=False,
        direct=False,
        group=False,
        support=False,
        support_svc=INVALID,
    ),
    "mentor-inactive-mentor": Case(
        M, M, other_active=False, direct=False, group=False, support=False, support_svc=INVALID
    ),
    "admin-inactive-student": Case(
        A, S, other_active=False, direct=False, group=False, support=False
    ),
    "inactive-admin-student": Case(
        A, S, initiator_active=False, direct=False, group=False, support=False
    ),
    "inactive-mentor-student-assigned": Case(
        M,
        S,
        assigned=True,
        initiator_active=False,
        direct=False,
        group=False,
        support=False,
        support_svc=INVALID,
    ),
    "inactive-student-self": Case(
        S,
        None,
        initiator_active=False,
        direct=False,
        group=False,
        support=False,
        direct_svc=INVALID,
    ),
}


def _attempt(creator, kind, participants):
    """Call the service; return (outcome, conversation or None)."""
    try:
        conversation = services.create_conversation(
            creator=creator, kind=kind, participants=participants, title="t"
        )
    except AccessDenied:
        return DENIED, None
    except InvalidInput:
        return INVALID, None
    return OK, conversation


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_access_policy(case: Case, make_user):
    initiator = make_user(case.initiator, is_active=case.initiator_active)
    other = initiator if case.other is None else make_user(case.other, is_active=case.other_active)
    if case.assigned:
        mentor, student = (initiator, other) if initiator.role == M else (other, initiator)
        MentorAssignment.objects.create(mentor=mentor, student=student)
    # Support conversations bring in every active admin; one stands by.
    bystander_admin = make_user(A)

    # The policy functions.
    assert policy.can_start_direct(initiator, other) is case.direct
    assert policy.can_create_group(initiator) is (
        case.initiator_active and case.initiator in (M, A)
    )
    assert policy.can_add_to_group(initiator, other) is case.group
    assert policy.can_open_support(initiator, other) is case.support
    # The "people you may message" query agrees with the rule.
    may_message = selectors.users_user_may_message(initiator)
    assert may_message.filter(pk=other.pk).exists() is case.direct

    # The service enforces them.
    others = [] if case.other is None else [other]
    calls = {
        "direct": (ConversationType.DIRECT, others),
        "group": (ConversationType.GROUP, others),
        # Students and mentors ask for themselves; an admin names the requester.
        "support": (ConversationType.SUPPORT, others),
    }
    for kind, (conversation_type, participants) in calls.items():
        before = (
            Conversation.objects.count(),
            ConversationParticipant.objects.count(),
            AuditLog.objects.count(),
        )
        denials_before = AuditLog.objects.filter(action=AuditAction.ACCESS_DENIED).count()
        outcome, conversation = _attempt(initiator, conversation_type, participants)
        expected = case.outcome(kind)
        assert outcome == expected, f"{kind}: expected {expected}, got {outcome}"

        if outcome == OK:
            members = set(conversation.participants.active().values_list("user_id", flat=True))
            assert initiator.pk in members
            assert other.pk in members
            if conversation_type == ConversationType.SUPPORT:
                assert bystander_admin.pk in members
            assert (
                AuditLog.objects.filter(
                    action=AuditAction.CONVERSATION_CREATE, conversation_id=conversation.pk
                ).count()
                == 1
            )
            continue

        # Refused: nothing written but, for a denial, its audit row.
        assert Conversation.objects.count() == before[0]
        assert ConversationParticipant.objects.count() == before[1]
        denials = AuditLog.objects.filter(action=AuditAction.ACCESS_DENIED)
        if outcome == DENIED:
            assert AuditLog.objects.count() == before[2] + 1
            row = denials.order_by("-id").first()
            assert row.actor_id == initiator.pk
            assert row.details["attempted"] == AuditAction.CONVERSATION_CREATE
            assert row.details["reason"]
        else:
            assert AuditLog.objects.count() == before[2]
            assert denials.count() == denials_before


@pytest.mark.django_db
def test_check_new_conversation_rejects_unknown_kind(mentor, student):
    with pytest.raises(InvalidInput, match="Unknown conversation type"):
        policy.check_new_conversation(creator=mentor, kind="broadcast", others=[student])
    with pytest.raises(InvalidInput, match="exactly one other person"):
        policy.check_new_conversation(creator=mentor, kind=ConversationType.DIRECT, others=[])


@pytest.mark.django_db
def test_assignment_is_directional(make_user):
    """An assignment lets that mentor and that student talk, nobody else."""
    mentor, other_mentor = make_user(M), make_user(M)
    student, other_student = make_user(S), make_user(S)
    MentorAssignment.objects.create(mentor=mentor, student=student)
    assert policy.can_start_direct(student, mentor)
    assert not policy.can_start_direct(student, other_mentor)
    assert not policy.can_start_direct(other_student, mentor)
    assert not policy.can_start_direct(other_mentor, student)
    assert policy.is_assigned(mentor=mentor, student=student)
    assert not policy.is_assigned(mentor=student, student=mentor)
