"""Redis slow (every byte to and from it late by 3 s) or unreachable (a
blackhole: connections accepted, never answered) under one real server
process, for everything Parley keeps there: the channel layer, presence,
rate limits, the cache and Celery's broker.

Sends over the socket and the REST API still commit and are acknowledged,
and none waits longer than the bound docs/operations.md ("Faults and
timeouts") gives a send on a Redis that does not answer. Once Redis is
well again, the clients (resuming from their cursors) hold every
acknowledged message, each delivered once, in seq order.

A TCP proxy (``FaultProxy``) between the server and a private redis-server
plays the faults."""

import asyncio
import time
import uuid
from collections import Counter, defaultdict

import pytest

from messaging.models import Message
from tests.faults.conftest import http, orm
from tests.faults.proxy import BLACKHOLE, LATENCY, PASS, FaultProxy
from tests.faults.redis_server import PrivateRedis
from tests.realtime.clients import ProtocolClient

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

# The server's REDIS_SOCKET_TIMEOUT: longer than the default 2 s, so that a
# send waiting it out once (as documented) and a send waiting it out once
# per Redis call (the defect) are far apart whatever the machine's load.
SOCKET_TIMEOUT = 4.0
# The proxy's delay each way: every Redis call times out.
SLOW_SECONDS = 5.0

# docs/operations.md, "Faults and timeouts": a send waits out
# REDIS_SOCKET_TIMEOUT at most once for each Redis server it uses; here one
# server serves everything (REDIS_URL).
REDIS_SERVERS = 1
# What a send may take beyond that on a loaded 2-core machine (PostgreSQL,
# the thread pool, the test's own client). This bounds a hang, it is not a
# performance assertion: the defect it catches is a send that waits out
# one timeout per Redis call (four of them), and behind other sends' waits.
MARGIN_SECONDS = 6.0
SENDS_DURING_THE_FAULT = 3
WAIT = 60


def send_bound() -> float:
    return REDIS_SERVERS * SOCKET_TIMEOUT + MARGIN_SECONDS


@pytest.fixture
def redis_behind_proxy():
    server = PrivateRedis()
    proxy = FaultProxy("127.0.0.1", server.port)
    yield proxy
    proxy.close()
    server.stop()


def through(proxy: FaultProxy) -> dict:
    """A server's environment with every Redis use (REDIS_URL: the cache,
    presence, rate limits, the broker, and the channel layer, which follows
    it) through ``proxy``, and a fast heartbeat."""
    return {
        "REDIS_URL": f"redis://127.0.0.1:{proxy.port}/0",
        "CHANNEL_LAYER_PREFIX": f"pslow{uuid.uuid4().hex[:6]}",
        "PARLEY_PRESENCE_HEARTBEAT_SECONDS": "1",
        "PARLEY_PRESENCE_TTL_SECONDS": "3",
        "PARLEY_SEND_RATE_PER_SECOND": "50",
        "PARLEY_SEND_BURST": "50",
        "REDIS_SOCKET_TIMEOUT": str(SOCKET_TIMEOUT),
        "REDIS_CONNECT_TIMEOUT": str(SOCKET_TIMEOUT),
        # A send with a link queues its preview on Celery's broker (Redis).
        "PARLEY_LINK_PREVIEWS": "true",
    }


def deliveries(client: ProtocolClient) -> Counter:
    """How many times each message id reached ``client`` as ``message.new``
    or in ``history`` (its own sends' acks not counted): ``held`` is keyed
    by id and would hide a duplicate."""
    counts: Counter = Counter()
    for frame in client.frames:
        if frame["type"] == "message.new":
            counts[frame["message"]["id"]] += 1
        elif frame["type"] == "history":
            counts.update(message["id"] for message in frame["messages"])
    return counts


def seqs_in_arrival_order(client: ProtocolClient) -> dict[str, list[int]]:
    order: dict[str, list[int]] = defaultdict(list)
    for message in client.delivered():
        order[message["conversation_id"]].append(message["seq"])
    return order


async def socket_send(client: ProtocolClient, conversation: str, content: str):
    """Send; the reply (``ack`` or ``error``) and how long it took."""
    started = time.monotonic()
    client_id = await client.send(conversation, content)
    reply = await client.wait_for(
        lambda f: f.get("client_id") == client_id and f["type"] in ("ack", "error"), WAIT
    )
    return reply, time.monotonic() - started


