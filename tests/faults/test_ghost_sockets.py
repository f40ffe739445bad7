"""A consumer that dies without running ``disconnect()`` must not leave a
presence entry behind: it neither keeps its user online nor counts against
``PARLEY_MAX_SOCKETS_PER_USER``."""

import asyncio

import pytest

from messaging.realtime import maintenance, presence
from messaging.realtime.backends import presence_store
from tests.faults.conftest import http
from tests.faults.crashing_asgi import CRASH
from tests.faults.peer import Peer

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

SERVER_ENV = {
    "PARLEY_MAX_SOCKETS_PER_USER": "3",
    "PARLEY_PRESENCE_TTL_SECONDS": "3",
    "PARLEY_PRESENCE_HEARTBEAT_SECONDS": "1",
}


async def presence_seen_by(server, token: str, user) -> str:
    answer = await http("GET", f"{server.http_url}/api/presence/?user_ids={user.pk}", token=token)
    assert answer.status == 200, answer.body
    return answer.json()["users"][0]["status"]


async def test_crashed_consumers_neither_hold_the_cap_nor_stay_online(
    asgi_server, direct, assigned, cookie_of, token_of
):
    mentor, student = assigned
    server = asgi_server(extra_env=SERVER_ENV, application="tests.faults.crashing_asgi:application")
    cookie, mentor_token = await cookie_of(student), await token_of(mentor)

    # More crashes than the cap allows sockets: each one a consumer that
    # died with its socket, disconnect() never run.
    for _ in range(4):
        peer = await Peer.open(server.ws_url, cookie)
        await peer.wait_type("hello")
        await peer.socket.send(CRASH)
        await peer.wait_closed()

    survivor = await Peer.open(server.ws_url, cookie)
    try:
        hello = await survivor.wait_for(lambda f: f["type"] in ("hello", "error"))
        assert hello["type"] == "hello", hello
        assert await presence_seen_by(server, mentor_token, student) == "online"
    finally:
        await survivor.close()

    # With the last live socket gone the student is offline: no ghost keeps
    # them online (bounded wait: the close is handled asynchronously).
    for _ in range(150):
        if await presence_seen_by(server, mentor_token, student) == "offline":
            break
        await asyncio.sleep(0.2)
    assert await presence_seen_by(server, mentor_token, student) == "offline"


async def test_a_cancelled_consumer_task_frees_its_place(open_socket, student, settings):
    settings.PARLEY = {**settings.PARLEY, "MAX_SOCKETS_PER_USER": 1}
    doomed = await open_socket(student)
    doomed.communicator.future.cancel()  # the task dies; disconnect() never runs
    with pytest.raises(asyncio.CancelledError):
        await doomed.communicator.future
    assert (await presence_store().statuses([student.pk]))[str(student.pk)] == "offline"

    second = await open_socket(student)
    assert second.hello["type"] == "hello"
    await second.close()


async def test_the_heartbeat_drops_sockets_whose_task_died(student, fake_clock, settings):
    """The last line of defence: a socket whose task ended without any
    cleanup (not even a ``finally``) is dropped at the next heartbeat rather
    than refreshed, and its entry does not outlive the TTL."""

    async def abandoned_socket():
        await presence.connect(student.pk, "ghost.channel")

    await asyncio.create_task(abandoned_socket())
    assert (await presence_store().statuses([student.pk]))[str(student.pk)] == "online"

    for _ in range(3):
        fake_clock.advance(settings.PARLEY["PRESENCE_TTL_SECONDS"] / 2)
        await maintenance.heartbeat()
        await maintenance.sweep()
    assert "ghost.channel" not in presence.local_sockets()
    assert (await presence_store().statuses([student.pk]))[str(student.pk)] == "offline"
