"""Real daphne processes on one Redis and one PostgreSQL: delivery, typing
and presence across processes, a process killed mid-traffic, and presence
that expires when its process dies."""

import asyncio
import uuid

import pytest
from asgiref.sync import sync_to_async

from accounts.models import Role
from messaging import services
from messaging.models import ConversationType, Message
from tests.realtime.clients import ProtocolClient
from tests.realtime.conftest import session_cookie
from tests.servers import production_profile

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

orm = sync_to_async

SERVER_ENV = {
    "PARLEY_SEND_RATE_PER_SECOND": "200",
    "PARLEY_SEND_BURST": "200",
    "PARLEY_PRESENCE_TTL_SECONDS": "3",
}


def is_type(kind, **fields):
    return lambda f: (
        f["type"] == kind and all(_get(f, key) == value for key, value in fields.items())
    )


def _get(frame, dotted):
    for part in dotted.split("__"):
        frame = frame.get(part) if isinstance(frame, dict) else None
    return frame


async def test_message_typing_and_presence_cross_processes(asgi_server, assigned):
    mentor, student = assigned
    conversation = await orm(services.create_conversation)(
        creator=mentor, kind=ConversationType.DIRECT, participants=[student]
    )
    cid = str(conversation.pk)
    first, second = asgi_server(extra_env=SERVER_ENV), asgi_server(extra_env=SERVER_ENV)
    student_client = ProtocolClient("student", await orm(session_cookie)(student), [first.ws_url])
    mentor_client = ProtocolClient("mentor", await orm(session_cookie)(mentor), [second.ws_url])
    await student_client.connect()
    await mentor_client.connect()
    try:
        # Presence: the mentor came online on the other process.
        await student_client.wait_for(is_type("presence", user_id=str(mentor.pk), status="online"))

        await student_client.send(cid, "across processes")
        new = await mentor_client.wait_for(
            is_type("message.new", message__content="across processes")
        )
        assert new["message"]["seq"] == 1

        await mentor_client.command({"type": "typing.start", "conversation_id": cid})
        typing = await student_client.wait_for(is_type("typing", is_typing=True))
        assert typing["user"]["id"] == str(mentor.pk)

        await mentor_client.close()
        await student_client.wait_for(is_type("presence", user_id=str(mentor.pk), status="offline"))
    finally:
        await student_client.close()
        await mentor_client.close()


async def test_killed_process_loses_nothing_acknowledged(asgi_server, make_user):
    """Clients send through two processes; one is killed mid-traffic. Its
    clients reconnect to the other, resend their outbox, and resume."""
    mentor = await orm(make_user)(Role.ADMIN)
    students = [await orm(make_user)(Role.STUDENT) for _ in range(3)]
    group = await orm(services.create_conversation)(
        creator=mentor, kind=ConversationType.GROUP, participants=students, title="Load"
    )
    cid = str(group.pk)
    # Both in the production profile, as deployed.
    doomed, survivor = (asgi_server(extra_env=production_profile(**SERVER_ENV)) for _ in "ab")
    people = [mentor, *students]
    clients = []
    for index, person in enumerate(people):
        urls = [doomed.ws_url, survivor.ws_url] if index % 2 == 0 else [survivor.ws_url]
        client = ProtocolClient(person.display_name, await orm(session_cookie)(person), urls)
        await client.connect()
        clients.append(client)

    per_client = 30

    async def run(client: ProtocolClient) -> None:
        for n in range(per_client):
            if client.closed:
                await client.reconnect_elsewhere()
            await client.send(cid, f"{client.name} #{n}")
            await asyncio.sleep(0.02)
        for _ in range(100):  # bounded wait for the last acks
            if client.closed:
                await client.reconnect_elsewhere()
            if not client.outbox:
                return
            await asyncio.sleep(0.1)

    async def kill_midway() -> None:
        await asyncio.sleep(0.35)
        await asyncio.to_thread(doomed.kill)

    try:
        await asyncio.gather(*(run(c) for c in clients), kill_midway())
        for client in clients:
            assert not client.outbox, f"{client.name} has unacknowledged messages"
            await client.resume()
            await client.wait_resumed()

        stored = await orm(
            lambda: list(
                Message.objects.filter(conversation_id=group.pk)
                .order_by("seq")
                .values("id", "seq", "client_id", "message_type")
            )
        )()
        texts = [m for m in stored if m["message_type"] == "text"]
        # Every acknowledged message is stored exactly once...
        stored_client_ids = [str(m["client_id"]) for m in texts]
        assert len(stored_client_ids) == len(set(stored_client_ids))
        all_sent = set().union(*(c.sent for c in clients))
        assert set(stored_client_ids) == all_sent
        assert len(texts) == per_client * len(clients)
        # ...seqs are contiguous...
        assert [m["seq"] for m in stored] == list(range(1, len(stored) + 1))
        # ...and every client holds every message exactly once.
        stored_ids = {str(m["id"]) for m in stored}
        for client in clients:
            held = {mid for mid, m in client.held.items() if m["conversation_id"] == cid}
            assert held == stored_ids, f"{client.name} misses {len(stored_ids - held)}"
            # ...none of it twice or out of order on any one connection's live stream.
            assert (client.live_repeats, client.live_out_of_order) == (0, 0), client.name
        assert any(c.reconnects for c in clients), "the kill must have cut someone off"
    finally:
        for client in clients:
            await client.close()


