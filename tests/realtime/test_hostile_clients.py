"""A raw WebSocket client against a real server process, as an attacker
with only docs/protocol.md would try it: deeply nested JSON, a lone
surrogate in a message, a flood of typing frames, and asking for the
presence of strangers. Each gets the documented answer and the socket stays
open and usable."""

import asyncio
import contextlib
import json
import uuid

import pytest
import requests
from asgiref.sync import sync_to_async
from websockets.exceptions import ConnectionClosed

from accounts import services as account_services
from accounts.models import Role
from messaging import limits
from messaging.models import Message
from tests.realtime.clients import RawSocket
from tests.realtime.conftest import session_cookie

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

orm = sync_to_async


async def open_raw(server, user) -> RawSocket:
    return await RawSocket.open(server.ws_url, await orm(session_cookie)(user))


async def test_deeply_nested_frame_is_bad_json_and_the_socket_stays(asgi_server, student):
    server = asgi_server()
    socket = await open_raw(server, student)
    try:
        await socket.send_text("[" * 60_000)  # under the 64 KiB frame limit
        error = await socket.recv_until(lambda f: f["type"] == "error")
        assert error["code"] == "bad_json", error
        # Nested objects too, closed or not.
        await socket.send_text('{"a":' * 10_000 + "1" + "}" * 10_000)
        error = await socket.recv_until(lambda f: f["type"] == "error")
        assert error["code"] == "bad_json", error
        assert (await socket.request({"type": "ping"}))["type"] == "pong"
    finally:
        await socket.close()


async def test_lone_surrogate_in_a_message_is_invalid_and_nothing_is_stored(
    asgi_server, direct, assigned
):
    _, student = assigned
    server = asgi_server()
    socket = await open_raw(server, student)
    try:
        # The frame is valid UTF-8; its JSON escapes half a surrogate pair.
        frame = {
            "type": "message.send",
            "ref": "s1",
            "conversation_id": str(direct.pk),
            "client_id": str(uuid.uuid4()),
            "content": "half \ud800 a pair",
        }
        text = json.dumps(frame)  # ASCII: the surrogate travels as the escape \ud800
        assert "\\ud800" in text
        await socket.send_text(text)
        error = await socket.recv_until(lambda f: f.get("ref") == "s1")
        assert error["type"] == "error" and error["code"] == "invalid", error
        assert "content" in error["message"] and "U+D800" in error["message"]
        assert await orm(Message.objects.count)() == 0
        ack = await socket.request(
            {
                "type": "message.send",
                "conversation_id": str(direct.pk),
                "client_id": str(uuid.uuid4()),
                "content": "a whole pair \U0001f600",
            }
        )
        assert ack["type"] == "ack" and ack["message"]["content"] == "a whole pair \U0001f600"
    finally:
        await socket.close()


FLOOD_SECONDS = 3


