"""Every socket's frame budget (docs/protocol.md, Limits): past
``SOCKET_FRAME_BURST`` frames, a socket's next frame waits its turn, one
each ``1 / SOCKET_FRAMES_PER_SECOND`` seconds, answered then, never
refused; on a real server, the server reads nothing more from the socket
meanwhile, so a flooding client is held back by TCP and another person's
socket is answered as usual."""

import asyncio
import json
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from accounts.models import Role
from messaging import services
from tests.realtime.clients import RawSocket
from tests.realtime.conftest import session_cookie

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
orm = sync_to_async


async def test_frames_past_the_budget_wait_their_turn(
    open_socket, student, monkeypatch, fake_clock
):
    monkeypatch.setitem(settings.PARLEY, "SOCKET_FRAME_BURST", 5)
    monkeypatch.setitem(settings.PARLEY, "SOCKET_FRAMES_PER_SECOND", 2)
    socket = await open_socket(student)
    for n in range(8):
        await socket.send({"type": "ping", "ref": f"p{n}"})
    # The burst is answered at once; the sixth waits for time to pass.
    for n in range(5):
        assert (await socket.recv_type("pong"))["ref"] == f"p{n}"
    assert await socket.nothing(ignore=("presence",))
    fake_clock.advance(0.5)  # one frame's worth at 2 a second
    assert (await socket.recv_type("pong"))["ref"] == "p5"
    assert await socket.nothing(ignore=("presence",))
    fake_clock.advance(1.0)
    assert [(await socket.recv_type("pong"))["ref"] for _ in range(2)] == ["p6", "p7"]
    await socket.close()


async def test_a_resume_is_paced_by_its_cursors(
    open_socket, student, make_user, monkeypatch, fake_clock
):
    """Each cursor is a history page read: every ten beyond the first cost
    one frame more, so one frame of 500 cursors is not 500 reads for one;
    a refused cursor (no such conversation: looked up and audited) costs a
    frame of its own, as a history.fetch of it would."""
    monkeypatch.setitem(settings.PARLEY, "SOCKET_FRAME_BURST", 30)
    monkeypatch.setitem(settings.PARLEY, "SOCKET_FRAMES_PER_SECOND", 1)
    admin = await orm(make_user)(Role.ADMIN)
    own = [
        await orm(services.create_conversation)(
            creator=admin, kind="group", participants=[student], title=f"G{n}"
        )
        for n in range(21)
    ]
    socket = await open_socket(student)
    cursors = {str(c.pk): 0 for c in own}  # 1 frame + 2 more
    await socket.send({"type": "resume", "ref": "r1", "cursors": cursors})
    await done_with(socket)  # 3 of the 30
    strangers = {str(uuid.uuid4()): 0 for _ in range(21)}  # 1 + 2 + 21 refused
    await socket.send({"type": "resume", "ref": "r2", "cursors": strangers})
    await done_with(socket)  # 27 of the 30
    await socket.send({"type": "resume", "ref": "r3", "cursors": strangers})
    # Its own frame and the two for its cursors are the 28th to 30th; its
    # 21 refusals need 21 more.
    assert await socket.nothing(ignore=("presence", "error"))
    fake_clock.advance(20)
    assert await socket.nothing(ignore=("presence", "error"))
    fake_clock.advance(1)
    assert (await done_with(socket))["ref"] == "r3"
    await socket.close()


async def done_with(socket) -> dict:
    """The resume.done, past each page and each unknown conversation's not_found."""
    while True:
        frame = await socket.recv()
        if frame["type"] == "resume.done":
            return frame
        assert frame["type"] in ("error", "presence", "history"), frame


# Frames big enough that what the server leaves unread fills the kernels'
# buffers within a few hundred of them.
PADDED_PING = json.dumps({"type": "ping", "ref": "flood", "pad": "x" * 60_000})
FLOOD_FRAMES = 400


async def test_a_flooding_socket_is_held_back_and_others_are_answered(asgi_server, student, mentor):
    server = asgi_server(
        extra_env={"PARLEY_SOCKET_FRAME_BURST": "10", "PARLEY_SOCKET_FRAMES_PER_SECOND": "5"}
    )
    flooder = await RawSocket.open(server.ws_url, await orm(session_cookie)(student))
    other = await RawSocket.open(server.ws_url, await orm(session_cookie)(mentor))
    try:
        transport = flooder.socket.transport

        async def flood():
            for _ in range(FLOOD_FRAMES):
                await flooder.send_text(PADDED_PING)

        flooding = asyncio.create_task(flood())
        # The server stopped reading: the flooder cannot get its frames out.
        # (websockets' send waits while its transport's buffer is full.)
        for _ in range(600):
            if transport.get_write_buffer_size() > 0 or flooding.done():
                break
            await asyncio.sleep(0.05)
        assert not flooding.done(), "every frame went out: nothing held the flooder back"
        assert transport.get_write_buffer_size() > 0
        # Meanwhile another person's socket is answered.
        for n in range(3):
            assert (await other.request({"type": "ping", "ref": f"o{n}"}))["type"] == "pong"
        flooding.cancel()
    finally:
        await flooder.close()
        await other.close()
