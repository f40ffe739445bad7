"""The access policy, one row per case: every role pair, with and without a
mentor assignment, self, and inactive people, for direct, group and support
conversations; both the policy functions and the service that enforces them.
Then the Python and query forms of every rule, compared over every
combination of roles, assignment, activity, membership and archive state.
"""

from dataclasses import dataclass

import pytest
from django.utils import timezone

from accounts.models import MentorAssignment, Role
from messaging import policy, services
from messaging.errors import AccessDenied, InvalidInput
from messaging.models import (
    AuditAction,
    AuditLog,
    Conversation,
    ConversationParticipant,
    ConversationType,
    ParticipantRole,
    UserBlock,
)

S, M, A = Role.STUDENT, Role.MENTOR, Role.ADMIN


OK, DENIED, INVALID = "ok", "denied", "invalid"


@dataclass(frozen=True)
class Case:
    """``initiator`` acts towards ``other`` (None: towards themselves).

    ``direct`` / ``group`` / ``support`` are the policy answers:
    may_start_direct(initiator, other), may_add_to_group(initiator, other),
    may_open_support(initiator, requester=other). The ``*_svc`` fields are
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
            creator=creator,
            kind=kind,
            participants=participants,
            # A group needs a name; a direct conversation has none.
            title="" if kind == ConversationType.DIRECT else "t",
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
    assert policy.may_start_direct(initiator, other) is case.direct
    assert policy.may_create_group(initiator) is (
        case.initiator_active and case.initiator in (M, A)
    )
    assert policy.may_add_to_group(initiator, other) is case.group
    assert policy.may_open_support(initiator, other) is case.support
    # The "people you may message" query agrees with the rule.
    may_message = policy.messageable_users(initiator)
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
    assert policy.may_start_direct(student, mentor)
    assert not policy.may_start_direct(student, other_mentor)
    assert not policy.may_start_direct(other_student, mentor)
    assert not policy.may_start_direct(other_mentor, student)
    assert policy.is_assigned(mentor=mentor, student=student)
    assert not policy.is_assigned(mentor=student, student=mentor)


# --- The Python and query forms agree ---------------------------------------------

# A person's place in a conversation: not in it, member, conversation admin, left.
NONE, MEMBER, ADMIN, LEFT = "none", "member", "admin", "left"
PLACES = (NONE, MEMBER, ADMIN, LEFT)


@pytest.fixture
def world(make_user):
    """Two people of each role, active and deactivated (12). Mentor #0 looks
    after student #0 (active and deactivated alike), so mentor-student pairs
    come assigned and not. Mentor #0 blocked student #0 and admin #1 blocked
    mentor #1, so some pairs that could write to each other cannot.
    Conversations of each type, archived and not, in which each person
    holds every place in turn; so every pair of people also shares a
    conversation, or does not, in some combination."""
    people = {}
    for role in (S, M, A):
        for active in (True, False):
            for copy in (0, 1):
                label = f"{role}{copy}{'' if active else '-inactive'}"
                people[label] = make_user(role, name=label, is_active=active)
    for mentor in (people["mentor0"], people["mentor0-inactive"]):
        for student in (people["student0"], people["student0-inactive"]):
            MentorAssignment.objects.create(mentor=mentor, student=student)
    UserBlock.objects.create(blocker=people["mentor0"], blocked=people["student0"])
    UserBlock.objects.create(blocker=people["admin1"], blocked=people["mentor1"])

    conversations = {}
    users = list(people.values())
    for kind in ConversationType.values:
        for archived in (False, True):
            for turn in range(len(PLACES)):
                label = f"{kind}{turn}{'-archived' if archived else ''}"
                conversation = Conversation.objects.create(
                    type=kind, title=label, archived_at=timezone.now() if archived else None
                )
                for index, user in enumerate(users):
                    place = PLACES[(index + turn) % len(PLACES)]
                    if place == NONE:
                        continue
                    ConversationParticipant.objects.create(
                        conversation=conversation,
                        user=user,
                        role=ParticipantRole.ADMIN if place == ADMIN else ParticipantRole.MEMBER,
                        left_at=timezone.now() if place == LEFT else None,
                    )
                conversations[label] = conversation
    return people, conversations


def _ids(queryset) -> set:
    return set(queryset.values_list("pk", flat=True))


@pytest.mark.django_db
def test_python_and_query_forms_agree_over_every_combination(world):
    people, conversations = world
    answers: dict[str, list[bool]] = {}
    disagreements = []

    def compare(rule: str, case: str, python: bool, query: bool) -> None:
        answers.setdefault(rule, []).append(python)
        if python is not query:
            disagreements.append(f"{rule}({case}): python {python}, query {query}")

    for name, user in people.items():
        messageable = _ids(policy.messageable_users(user))
        visible = _ids(policy.presence_visible_users(user))
        readable = _ids(policy.readable_conversations(user))
        postable = _ids(policy.postable_conversations(user))
        managed = _ids(policy.managed_conversations(user))
        for other_name, other in people.items():
            case = f"{name}, {other_name}"
            compare(
                "start direct", case, policy.may_start_direct(user, other), other.pk in messageable
            )
            compare("see presence", case, policy.may_see_presence(user, other), other.pk in visible)
        for label, conversation in conversations.items():
            case = f"{name}, {label}"
            compare("read", case, policy.may_read(user, conversation), conversation.pk in readable)
            compare("post", case, policy.may_post(user, conversation), conversation.pk in postable)
            compare(
                "manage", case, policy.may_manage(user, conversation), conversation.pk in managed
            )
            addable = _ids(policy.addable_users(user, conversation))
            for other_name, other in people.items():
                compare(
                    "add member",
                    f"{case}, {other_name}",
                    policy.may_add_member(user, conversation, other),
                    other.pk in addable,
                )

    assert disagreements == []
    # Every rule said yes and no somewhere: the comparison was not vacuous.
    for rule, said in answers.items():
        assert True in said and False in said, rule


@pytest.mark.django_db
def test_a_deactivated_account_may_do_nothing(world):
    people, conversations = world
    for name, user in people.items():
        if user.is_active:
            continue
        anyone = list(people.values())
        assert not any(policy.may_start_direct(user, other) for other in anyone), name
        assert not any(policy.may_see_presence(user, other) for other in anyone), name
        assert not policy.may_create_group(user) and not policy.may_moderate(user)
        for conversation in conversations.values():
            assert not policy.may_read(user, conversation)
            assert not policy.may_post(user, conversation)
            assert not policy.may_manage(user, conversation)
        for query in (
            policy.messageable_users,
            policy.presence_visible_users,
            policy.readable_conversations,
            policy.postable_conversations,
            policy.managed_conversations,
        ):
            assert not query(user).exists(), (name, query.__name__)


@pytest.mark.django_db
def test_query_forms_read_the_account_from_the_database(world):
    """A socket holds its user object for hours: the query forms (the send's
    claim among them) take the database's word that an account is active."""
    people, conversations = world
    member = people["mentor0"]
    assert policy.postable_conversations(member).exists()
    type(member).objects.filter(pk=member.pk).update(is_active=False)
    assert member.is_active  # the stale object still says so
    assert not policy.postable_conversations(member).exists()
    assert not policy.readable_conversations(member).exists()
    assert not policy.messageable_users(member).exists()


