"""Redis down: PostgreSQL is the record, so sends still commit and ack;
presence answers ``unknown``; new sockets still connect; every socket is
told that live delivery is degraded, and told again when it recovers.

A private ``redis-server`` serves one real server process and is killed
mid-test, then started again on the same port (empty, as after a crash);
in the last case under traffic, checking that nothing acknowledged is lost,
that the clients converge, and that presence and the shared send budget
work again without restarting Parley."""

import asyncio
import uuid
from collections import Counter

import pytest
import redis

from messaging.models import Message
from tests.faults.conftest import http, orm
from tests.faults.peer import Peer
from tests.faults.redis_server import PrivateRedis
from tests.realtime.clients import ProtocolClient

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def private_redis():
    server = PrivateRedis()
    yield server
    server.stop()


def on_private_redis(private_redis) -> dict:
    """A server's environment on the test's own redis-server, with a fast
    heartbeat so outages and recoveries show within seconds."""
    return {
        "REDIS_URL": private_redis.url,
        "CHANNEL_LAYER_PREFIX": f"pout{uuid.uuid4().hex[:6]}",
        "PARLEY_PRESENCE_HEARTBEAT_SECONDS": "1",
        "PARLEY_PRESENCE_TTL_SECONDS": "3",
    }


def stored(client_id: str) -> bool:
    return Message.objects.filter(client_id=client_id).exists()


async def test_sends_commit_and_clients_hear_of_the_outage_and_the_recovery(
    asgi_server, private_redis, direct, assigned, cookie_of, token_of
):
    mentor, student = assigned
    server = asgi_server(extra_env=on_private_redis(private_redis))
    conversation = str(direct.pk)
    student_cookie, mentor_cookie = await cookie_of(student), await cookie_of(mentor)
    mentor_token = await token_of(mentor)
    student_peer = await Peer.open(server.ws_url, student_cookie)
    mentor_peer = None
    try:
        await student_peer.wait_type("hello")

        private_redis.kill()

        # A send needs only PostgreSQL.
        client_id = await student_peer.send_message(conversation, "during the outage")
        ack = await student_peer.wait_for(
            lambda f: f.get("client_id") == client_id and f["type"] in ("ack", "error")
        )
        assert ack["type"] == "ack", ack
        assert await orm(stored)(client_id)
        # ...and the socket is told live delivery is degraded.
        degraded = await student_peer.wait_type("degraded", live=False)
        assert degraded["reason"]

        # Presence is unknown rather than an error.
        answer = await http(
            "GET", f"{server.http_url}/api/presence/?user_ids={student.pk}", token=mentor_token
        )
        assert answer.status == 200, answer.body
        assert answer.json()["users"][0]["status"] == "unknown"

        # A REST send commits too.
        rest_client_id = str(uuid.uuid4())
        answer = await http(
            "POST",
            f"{server.http_url}/api/conversations/{conversation}/messages/",
            token=mentor_token,
            data={"client_id": rest_client_id, "content": "REST during the outage"},
        )
        assert answer.status == 201, answer.body
        assert await orm(stored)(rest_client_id)

        # A new socket connects, is told, and can send.
        mentor_peer = await Peer.open(server.ws_url, mentor_cookie)
        await mentor_peer.wait_type("hello")
        await mentor_peer.wait_type("degraded", live=False)
        client_id = await mentor_peer.send_message(conversation, "new socket, outage")
        await mentor_peer.wait_type("ack", client_id=client_id)

        private_redis.start()

        # Both sockets hear of the recovery...
        await student_peer.wait_type("degraded", live=True, timeout=60)
        await mentor_peer.wait_type("degraded", live=True, timeout=60)
        # ...and live delivery works again, across the two sockets.
        client_id = await mentor_peer.send_message(conversation, "after recovery")
        new = await student_peer.wait_for(
            lambda f: f["type"] == "message.new" and f["message"]["client_id"] == client_id
        )
        assert new["message"]["content"] == "after recovery"
    finally:
        await student_peer.close()
        if mentor_peer is not None:
            await mentor_peer.close()


async def test_presence_recovers_after_redis_comes_back(
    asgi_server, private_redis, direct, assigned, cookie_of, token_of
):
    mentor, student = assigned
    server = asgi_server(extra_env=on_private_redis(private_redis))
    mentor_token = await token_of(mentor)
    peer = await Peer.open(server.ws_url, await cookie_of(student))
    url = f"{server.http_url}/api/presence/?user_ids={student.pk}"
    try:
        await peer.wait_type("hello")
        private_redis.kill()
        await peer.wait_type("degraded", live=False)
        private_redis.start()  # empty: every presence entry was lost
        await peer.wait_type("degraded", live=True, timeout=60)
        # The heartbeat writes the live socket's entry again.
        for _ in range(100):
            answer = await http("GET", url, token=mentor_token)
            if answer.status == 200 and answer.json()["users"][0]["status"] == "online":
                break
            await asyncio.sleep(0.2)
        assert answer.json()["users"][0]["status"] == "online"
    finally:
        await peer.close()


# The restart case's send budget: small enough that going over it takes a
# few sends, slow enough to refill that none of them earns a token back.
BURST = 8
RATE = 0.05


