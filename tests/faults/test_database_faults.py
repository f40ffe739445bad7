"""PostgreSQL unreachable: a send answers fast with the retryable
``unavailable`` error (the socket stays open), the REST API answers 503
with Retry-After, a new socket is refused with close code 4503 instead of
hanging, and everything works again soon after the database is back.

A TCP proxy between one real server process and PostgreSQL plays the
faults: ``blackhole`` (connections accepted or open, never answered) and
``refuse`` (connection refused)."""

import uuid

import pytest

from messaging.models import Message
from tests.faults.conftest import http, orm
from tests.faults.database_proxy import unreachable_database_env
from tests.faults.peer import Peer
from tests.faults.proxy import BLACKHOLE, PASS, REFUSE

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

# Bounds for a loaded machine: the old behaviour hung for 45 s or more.
ANSWER_BOUND = 30


def is_reply_to(client_id: str):
    return lambda f: f.get("client_id") == client_id and f["type"] in ("ack", "error")


async def send_and_answer(peer: Peer, conversation: str, content: str, timeout=ANSWER_BOUND):
    client_id = await peer.send_message(conversation, content)
    return client_id, await peer.wait_for(is_reply_to(client_id), timeout)


@pytest.mark.parametrize("fault", [BLACKHOLE, REFUSE])
async def test_sends_fail_fast_and_retryably_then_recover(
    asgi_server, pg_proxy, direct, assigned, cookie_of, token_of, fault
):
    mentor, student = assigned
    cookie, token = await cookie_of(student), await token_of(student)
    server = asgi_server(extra_env=unreachable_database_env(pg_proxy))
    conversation = str(direct.pk)
    peer = await Peer.open(server.ws_url, cookie)
    try:
        await peer.wait_type("hello")
        _, reply = await send_and_answer(peer, conversation, "before")
        assert reply["type"] == "ack", reply

        pg_proxy.set_mode(fault)

        # The socket: a retryable error, fast, and the socket stays usable.
        client_id, reply = await send_and_answer(peer, conversation, "during")
        assert reply["type"] == "error" and reply["code"] == "unavailable", reply
        assert reply["retry_after"] > 0
        await peer.send({"type": "ping", "ref": "alive"})
        await peer.wait_type("pong", ref="alive")

        # The REST API: 503 with Retry-After, in the API's error shape.
        answer = await http(
            "POST",
            f"{server.http_url}/api/conversations/{conversation}/messages/",
            token=token,
            data={"client_id": str(uuid.uuid4()), "content": "REST during"},
            timeout=ANSWER_BOUND,
        )
        assert answer.status == 503, answer.body
        assert int(answer.headers["Retry-After"]) > 0
        assert answer.json()["error"]["code"] == "unavailable"

        # A new socket is refused with "try again later", not left hanging.
        refused = await Peer.open(server.ws_url, cookie, open_timeout=ANSWER_BOUND)
        assert await refused.wait_closed(ANSWER_BOUND) == 4503
        assert refused.frames and refused.frames[-1]["code"] == "unavailable"

        pg_proxy.set_mode(PASS)

        # Recovery: the same client_id, resent, is stored once.
        recovered = None
        for _ in range(20):
            await peer.send_message(conversation, "during", client_id=client_id)
            recovered = await peer.wait_for(is_reply_to(client_id), ANSWER_BOUND)
            if recovered["type"] == "ack":
                break
            peer.frames.remove(recovered)
        assert recovered["type"] == "ack", recovered
        assert await orm(Message.objects.filter(client_id=client_id).count)() == 1
        fresh = await Peer.open(server.ws_url, cookie)
        await fresh.wait_type("hello")
        await fresh.close()
    finally:
        await peer.close()