async def test_presence_of_a_dead_process_expires(asgi_server, assigned):
    mentor, student = assigned
    await orm(services.create_conversation)(
        creator=mentor, kind=ConversationType.DIRECT, participants=[student]
    )
    doomed, survivor = asgi_server(extra_env=SERVER_ENV), asgi_server(extra_env=SERVER_ENV)
    watcher = ProtocolClient("student", await orm(session_cookie)(student), [survivor.ws_url])
    victim = ProtocolClient("mentor", await orm(session_cookie)(mentor), [doomed.ws_url])
    await watcher.connect()
    await victim.connect()
    try:
        await watcher.wait_for(is_type("presence", user_id=str(mentor.pk), status="online"))
        await asyncio.to_thread(doomed.kill)
        # No clean disconnect ran: only expiry (TTL 3 s here, ~90 s by default)
        # and the survivor's sweep can tell.
        offline = await watcher.wait_for(
            is_type("presence", user_id=str(mentor.pk), status="offline"), timeout=20
        )
        assert offline["last_seen"]
    finally:
        await watcher.close()
        await victim.close()


async def test_lost_ack_resend_gets_the_original(asgi_server, assigned):
    """The connection drops after the commit, before the ack is read: the
    resend with the same client_id returns the original seq, no second row."""
    mentor, student = assigned
    conversation = await orm(services.create_conversation)(
        creator=mentor, kind=ConversationType.DIRECT, participants=[student]
    )
    server = asgi_server(extra_env=SERVER_ENV)
    cookie = await orm(session_cookie)(student)
    client_id = str(uuid.uuid4())
    first = ProtocolClient("student", cookie, [server.ws_url])
    await first.connect()
    await first._write_send(str(conversation.pk), client_id, "did it arrive?")
    # Wait until it is committed, then drop the socket without reading the ack.
    for _ in range(100):
        if await orm(Message.objects.filter(client_id=client_id).exists)():
            break
        await asyncio.sleep(0.05)
    first._reader.cancel()
    first.socket.transport.abort()

    second = ProtocolClient("student", cookie, [server.ws_url])
    await second.connect()
    try:
        await second._write_send(str(conversation.pk), client_id, "did it arrive?")
        ack = await second.wait_for(is_type("ack", client_id=client_id))
        assert ack["duplicate"] is True and ack["message"]["seq"] == 1
        assert await orm(Message.objects.filter(client_id=client_id).count)() == 1
    finally:
        await second.close()
