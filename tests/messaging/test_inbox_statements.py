"""The inbox's statements compiled once (``messaging.inbox.statements``) give
the rows the querysets give as Django compiles them, for each person, view
and type, with the person and the moment bound anew on every call; a
statement that could not be bound safely is refused when it is compiled.
(The seeded random run of tests/messaging/test_unread_equivalence.py
compares the two ways after every step as well.)"""

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import MentorAssignment, Role
from messaging import selectors, services
from messaging.inbox import selectors as inbox_selectors
from messaging.inbox import statements
from messaging.models import ConversationParticipant, ConversationType
from notifications.models import ConversationMute
from tests.messaging.inbox_rows import inbox_shape

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture
def fresh_templates():
    statements._template.cache_clear()
    yield
    statements._template.cache_clear()


def _send(sender, conversation, content="hello", **kwargs):
    return services.send_message(
        sender=sender,
        conversation_id=conversation.pk,
        content=content,
        client_id=uuid.uuid4(),
        **kwargs,
    )


def _both(person, **view):
    compiled = inbox_selectors.inbox(person, **view)
    assert inbox_shape(compiled) == inbox_shape(
        inbox_selectors.inbox(person, compiled=False, **view)
    ), (person, view)
    return compiled


def test_each_person_view_and_type_gets_the_querysets_rows(make_user, assigned, fresh_templates):
    assert connection.vendor == "postgresql"
    mentor, student = assigned
    other = make_user(Role.STUDENT, name="Olga Other")
    MentorAssignment.objects.create(mentor=mentor, student=other)
    direct = services.create_conversation(
        creator=mentor, kind=ConversationType.DIRECT, participants=[student]
    )
    study = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student, other], title="Study"
    )
    lab = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[other], title="Lab"
    )
    quiet = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student], title="Quiet"
    )
    old = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student, other], title="Old"
    )
    _send(mentor, direct, "hi")
    _send(student, study, "question")
    root = _send(mentor, study, "answer").message
    _send(student, study, "thread only", parent_id=root.pk)
    _send(other, lab, "lab")
    _send(mentor, old, "old news")
    services.set_archived(actor=mentor, conversation_id=old.pk, archived=True)
    services.set_archived_for_me(user=student, conversation_id=quiet.pk, archived=True)
    services.mark_read(user=other, conversation_id=study.pk, up_to_seq=1)
    services.remove_participant(actor=other, conversation_id=lab.pk, user=other)

    expected = {
        # person: (inbox, archived view)
        mentor: ({direct.pk, study.pk, lab.pk, quiet.pk}, {old.pk}),
        student: ({direct.pk, study.pk}, {quiet.pk, old.pk}),
        other: ({study.pk}, {old.pk}),
    }
    # The people in turn, each view and type in turn: every call after the
    # first of its kind binds into a statement another person's call compiled.
    for _ in range(2):
        for person, (inbox, archived) in expected.items():
            assert {r.conversation_id for r in _both(person)} == inbox
            assert {r.conversation_id for r in _both(person, archived=True)} == archived
            for kind in ConversationType.values:
                for archived_view, wanted in ((False, inbox), (True, archived)):
                    rows = _both(person, kind=kind, archived=archived_view)
                    assert all(r.conversation.type == kind for r in rows)
                    assert {r.conversation_id for r in rows} <= wanted


def test_the_moment_is_bound_on_every_call(assigned, monkeypatch, fresh_templates):
    """A mute that ends keeps a put-away conversation away until it ends,
    then the newer message brings it back: the time is the call's, not the
    one the statement was compiled with."""
    mentor, student = assigned
    group = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student], title="Muted"
    )
    _send(mentor, group, "first")
    services.set_archived_for_me(user=student, conversation_id=group.pk, archived=True)
    now = timezone.now()
    ConversationMute.objects.create(
        user=student, conversation=group, until=now + timedelta(hours=1)
    )
    _send(mentor, group, "newer")

    def inbox_at(moment):
        monkeypatch.setattr(inbox_selectors.timezone, "now", lambda: moment)
        return {r.conversation_id for r in _both(student)}

    assert inbox_at(now) == set()
    assert inbox_at(now + timedelta(hours=2)) == {group.pk}
    assert inbox_at(now) == set()


def test_the_inbox_asks_two_statements_compiled_once(group_of_three, fresh_templates):
    mentor, student, _ = group_of_three
    selectors.inbox(student)
    compiled = statements._template.cache_info().currsize
    for person in group_of_three:
        with CaptureQueriesContext(connection) as asked:
            assert len(selectors.inbox(person)) == 1
        assert len(asked.captured_queries) == 2
    assert statements._template.cache_info().currsize == compiled == 2


@pytest.fixture
def group_of_three(make_user, assigned):
    mentor, student = assigned
    other = make_user(Role.STUDENT)
    MentorAssignment.objects.create(mentor=mentor, student=other)
    group = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student, other], title="Three"
    )
    _send(mentor, group)
    return mentor, student, other


def _unbound_time(user_id, now, kind, *, archived):
    """Reads the clock itself instead of the moment it is given."""
    return statements.membership_rows(user_id, timezone.now(), kind, archived=archived)


def _unbound_person(user_id, now, kind, *, archived):
    """Ignores the person it is given."""
    return statements.member_rows(uuid.UUID(int=7), now, kind, archived=archived)


def _no_kind(user_id, now, kind, *, archived):
    """Ignores the type it is given."""
    return statements.membership_rows(user_id, now, None, archived=archived)


@pytest.mark.parametrize(
    ("statement", "by_kind", "refusal"),
    [
        (_unbound_time, False, "is not constant"),
        (_unbound_person, False, "does not depend on user_id"),
        (_no_kind, True, "does not depend on kind"),
    ],
)
def test_a_statement_that_cannot_be_bound_is_refused(statement, by_kind, refusal, fresh_templates):
    with pytest.raises(ValueError, match=refusal):
        statements._template(statement, False, by_kind)


def test_a_conversation_that_comes_in_between_the_two_statements_is_left_out(
    group_of_three, fresh_templates, monkeypatch
):
    """The members' statement finds the conversations again: one that was
    not in the memberships' rows has no row to join."""
    mentor, student, _ = group_of_three
    rows = statements.rows

    def joining_late(statement, asked):
        if statement is statements.member_rows:
            later = services.create_conversation(
                creator=mentor,
                kind=ConversationType.GROUP,
                participants=[student],
                title="Later",
            )
            _send(mentor, later)
        return rows(statement, asked)

    monkeypatch.setattr(statements, "rows", joining_late)
    [row] = selectors.inbox(student)
    assert {m.user_id for m in row.members} == set(
        ConversationParticipant.objects.active()
        .filter(conversation_id=row.conversation_id)
        .values_list("user_id", flat=True)
    )
