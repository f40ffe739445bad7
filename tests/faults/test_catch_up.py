"""Offline catch-up: a member is away (no socket) while 500 messages arrive
in five of their conversations, then connects to a real server process and
resumes from the cursors they held, page by page as docs/protocol.md
("resume") describes: every message arrives, each conversation's in
strictly increasing seq, none twice, no page over the documented 200."""

import uuid
from collections import Counter, defaultdict

import pytest

from accounts.models import Role
from messaging import services
from messaging.models import ConversationType
from tests.faults.conftest import orm
from tests.realtime.clients import ProtocolClient

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

# Uneven on purpose: the first conversation needs two pages of `history`.
ARRIVALS = [260, 120, 60, 40, 20]
PAGE_LIMIT = 200  # docs/protocol.md: "at most 200" messages per history frame
WAIT = 60


def five_conversations_of(member, sender, admin) -> list[str]:
    return [
        str(
            services.create_conversation(
                creator=admin,
                kind=ConversationType.GROUP,
                participants=[member, sender],
                title=f"Catch-up {number}",
            ).pk
        )
        for number in range(len(ARRIVALS))
    ]


def arrive_while_away(sender, conversations: list[str]) -> dict[str, list[str]]:
    """Send ``ARRIVALS`` messages through the send service, the way every
    send is stored and published; their ids by conversation, in send order."""
    sent: dict[str, list[str]] = {}
    for conversation, count in zip(conversations, ARRIVALS, strict=True):
        sent[conversation] = [
            str(
                services.send_message(
                    sender=sender,
                    conversation_id=uuid.UUID(conversation),
                    content=f"while away {number}",
                    client_id=uuid.uuid4(),
                ).message.pk
            )
            for number in range(count)
        ]
    return sent


async def test_a_member_back_from_away_resumes_every_message_once_in_order(
    asgi_server, make_user, cookie_of
):
    member, sender, admin = (
        await orm(make_user)(Role.STUDENT),
        await orm(make_user)(Role.STUDENT),
        await orm(make_user)(Role.ADMIN),
    )
    conversations = await orm(five_conversations_of)(member, sender, admin)
    server = asgi_server()
    client = ProtocolClient("member", await cookie_of(member), [server.ws_url])

    # Connected once: the client holds its cursors (what it has seen).
    await client.connect()
    await client.wait_resumed(WAIT)
    await client.close()
    cursors_when_leaving = dict(client.cursors)
    assert set(conversations) <= set(cursors_when_leaving)

    sent = await orm(arrive_while_away)(sender, conversations)
    assert sum(map(len, sent.values())) == 500

    # Back: the same client connects and resumes from its cursors, asking
    # again from the last seq received while a page says has_more.
    seen_before = len(client.frames)
    await client.connect()
    await client.wait_resumed(WAIT)
    await client.close()

    pages = [f for f in client.frames[seen_before:] if f["type"] == "history"]
    assert all(len(page["messages"]) <= PAGE_LIMIT for page in pages)
    assert any(page["has_more"] for page in pages)  # paging was needed, and used
    deliveries: Counter = Counter()
    seqs: dict[str, list[int]] = defaultdict(list)
    arrivals: dict[str, list[str]] = defaultdict(list)
    for message in client.delivered(since=seen_before):
        deliveries[message["id"]] += 1
        seqs[message["conversation_id"]].append(message["seq"])
        arrivals[message["conversation_id"]].append(message["id"])
    assert sum(deliveries.values()) == 500
    assert set(deliveries.values()) == {1}  # nothing twice
    for conversation in conversations:
        assert seqs[conversation] == sorted(set(seqs[conversation])), conversation
        assert seqs[conversation][0] == cursors_when_leaving[conversation] + 1
        assert arrivals[conversation] == sent[conversation]  # all, in send order