@pytest.mark.django_db
def test_a_membership_row_brought_by_the_caller_must_be_theirs(world):
    people, conversations = world
    group = conversations["group0"]
    rows = {p.user_id: p for p in group.participants.all()}
    admin_row = next(p for p in rows.values() if p.role == ParticipantRole.ADMIN and p.is_active)
    outsider = next(u for u in people.values() if u.is_active and u.role != A and u.pk not in rows)
    assert not policy.may_read(outsider, group, membership=admin_row)
    assert not policy.may_manage(outsider, group, membership=admin_row)
    left = next(p for p in rows.values() if p.left_at is not None)
    assert not policy.may_read(left.user, group, membership=left)


@pytest.mark.django_db
def test_who_may_block_whom(make_user):
    """Anyone but oneself, except that a student keeps their assigned mentor
    and the admins within reach."""
    student, other_student = make_user(S), make_user(S)
    mentor, other_mentor, admin = make_user(M), make_user(M), make_user(A)
    MentorAssignment.objects.create(mentor=mentor, student=student)
    assert not policy.may_block(student, mentor)
    assert not policy.may_block(student, admin)
    assert not policy.may_block(student, student)
    assert policy.may_block(student, other_mentor)
    assert policy.may_block(student, other_student)
    assert policy.may_block(mentor, student)
    assert policy.may_block(mentor, admin)
    assert policy.may_block(admin, student)
    assert not policy.may_block(make_user(M, is_active=False), student)


@pytest.mark.django_db
def test_a_block_is_mutual_for_direct_conversations_only(make_user):
    mentor, peer = make_user(M), make_user(M)
    direct = services.create_conversation(creator=mentor, kind="direct", participants=[peer])
    group = services.create_conversation(
        creator=mentor, kind="group", participants=[peer], title="Both"
    )
    UserBlock.objects.create(blocker=peer, blocked=mentor)
    for user, other in ((mentor, peer), (peer, mentor)):
        assert not policy.may_start_direct(user, other)
        assert not policy.may_post(user, direct)
        assert policy.may_post(user, group)
        assert policy.may_read(user, direct)
        assert set(policy.postable_conversations(user)) == {group}
