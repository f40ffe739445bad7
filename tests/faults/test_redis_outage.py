"""Redis down: PostgreSQL is the record, so sends still commit and ack;
presence answers ``unknown``; new sockets still connect; every socket is
told that live delivery is degraded, and told again when it recovers.

A private ``redis-server`` serves one real server process and is killed
mid-test, then started again on the same port (empty, as after a crash)."""

import asyncio
import uuid

import pytest

from messaging.models import Message
from tests.faults.conftest import http, orm
from tests.faults.peer import Peer
from tests.faults.redis_server import PrivateRedis

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
