"""The inbox, the socket's hello and the unread total count exactly what the
rule says, whatever happened before: a seeded random run of sends (main
stream, thread-only replies, replies also sent to the conversation), reads
(forward, and backward, which is ignored), edits, deletes, hides and
restores, leaving and coming back, archiving (the conversation's own, and a
member's for themselves) and muting, across several people and
conversations. After every step each person's figures are compared with a
reference counted here from the rows, by the definition:

* a membership's unread count is the number of its conversation's
  main-stream messages (not a thread-only reply: ``parent`` unset, or
  ``also_to_conversation``) with a seq above its read cursor; deleted and
  hidden messages still count (their placeholder is in the stream);
* the hello lists every active membership with that count;
* the unread total adds it up over active memberships of conversations not
  archived by their admins;
* the inbox lists the active memberships of unarchived conversations the
  person has not put away, each with that count and its latest main-stream
  message as the preview; its statements compiled once
  (``messaging.inbox.statements``) give, field for field, what the
  querysets give as Django compiles them.
"""

import json
import random
import uuid

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from accounts.models import Role
from messaging import selectors, services
from messaging.errors import MessagingError
from messaging.inbox import selectors as inbox_selectors
from messaging.models import Conversation, ConversationParticipant, ConversationType, Message
from messaging.moderation.services import actions as moderation
from notifications import services as notification_services
from notifications.models import ConversationMute
from tests.messaging import inbox_scenario
from tests.messaging.helpers import json_on_embedded
from tests.messaging.inbox_rows import inbox_shape

pytestmark = pytest.mark.django_db

STEPS = 240
SEED = 17
# Checked after every few steps (and after the last): each check asks every
# figure of every person.
CHECK_EVERY = 3


def _main_stream() -> Q:
    return Q(parent__isnull=True) | Q(also_to_conversation=True)


def reference_unread(membership: ConversationParticipant) -> int:
    return (
        Message.objects.filter(
            conversation_id=membership.conversation_id, seq__gt=membership.last_read_seq
        )
        .filter(_main_stream())
        .count()
    )


def reference_last(conversation_id) -> Message | None:
    return (
        Message.objects.filter(conversation_id=conversation_id)
        .filter(_main_stream())
        .order_by("-seq")
        .first()
    )


def reference_put_away(membership: ConversationParticipant) -> bool:
    if membership.archived_at is None:
        return False
    conversation = membership.conversation
    now = timezone.now()
    muted = ConversationMute.objects.filter(
        user_id=membership.user_id, conversation_id=membership.conversation_id
    ).filter(Q(until__isnull=True) | Q(until__gt=now))
    newer = Message.objects.filter(
        conversation_id=membership.conversation_id, sent_at__gt=membership.archived_at
    ).filter(_main_stream())
    return (
        conversation.last_message_at is None
        or conversation.last_message_at <= membership.archived_at
        or muted.exists()
        or not newer.exists()
    )


def check_person(user) -> None:
    memberships = list(
        ConversationParticipant.objects.active().filter(user=user).select_related("conversation")
    )
    expected = {m.conversation_id: reference_unread(m) for m in memberships}

    hello = {c["id"]: c["unread"] for c in selectors.socket_conversations(user)}
    assert hello == {str(cid): n for cid, n in expected.items()}, user

    total = sum(
        expected[m.conversation_id] for m in memberships if m.conversation.archived_at is None
    )
    assert selectors.unread_total(user) == total, user

    for m in memberships:
        assert selectors.unread_in(m) == expected[m.conversation_id], user

    for archived in (False, True):
        wanted = {
            m.conversation_id
            for m in memberships
            if (m.conversation.archived_at is not None or reference_put_away(m)) == archived
        }
        rows = list(selectors.inbox(user, archived=archived))
        assert {r.conversation_id for r in rows} == wanted, (user, archived)
        # The statements compiled once give what the querysets give, field
        # for field, and so does the type filter (every conversation here
        # is a group).
        by_queryset = inbox_selectors.inbox(user, archived=archived, compiled=False)
        assert inbox_shape(rows) == inbox_shape(by_queryset), (user, archived)
        groups = selectors.inbox(user, kind=ConversationType.GROUP, archived=archived)
        assert inbox_shape(groups) == inbox_shape(rows), (user, archived)
        for row in rows:
            assert row.unread_count == expected[row.conversation_id], user
            last = reference_last(row.conversation_id)
            shown = (
                row.last_message_seq,
                row.last_message_content,
                row.last_message_html,
                row.last_message_type,
                row.last_message_deleted_at,
                row.last_message_hidden_at,
                row.last_message_sender_id,
            )
            assert shown == (
                (
                    last.seq,
                    last.content,
                    last.content_html,
                    last.message_type,
                    last.deleted_at,
                    last.hidden_at,
                    last.sender_id,
                )
                if last
                else (None,) * 7
            ), user


@pytest.fixture
def moderator(make_user):
    user = make_user(Role.MENTOR, name="Mo Moderator")
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


