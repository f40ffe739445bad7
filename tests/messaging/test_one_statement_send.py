"""A plain send outside any transaction is one autocommitted PostgreSQL
statement, prepared by the server: no BEGIN or COMMIT around it, and what
is done "after commit" (``message.new``, the notification fan-out) still
happens, once the statement has committed. Anything that writes more than
the statement (files, a thread reply, a filter hit, a link card) keeps its
transaction. Run outside pytest-django's per-test transaction, as a server
runs a send."""

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from messaging import events, services
from messaging.errors import AccessDenied, ClientIdConflict
from messaging.models import AuditLog, Conversation, ConversationType, Message
from messaging.moderation.models import FilterAction, FilterKind, FilterRule
from messaging.search.models import SearchDocument
from messaging.services import store
from notifications.models import Notification

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def published(monkeypatch):
    frames: list[dict] = []
    monkeypatch.setattr(events, "publish", lambda group, frame, **_: frames.append(frame))
    return frames


@pytest.fixture
def group(make_user):
    admin = make_user(Role.ADMIN)
    members = [make_user(Role.MENTOR) for _ in range(2)]
    conversation = services.create_conversation(
        creator=admin, kind=ConversationType.GROUP, participants=members, title="one statement"
    )
    return conversation, admin, members


def _send(sender, conversation, content="hello", client_id=None, **extra):
    return services.send_message(
        sender=sender,
        conversation_id=conversation.pk,
        content=content,
        client_id=client_id or uuid.uuid4(),
        **extra,
    )


def _statements(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries]


@pytest.fixture
def autocommit_seen(monkeypatch):
    """Whether the connection was in autocommit, outside any atomic block,
    when each send's statement ran."""
    seen: list[bool] = []
    real = store._store_in_one_statement

    def watched(*args, **kwargs):
        seen.append(connection.get_autocommit() and not connection.in_atomic_block)
        return real(*args, **kwargs)

    monkeypatch.setattr(store, "_store_in_one_statement", watched)
    return seen


def test_a_plain_send_is_one_autocommitted_statement(group, published, autocommit_seen, settings):
    from config.celery import app

    conversation, _, members = group
    # The fan-out left to the worker, as on a server: the send alone.
    settings.PARLEY_LIVE_TASKS_IN_PROCESS = False
    app.conf.task_always_eager = False
    _send(members[1], conversation, "warm")  # the filter's rules read once
    before = Conversation.objects.get(pk=conversation.pk).last_seq
    with CaptureQueriesContext(connection) as queries:
        result = _send(members[0], conversation, "one trip")
    assert len(_statements(queries)) == 1, _statements(queries)
    assert autocommit_seen == [True, True]
    message = Message.objects.get(pk=result.message.pk)
    assert message.seq == before + 1
    assert AuditLog.objects.filter(message_id=message.pk, action="message.send").count() == 1
    assert SearchDocument.objects.filter(message_id=message.pk).exists()
    # Published after the statement committed, as after a COMMIT.
    assert [f["message"]["seq"] for f in published if f["type"] == "message.new"] == [
        before,
        message.seq,
    ]


def test_what_follows_the_commit_still_follows_it(direct, assigned, published, autocommit_seen):
    mentor, student = assigned
    message = _send(student, direct, "are you there?").message
    assert autocommit_seen == [True]
    told = Notification.objects.filter(message_id=message.pk)
    assert [n.user_id for n in told] == [mentor.pk]
    assert [f["message"]["id"] for f in published if f["type"] == "message.new"] == [
        str(message.pk)
    ]


def test_a_resend_in_autocommit_takes_no_seq(group, published):
    conversation, _, members = group
    key = uuid.uuid4()
    first = _send(members[0], conversation, "once", client_id=key)
    again = _send(members[0], conversation, "once", client_id=key)
    assert (first.created, again.created) == (True, False)
    assert again.message.pk == first.message.pk
    after = _send(members[1], conversation, "next")
    # The resend's claim rolled back with its statement: no gap.
    assert after.message.seq == first.message.seq + 1
    assert len([f for f in published if f["type"] == "message.new"]) == 2


def test_a_refused_send_writes_nothing_and_is_audited(group, make_user, published):
    conversation, _, _ = group
    outsider = make_user(Role.STUDENT)
    before = Conversation.objects.get(pk=conversation.pk).last_seq
    with pytest.raises(AccessDenied):
        _send(outsider, conversation, "let me in")
    assert Conversation.objects.get(pk=conversation.pk).last_seq == before
    assert not Message.objects.filter(sender=outsider).exists()
    assert AuditLog.objects.filter(actor=outsider, action="access.denied").exists()
    assert published == []


def test_sends_that_write_more_keep_their_transaction(group, published, autocommit_seen, settings):
    conversation, mentor, members = group
    # Cards on, no address allowed: the card's row is written, nothing fetched.
    settings.PARLEY = {**settings.PARLEY, "LINK_PREVIEWS": True, "LINK_PREVIEW_ALLOW": []}
    root = _send(mentor, conversation, "a question").message
    FilterRule.objects.create(
        name="flag", kind=FilterKind.TERM, pattern="flagme", action=FilterAction.FLAG
    )
    for content, extra in (
        ("see http://192.0.2.1/page", {}),  # a link card's row (a reserved address)
        ("in the thread", {"parent_id": root.pk}),  # the thread's summary
        ("quoting", {"reply_to_id": root.pk}),
        ("flagme please", {}),  # the filter's hit and case
    ):
        _send(members[0], conversation, content, **extra)
    # The question alone went without a transaction.
    assert autocommit_seen == [True, False, False, False, False]


def test_the_send_statement_is_prepared_by_the_server(group, published):
    conversation, _, members = group
    _send(members[0], conversation, "first")
    _send(members[1], conversation, "second")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
            ["WITH claimed AS (UPDATE%"],
        )
        (prepared,) = cursor.fetchone()
    assert prepared == 1
    assert store.in_one_statement()


def test_placeholders_are_numbered_once_per_text():
    from config.prepared import numbered

    assert numbered("SELECT %s, '100%%', %s FROM t WHERE a = %s") == (
        "SELECT $1, '100%', $2 FROM t WHERE a = $3"
    )
    assert numbered("SELECT 1") == "SELECT 1"


def test_a_resend_after_the_sender_may_no_longer_post_returns_the_original(group, published):
    # The ack was lost; meanwhile the sender was removed. Their outbox sends
    # again and is answered with what was stored, not with the refusal.
    conversation, admin, members = group
    key = uuid.uuid4()
    first = _send(members[0], conversation, "before the removal", client_id=key)
    services.remove_participant(actor=admin, conversation_id=conversation.pk, user=members[0])
    again = _send(members[0], conversation, "before the removal", client_id=key)
    assert (again.created, again.message.pk) == (False, first.message.pk)
    with pytest.raises(ClientIdConflict):
        _send(members[0], conversation, "something else", client_id=key)
    with pytest.raises(AccessDenied):
        _send(members[0], conversation, "a new one")