async def rest_send(server, token: str, conversation: str, content: str):
    client_id = str(uuid.uuid4())
    started = time.monotonic()
    answer = await http(
        "POST",
        f"{server.http_url}/api/conversations/{conversation}/messages/",
        token=token,
        data={"client_id": client_id, "content": content},
        timeout=WAIT,
    )
    return client_id, answer, time.monotonic() - started


@pytest.mark.parametrize("fault", [LATENCY, BLACKHOLE])
async def test_sends_are_acknowledged_within_the_bound_and_clients_converge(
    asgi_server, redis_behind_proxy, direct, assigned, cookie_of, token_of, fault
):
    mentor, student = assigned
    server = asgi_server(extra_env=through(redis_behind_proxy))
    conversation = str(direct.pk)
    mentor_token = await token_of(mentor)
    student_client = ProtocolClient("student", await cookie_of(student), [server.ws_url])
    mentor_client = ProtocolClient("mentor", await cookie_of(mentor), [server.ws_url])
    clients = [student_client, mentor_client]
    acked: dict[str, dict] = {}  # client_id -> stored message, socket and REST
    try:
        for client in clients:
            await client.connect()
            await client.wait_resumed()
        reply, _ = await socket_send(student_client, conversation, "before")
        assert reply["type"] == "ack", reply

        redis_behind_proxy.set_mode(fault, latency=SLOW_SECONDS)

        for number in range(SENDS_DURING_THE_FAULT):
            # Both people at once, as in any busy conversation: a send must
            # not wait behind another's wait on Redis either.
            (student_reply, student_took), (mentor_reply, mentor_took), rest = await asyncio.gather(
                socket_send(student_client, conversation, f"student {number}"),
                socket_send(mentor_client, conversation, f"mentor {number}"),
                rest_send(server, mentor_token, conversation, f"REST {number}"),
            )
            client_id, answer, rest_took = rest
            for took, what in (
                (student_took, student_reply),
                (mentor_took, mentor_reply),
                (rest_took, answer.status),
            ):
                assert took < send_bound(), (took, what)
            assert student_reply["type"] == mentor_reply["type"] == "ack"
            assert answer.status == 201, answer.body
            acked[client_id] = answer.json()
        for client in clients:
            await client.wait_for(lambda f: f["type"] == "degraded" and not f["live"], WAIT)

        redis_behind_proxy.set_mode(PASS)

        for client in clients:
            await client.wait_for(lambda f: f["type"] == "degraded" and f["live"], WAIT)
            await client.resume()
            await client.wait_resumed(WAIT)
        # Live again: one more each way.
        for client in (student_client, mentor_client):
            reply, _ = await socket_send(client, conversation, f"{client.name} after")
            assert reply["type"] == "ack", reply
        client_id, answer, _ = await rest_send(server, mentor_token, conversation, "REST after")
        assert answer.status == 201, answer.body
        acked[client_id] = answer.json()
        acked.update(student_client.acked)
        acked.update(mentor_client.acked)
        for client in clients:
            for message in acked.values():
                await client.wait_for(lambda f, m=message: _carries(f, m["id"]), WAIT)
    finally:
        for client in clients:
            await client.close()

    stored = await orm(lambda: set(map(str, Message.objects.values_list("pk", flat=True))))()
    assert {m["id"] for m in acked.values()} <= stored
    assert len(acked) == 3 * SENDS_DURING_THE_FAULT + 4
    for client, person in zip(clients, (student, mentor), strict=True):
        counts = deliveries(client)
        own = {m["id"] for m in acked.values() if m["sender"]["id"] == str(person.pk)}
        for message in acked.values():
            if message["id"] in own:
                assert counts[message["id"]] <= 1, (client.name, message)
            else:
                assert counts[message["id"]] == 1, (client.name, message)
        order = seqs_in_arrival_order(client)[conversation]
        assert order == sorted(set(order)), (client.name, order)


def _carries(frame: dict, message_id: str) -> bool:
    if frame["type"] in ("message.new", "ack"):
        return frame["message"]["id"] == message_id
    if frame["type"] == "history":
        return any(m["id"] == message_id for m in frame["messages"])
    return False