def test_counts_equal_the_rule_over_random_operations(make_user, moderator):
    rng = random.Random(SEED)
    admin = make_user(Role.ADMIN, is_staff=True)
    students = [make_user(Role.STUDENT) for _ in range(4)]
    people = [admin, *students]
    groups = [
        services.create_conversation(
            creator=admin, kind=ConversationType.GROUP, participants=students[:k], title=f"G{k}"
        )
        for k in (4, 3, 2)
    ]
    done: dict[str, int] = {}

    def members(conversation):
        ids = set(selectors.member_ids(conversation.pk))
        return [p for p in people if p.pk in ids]

    def send(conversation, **kwargs):
        sender = rng.choice(members(conversation))
        return services.send_message(
            sender=sender,
            conversation_id=conversation.pk,
            content=f"m{rng.randrange(10**6)}",
            client_id=uuid.uuid4(),
            **kwargs,
        )

    def some_message(conversation, **filters):
        messages = list(
            Message.objects.filter(conversation=conversation, **filters)
            .exclude(message_type="system")
            .order_by("seq")
        )
        return rng.choice(messages) if messages else None

    def op_send(c):
        send(c)

    def op_thread_reply(c, *, also=False):
        root = some_message(c, parent__isnull=True, deleted_at__isnull=True)
        if root is not None:
            send(c, parent_id=root.pk, also_to_conversation=also)

    def op_read(c):
        reader = rng.choice(members(c))
        last_seq = Conversation.objects.get(pk=c.pk).last_seq
        # Anywhere from the start (a backward move, ignored) to past the end (capped).
        services.mark_read(
            user=reader, conversation_id=c.pk, up_to_seq=rng.randint(0, last_seq + 2)
        )

    def op_edit(c):
        message = some_message(c, deleted_at__isnull=True, hidden_at__isnull=True)
        if message is not None:
            services.edit_message(
                editor=message.sender, message_id=message.pk, content=f"e{rng.randrange(99)}"
            )

    def op_delete(c):
        message = some_message(c, deleted_at__isnull=True)
        if message is not None:
            services.delete_message(actor=message.sender, message_id=message.pk)

    def op_hide(c):
        message = some_message(c, deleted_at__isnull=True)
        if message is None:
            return
        if message.hidden_at is None:
            moderation.hide_message(moderator=moderator, message_id=message.pk, note="hidden")
        else:
            moderation.restore_message(moderator=moderator, message_id=message.pk, note="back")

    def op_membership(c):
        student = rng.choice(students)
        if student.pk in selectors.member_ids(c.pk):
            services.remove_participant(actor=student, conversation_id=c.pk, user=student)
        else:
            services.add_participants(actor=admin, conversation_id=c.pk, users=[student])

    def op_archive(c):
        # One archived at a time, and not for long: an archived conversation
        # refuses sends, edits and membership changes.
        archived = Conversation.objects.filter(
            pk__in=[g.pk for g in groups], archived_at__isnull=False
        ).first()
        if archived is not None:
            services.set_archived(actor=admin, conversation_id=archived.pk, archived=False)
        else:
            services.set_archived(actor=admin, conversation_id=c.pk, archived=True)

    def op_put_away(c):
        member = rng.choice(members(c))
        services.set_archived_for_me(user=member, conversation_id=c.pk, archived=rng.random() < 0.6)

    def op_mute(c):
        member = rng.choice(members(c))
        if ConversationMute.objects.filter(user=member, conversation=c).exists():
            notification_services.unmute_conversation(user=member, conversation_id=c.pk)
        else:
            notification_services.mute_conversation(user=member, conversation_id=c.pk, until=None)

    operations = [
        (op_send, 30),
        (op_thread_reply, 14),
        (lambda c: op_thread_reply(c, also=True), 5),
        (op_read, 20),
        (op_edit, 6),
        (op_delete, 5),
        (op_hide, 4),
        (op_membership, 5),
        (op_archive, 4),
        (op_put_away, 5),
        (op_mute, 3),
    ]
    names = [
        "send",
        "thread_only",
        "also_to_conversation",
        "read",
        "edit",
        "delete",
        "hide",
        "membership",
        "archive",
        "put_away",
        "mute",
    ]
    weights = [w for _, w in operations]
    for step in range(STEPS):
        index = rng.choices(range(len(operations)), weights)[0]
        conversation = rng.choice(groups)
        try:
            operations[index][0](conversation)
        except MessagingError:
            # Refused by policy (an archived conversation, a message
            # already deleted…): nothing changed, the figures still hold.
            done[f"{names[index]} refused"] = done.get(f"{names[index]} refused", 0) + 1
        else:
            done[names[index]] = done.get(names[index], 0) + 1
        if step % CHECK_EVERY == 0 or step == STEPS - 1:
            for person in people:
                check_person(person)

    # The run did what it set out to: every kind of step happened.
    assert all(done.get(name, 0) > 0 for name in names), done
    assert Message.objects.filter(parent__isnull=False, also_to_conversation=False).exists()


def test_postgresql_and_the_embedded_default_show_the_same_inbox(tmp_path):
    """The preview comes back from one JSON object on both databases, its
    timestamps aware and its sender a UUID on each."""
    assert connection.vendor == "postgresql"
    on_postgresql = json.loads(json.dumps(inbox_scenario.run("pg")))
    ann = on_postgresql["Ann"]
    # Study: above the root, which Ann read, the reply also sent to the
    # conversation and the edited one (not the thread-only reply); Quiet:
    # Bob's deleted one (Ann's own sending read hers).
    assert ann["total"] == 2 + 1
    assert [row[0] for row in ann["inbox"]] == ["Quiet", "Study"]
    assert ann["inbox"][0][6:9] == ["0:00:00", None, "Bob"]  # deleted, last
    on_sqlite = json_on_embedded(
        tmp_path, "run('sqlite')", imports="from tests.messaging.inbox_scenario import run"
    )
    assert on_postgresql == on_sqlite
