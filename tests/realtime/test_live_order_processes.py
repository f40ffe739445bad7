"""Live seq order across processes: members send at once through two real
server processes, and every member's socket, on either process, receives
the conversation's ``message.new`` frames in strictly increasing seq order,
each once, all of them (docs/protocol.md, "Ordering")."""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from accounts.models import Role
from messaging import services
from messaging.models import ConversationType
from tests.realtime.clients import ProtocolClient
from tests.realtime.conftest import session_cookie

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

orm = sync_to_async

SENDERS_PER_PROCESS = 2
MESSAGES_PER_SENDER = 50
SERVER_ENV = {"PARLEY_SEND_RATE_PER_SECOND": "500", "PARLEY_SEND_BURST": "500"}


def live_seqs(client: ProtocolClient, conversation_id: str) -> list[int]:
    """The seqs of the ``message.new`` frames the socket read, in the order
    it read them."""
    return [
        frame["message"]["seq"]
        for frame in client.frames
        if frame["type"] == "message.new" and frame["message"]["conversation_id"] == conversation_id
    ]


async def test_concurrent_senders_on_two_processes_are_received_in_seq_order(
    asgi_server, make_user
):
    admin = await orm(make_user)(Role.ADMIN)
    senders = [await orm(make_user)(Role.STUDENT) for _ in range(2 * SENDERS_PER_PROCESS)]
    readers = [await orm(make_user)(Role.STUDENT) for _ in range(2)]
    group = await orm(services.create_conversation)(
        creator=admin,
        kind=ConversationType.GROUP,
        participants=[*senders, *readers],
        title="Everyone at once",
    )
    cid = str(group.pk)
    servers = [asgi_server(extra_env=SERVER_ENV), asgi_server(extra_env=SERVER_ENV)]

    async def open_client(person, index: int) -> ProtocolClient:
        server = servers[index % 2]
        client = ProtocolClient(
            person.display_name, await orm(session_cookie)(person), [server.ws_url]
        )
        await client.connect()
        await client.wait_resumed()
        return client

    sending = [await open_client(person, i) for i, person in enumerate(senders)]
    reading = [await open_client(person, i) for i, person in enumerate(readers)]
    everyone = [*sending, *reading]
    # The first word, the burst, and the last word (below).
    total = 1 + len(sending) * MESSAGES_PER_SENDER + 1

    async def send_all(client: ProtocolClient) -> None:
        # Written back to back, not waiting for acks: the four sockets'
        # sends interleave in the conversation's seq order.
        for n in range(MESSAGES_PER_SENDER):
            await client.send(cid, f"{client.name} #{n}")
        await client.wait_for(lambda f: not client.outbox, timeout=60)

    async def received(client: ProtocolClient, seq: int) -> None:
        await client.wait_for(
            lambda f: f["type"] == "message.new" and f["message"]["seq"] == seq, timeout=60
        )

    try:
        # A process orders a conversation from the first message it sees
        # (docs/protocol.md, "Ordering"): one message, alone, starts it.
        await sending[0].send(cid, "the first word")
        await asyncio.gather(*(received(c, 1) for c in everyone))
        await asyncio.gather(*(send_all(c) for c in sending))
        # Every send is acknowledged; one more, after them all, marks the end
        # of the live stream each socket must have read.
        await sending[0].send(cid, "the last word")
        await asyncio.gather(*(received(c, total) for c in everyone))

        expected = list(range(1, total + 1))
        for client in everyone:
            assert live_seqs(client, cid) == expected, client.name
    finally:
        for client in everyone:
            await client.close()