async def sending(client: ProtocolClient, conversation: str, label: str, count: int) -> list:
    """``count`` sends, each after the last one's answer: the replies."""
    replies = []
    for number in range(count):
        client_id = await client.send(conversation, f"{label} {number}")
        replies.append(
            await client.wait_for(
                lambda f, c=client_id: f.get("client_id") == c and f["type"] in ("ack", "error"),
                60,
            )
        )
    return replies


def delivered_once_in_order(client: ProtocolClient, conversation: str, stored, own) -> None:
    """Every stored message reached ``client``: one ``message.new`` or one
    ``history`` entry (its own sends: at most one besides the ack), in
    strictly increasing seq. ``held`` is keyed by id and would hide a
    duplicate, so deliveries are counted frame by frame."""
    counts: Counter = Counter()
    seqs = []
    for message in client.delivered():
        counts[message["id"]] += 1
        seqs.append(message["seq"])
    acked = {m["id"] for m in client.acked.values()}
    for message_id, seq in stored:
        if message_id in own:
            assert message_id in acked and counts[message_id] <= 1, (client.name, seq)
        else:
            assert counts[message_id] == 1, (client.name, seq, counts[message_id])
    assert seqs == sorted(set(seqs)), (client.name, seqs)
    assert set(counts) <= {message_id for message_id, _ in stored}


async def test_redis_restarted_empty_during_traffic_loses_nothing_and_recovers(
    asgi_server, private_redis, direct, assigned, cookie_of
):
    """Both members send throughout while Redis is killed and started again
    on the same port, empty. Every acknowledged message is stored once;
    both clients are told of the outage and of the recovery, resume from
    their cursors and end up with every stored message once, in order;
    presence and the shared send budget (a key in the new Redis) work again
    without restarting Parley."""
    mentor, student = assigned
    env = {
        **on_private_redis(private_redis),
        "PARLEY_SEND_RATE_PER_SECOND": str(RATE),
        "PARLEY_SEND_BURST": str(BURST),
    }
    server = asgi_server(extra_env=env)
    conversation = str(direct.pk)
    people = {"student": student, "mentor": mentor}
    clients = {
        name: ProtocolClient(name, await cookie_of(person), [server.ws_url])
        for name, person in people.items()
    }
    replies = []
    try:
        for client in clients.values():
            await client.connect()
            await client.wait_resumed()
        both = list(clients.values())

        # Before, and while Redis dies under the traffic.
        traffic = [asyncio.create_task(sending(c, conversation, "before", 3)) for c in both]
        await both[0].wait_for(lambda f: f["type"] == "ack", 60)
        private_redis.kill()
        for task in traffic:
            replies += await task
        for client in both:
            await client.wait_for(lambda f: f["type"] == "degraded" and not f["live"], 60)
        # During.
        for client in both:
            replies += await sending(client, conversation, "during", 2)

        private_redis.start()  # the same port, nothing in it
        for client in both:
            await client.wait_for(lambda f: f["type"] == "degraded" and f["live"], 60)
            await client.resume()
            await client.wait_resumed(60)

        # After: live again, both ways; the rest of the student's budget
        # (the restarted Redis holds a full bucket: BURST) is spent...
        after = await sending(clients["student"], conversation, "after", BURST)
        assert [r["type"] for r in after] == ["ack"] * BURST, after
        replies += after
        replies += await sending(clients["mentor"], conversation, "after", 1)
        # ...and one more is refused: the budget is kept in Redis again.
        refused = await sending(clients["student"], conversation, "over the budget", 1)
        assert refused[0]["type"] == "error" and refused[0]["code"] == "rate_limited", refused
        budget = redis.Redis(port=private_redis.port, socket_timeout=5)
        try:
            key = f"{env['CHANNEL_LAYER_PREFIX']}:rate:send:{student.pk}"
            assert budget.exists(key), sorted(budget.keys("*"))
        finally:
            budget.close()

        stored = await orm(
            lambda: list(
                Message.objects.filter(conversation=direct)
                .order_by("seq")
                .values_list("pk", "seq", "client_id")
            )
        )()
        acked = {r["client_id"] for r in replies if r["type"] == "ack"}
        # Before 3 and during 2, from each; after: the student's BURST, one more.
        assert [r["type"] for r in replies] == ["ack"] * (2 * 3 + 2 * 2 + BURST + 1)
        # Nothing acknowledged is lost, and each is stored once.
        assert acked == {str(client_id) for _, _, client_id in stored if client_id}
        assert len(stored) == len(acked)
        for name, client in clients.items():
            last = max(seq for _, seq, _ in stored)
            await client.wait_for(
                lambda f, s=last: f["type"] == "message.new" and f["message"]["seq"] == s, 60
            )
            own = {m["id"] for m in client.acked.values()}
            delivered_once_in_order(
                client, conversation, [(str(pk), seq) for pk, seq, _ in stored], own
            )

        # Presence is kept in the new Redis.
        await clients["mentor"].command(
            {"type": "presence.query", "ref": "after", "user_ids": [str(student.pk)]}
        )
        answer = await clients["mentor"].wait_for(lambda f: f.get("ref") == "after", 60)
        assert answer["users"][0]["status"] == "online", answer
    finally:
        for client in clients.values():
            await client.close()
