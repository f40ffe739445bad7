"""Reaction uniqueness under concurrent clicks from two server processes:
one person's two sockets, one on each real daphne process, add (and take
back) the same emoji at the same moment, round after round. The table
ends with exactly one row per emoji, each change was announced once, and
every socket (theirs and another member's) ends with the same reactions as
the database."""

import asyncio
import uuid
from collections import Counter

import pytest
from asgiref.sync import sync_to_async

from messaging import services
from messaging.models import ConversationType
from messaging.threads.models import Reaction
from tests.realtime.clients import RawSocket
from tests.realtime.conftest import session_cookie

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

orm = sync_to_async

SERVER_ENV = {"PARLEY_SEND_RATE_PER_SECOND": "500", "PARLEY_SEND_BURST": "500"}
EMOJI = ["😀", "😁", "😂", "🤣", "😃", "😄", "😅", "😆", "😉", "😊", "😋", "😎", "😍", "😘"]


def reactions_seen(socket: RawSocket, message_id: str) -> tuple[Counter, Counter]:
    """How many ``reaction.added`` and ``reaction.removed`` frames the
    socket read for each emoji on the message."""
    added, removed = Counter(), Counter()
    for frame in socket.frames:
        if frame.get("message_id") != message_id:
            continue
        if frame["type"] == "reaction.added":
            added[frame["emoji"]] += 1
        elif frame["type"] == "reaction.removed":
            removed[frame["emoji"]] += 1
    return added, removed


async def both(sockets, frame):
    """The same command from every socket at once; every answer."""
    return await asyncio.gather(*(s.request(dict(frame)) for s in sockets))


async def test_concurrent_clicks_from_two_processes_make_one_row(asgi_server, assigned):
    mentor, student = assigned
    conversation = await orm(services.create_conversation)(
        creator=mentor, kind=ConversationType.DIRECT, participants=[student]
    )
    message = await orm(
        lambda: (
            services.send_message(
                sender=mentor,
                conversation_id=conversation.pk,
                content="click me",
                client_id=uuid.uuid4(),
            ).message
        )
    )()
    message_id = str(message.pk)
    first, second = asgi_server(extra_env=SERVER_ENV), asgi_server(extra_env=SERVER_ENV)
    cookie = await orm(session_cookie)(student)
    clicks = [
        await RawSocket.open(first.ws_url, cookie),
        await RawSocket.open(second.ws_url, cookie),
    ]
    watcher = await RawSocket.open(second.ws_url, await orm(session_cookie)(mentor))
    try:
        kept, taken_back = [], []
        for index, emoji in enumerate(EMOJI):
            add = {"type": "reaction.add", "message_id": message_id, "emoji": emoji}
            answers = await both(clicks, add)
            assert [a["type"] for a in answers] == ["ok", "ok"], answers
            rows = await orm(
                Reaction.objects.filter(message_id=message_id, user=student, emoji=emoji).count
            )()
            assert rows == 1
            if index % 2:
                remove = {"type": "reaction.remove", "message_id": message_id, "emoji": emoji}
                answers = await both(clicks, remove)
                assert [a["type"] for a in answers] == ["ok", "ok"], answers
                taken_back.append(emoji)
            else:
                kept.append(emoji)

        stored = await orm(
            lambda: sorted(
                Reaction.objects.filter(message_id=message_id).values_list("emoji", flat=True)
            )
        )()
        assert stored == sorted(kept)

        # Every socket hears each change exactly once: one add per emoji,
        # one removal per emoji taken back, and so ends where the table is.
        expected_added = Counter(EMOJI)
        expected_removed = Counter(taken_back)
        for socket in (*clicks, watcher):
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 15
            while reactions_seen(socket, message_id) != (expected_added, expected_removed):
                added, removed = reactions_seen(socket, message_id)
                assert all(n == 1 for n in (*added.values(), *removed.values())), (added, removed)
                assert loop.time() < deadline, (added, removed)
                await socket.recv(timeout=max(0.1, deadline - loop.time()))
            added, removed = reactions_seen(socket, message_id)
            assert sorted((added - removed).elements()) == sorted(kept)

        # The history agrees with the frames.
        history = await watcher.request(
            {"type": "history.fetch", "conversation_id": str(conversation.pk), "limit": 5}
        )
        (shown,) = [m for m in history["messages"] if m["id"] == message_id]
        assert [r["emoji"] for r in shown["reactions"]] == kept
        assert all(r["count"] == 1 for r in shown["reactions"])
    finally:
        for socket in (*clicks, watcher):
            await socket.close()