async def test_a_typing_flood_reaches_members_at_the_documented_rate(asgi_server, direct, assigned):
    """Alternating typing.start and typing.stop as fast as the socket takes
    them: a member receives at most one typing event per interval
    (docs/protocol.md), and the last thing they hear is that typing stopped."""
    mentor, student = assigned
    interval = limits.typing_min_interval_seconds()
    # Every frame read as fast as it comes: the typing throttle is what is
    # tried here, not the socket's frame budget (test_frame_pacing.py).
    server = asgi_server(extra_env={"PARLEY_SOCKET_FRAME_BURST": "10000000"})
    typist = await open_raw(server, mentor)
    member = await open_raw(server, student)
    cid = str(direct.pk)

    def typing_events() -> list[dict]:
        return [
            f for f in member.frames if f["type"] == "typing" and f["user"]["id"] == str(mentor.pk)
        ]

    async def read_member() -> None:
        with contextlib.suppress(Exception):
            while True:
                await member.recv(timeout=60)

    async def drain_typist() -> None:
        with contextlib.suppress(Exception):
            while True:
                await typist.recv(timeout=60)

    loop = asyncio.get_running_loop()
    readers = [asyncio.create_task(read_member()), asyncio.create_task(drain_typist())]
    try:
        started = loop.time()
        sent = 0
        while loop.time() - started < FLOOD_SECONDS:
            await typist.send({"type": "typing.start", "conversation_id": cid})
            await typist.send({"type": "typing.stop", "conversation_id": cid})
            sent += 2
        # Frames of one socket are handled in order: the pong says the
        # server has handled the whole flood. Until then, and for an interval
        # after (the last stop may be held that long), the member has had at
        # most one event per interval so far, at every moment.
        readers[1].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await readers[1]
        pong = asyncio.create_task(typist.request({"type": "ping"}, timeout=120))
        readers.append(pong)
        settled = None
        while settled is None or loop.time() < settled + interval + 0.5:
            events = typing_events()
            bound = (loop.time() - started) / interval + 1
            assert len(events) <= bound, (len(events), bound)
            if settled is None and pong.done():
                assert (await pong)["type"] == "pong", "the typist's socket still answers"
                settled = loop.time()
            await asyncio.sleep(0.05)
        # The flood ended on a stop, and that is the last thing the member heard.
        for _ in range(200):  # a bounded wait for a stop held back by the throttle
            if typing_events()[-1]["is_typing"] is False:
                break
            await asyncio.sleep(0.05)
        events = typing_events()
        elapsed = loop.time() - started
        assert sent > 100, "the flood must have been a flood"
        assert len(events) <= elapsed / interval + 1, (len(events), elapsed)
        assert events[-1]["is_typing"] is False, events[-3:]
    finally:
        for task in readers:
            task.cancel()
        await typist.close()
        await member.close()


async def test_presence_of_strangers_is_left_out_by_socket_and_api_alike(
    asgi_server, direct, assigned, make_user
):
    """One rule for both: the stranger is online, and neither the socket's
    presence.query nor GET /api/presence/ says so."""
    mentor, student = assigned
    stranger = await orm(make_user)(Role.STUDENT)
    server = asgi_server()
    stranger_socket = await open_raw(server, stranger)
    socket = await open_raw(server, student)
    try:
        asked = [str(mentor.pk), str(stranger.pk), str(student.pk)]
        reply = await socket.request({"type": "presence.query", "user_ids": asked})
        assert reply["type"] == "presence.state", reply
        by_socket = {u["user_id"] for u in reply["users"]}
        assert by_socket == {str(mentor.pk), str(student.pk)}

        token = await orm(account_services.issue_api_token)(user=student)
        response = await asyncio.to_thread(
            requests.get,
            f"{server.http_url}/api/presence/",
            params={"user_ids": ",".join(asked)},
            headers={"Authorization": f"Token {token}"},
            timeout=10,
        )
        assert response.status_code == 200, response.text
        assert {u["user_id"] for u in response.json()["users"]} == by_socket

        alone = await socket.request({"type": "presence.query", "user_ids": [str(stranger.pk)]})
        assert alone["users"] == []
    finally:
        await socket.close()
        await stranger_socket.close()


async def test_an_oversized_frame_gets_its_documented_answer(asgi_server, student):
    """Defect 3: a 2 MiB frame reset the TCP connection (daphne dropped it)
    where docs/protocol.md promises close 1009; a frame over Parley's own
    limit but under the server's gets frame_too_large and the socket lives."""
    server = asgi_server()
    socket = await open_raw(server, student)
    try:
        await socket.send_text(json.dumps({"type": "ping", "pad": "x" * (100 * 1024)}))
        error = await socket.recv_until(lambda f: f["type"] == "error")
        assert error["code"] == "frame_too_large", error
        assert (await socket.request({"type": "ping"}))["type"] == "pong"

        await socket.send_text("x" * (2 * 1024 * 1024))
        with pytest.raises(ConnectionClosed):
            while True:
                await socket.recv(timeout=30)
        assert socket.socket.close_code == 1009, (
            f"expected close 1009, got {socket.socket.close_code}"
        )
    finally:
        await socket.close()
