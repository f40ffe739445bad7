"""Every ASGI server Parley runs on (``python -m config.server --server
NAME``: daphne, uvicorn, granian) keeps what docs/protocol.md and
docs/operations.md ("ASGI server") promise, whichever one the rest of the
suite runs on: a message over 1 MiB is closed with 1009, compression is not
negotiated, forwarded headers are left to Parley (``PARLEY_TRUSTED_PROXIES``,
0 here), and SIGTERM closes the open sockets with 1012 and ends the
process."""

import asyncio
import contextlib
import http.cookiejar
import json
import re
import signal
import urllib.parse
import urllib.request

import pytest
from asgiref.sync import sync_to_async
from axes.models import AccessAttempt
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from config.server import SERVER_MAX_MESSAGE_BYTES
from tests.realtime.clients import RawSocket
from tests.realtime.conftest import session_cookie
from tests.servers import ASGI_SERVERS

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

on_each_server = pytest.mark.parametrize("server_name", ASGI_SERVERS)
orm = sync_to_async


async def open_raw(server, user) -> RawSocket:
    return await RawSocket.open(server.ws_url, await orm(session_cookie)(user))


async def close_frame_code(socket: RawSocket) -> int | None:
    """Read until the server closes; the code of its close frame (None when
    the connection ended without one)."""
    try:
        while True:
            await socket.recv(timeout=30)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


@on_each_server
async def test_a_message_over_one_mebibyte_is_closed_with_1009(asgi_server, student, server_name):
    server = asgi_server(asgi_server=server_name)
    socket = await open_raw(server, student)
    try:
        # Over Parley's own limit, under the server's: answered, and the socket stays.
        await socket.send_text(json.dumps({"type": "ping", "pad": "x" * (100 * 1024)}))
        error = await socket.recv_until(lambda f: f["type"] == "error")
        assert error["code"] == "frame_too_large", error
        assert (await socket.request({"type": "ping"}))["type"] == "pong"
        # Exactly at the server's limit is still Parley's to answer.
        await socket.send_text("x" * SERVER_MAX_MESSAGE_BYTES)
        error = await socket.recv_until(lambda f: f["type"] == "error")
        assert error["code"] == "frame_too_large", error

        await socket.send_text("é" * (SERVER_MAX_MESSAGE_BYTES // 2 + 1))  # 2 bytes each
        assert await close_frame_code(socket) == 1009
    finally:
        await socket.close()


# Refused messages of this size are still arriving when the server answers.
STILL_SENDING_BYTES = 8 * SERVER_MAX_MESSAGE_BYTES
REFUSALS = 3


@on_each_server
async def test_a_refused_message_is_answered_with_1009_while_the_client_still_sends_it(
    asgi_server, student, server_name
):
    """The server refuses a message by its header, long before the client
    has sent the rest. Closing the TCP connection then would make the kernel
    reset it over the unread data, and the client may see the reset before
    the close frame: the server half-closes and reads to the end instead
    (``config.uvicorn_websockets``)."""
    server = asgi_server(asgi_server=server_name)
    codes = []
    for _ in range(REFUSALS):
        socket = await open_raw(server, student)
        try:
            # Not reading while it sends, as a client busy sending may not:
            # the close frame waits in the kernel until the message is out.
            socket.socket.transport.pause_reading()
            with contextlib.suppress(ConnectionClosed):
                await socket.send_text("x" * STILL_SENDING_BYTES)
            socket.socket.transport.resume_reading()
            codes.append(await close_frame_code(socket))
        finally:
            await socket.close()
    assert codes == [1009] * REFUSALS
    # The process serves on.
    socket = await open_raw(server, student)
    try:
        assert (await socket.request({"type": "ping"}))["type"] == "pong"
    finally:
        await socket.close()


# A client on a slow link: the rest of the refused message comes after this
# pause, longer than a server that gave up waiting for the client's close
# (autobahn's default close-handshake timeout is one second) would wait.
SLOW_LINK_PAUSE_SECONDS = 2.5


@on_each_server
async def test_a_refused_message_on_a_slow_link_is_still_answered_with_1009(
    asgi_server, student, server_name
):
    """The client is still sending the refused message seconds after the
    server answered it. A server that stops waiting for the client's close
    and drops the connection makes the client's next write fail, and it
    never reads the close frame already waiting for it."""
    server = asgi_server(asgi_server=server_name)
    socket = await open_raw(server, student)
    try:
        # The message framed by the client's own protocol, written in two
        # halves by hand so that the pause falls inside it.
        transport = socket.socket.transport
        transport.pause_reading()
        socket.socket.protocol.send_text(("x" * STILL_SENDING_BYTES).encode())
        wire = b"".join(socket.socket.protocol.data_to_send())
        half = len(wire) // 2
        transport.write(wire[:half])
        await asyncio.sleep(SLOW_LINK_PAUSE_SECONDS)
        if not transport.is_closing():
            transport.write(wire[half:])
        while transport.get_write_buffer_size() and not transport.is_closing():
            await asyncio.sleep(0.05)
        transport.resume_reading()
        assert await close_frame_code(socket) == 1009
    finally:
        await socket.close()


@on_each_server
async def test_no_compression_and_no_forwarded_header_is_believed(
    asgi_server, student, server_name
):
    server = asgi_server(asgi_server=server_name)
    forwarded = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    cookie = await orm(session_cookie)(student)

    # The client offers permessage-deflate; the server does not take it. A
    # server that believed X-Forwarded-Proto would see an https request and
    # refuse this http origin.
    socket = await connect(
        server.ws_url,
        origin=server.http_url,
        additional_headers={"Cookie": f"sessionid={cookie}", **forwarded},
        compression="deflate",
        open_timeout=10,
    )
    try:
        assert socket.response.headers.get("Sec-WebSocket-Extensions") is None
        assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "hello"
    finally:
        await socket.close()

    # A failed sign-in is recorded against the connection's address, not the
    # one the request claims. (The sign-in page, not the token endpoint: its
    # per-address throttle would count these against later tests.)
    await asyncio.to_thread(sign_in_with_a_wrong_password, server, student.email, forwarded)
    addresses = await orm(lambda: set(AccessAttempt.objects.values_list("ip_address", flat=True)))()
    assert addresses == {"127.0.0.1"}


def sign_in_with_a_wrong_password(server, email: str, headers: dict) -> None:
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    with browser.open(f"{server.http_url}/login/", timeout=30) as page:
        html = page.read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    form = {"csrfmiddlewaretoken": csrf, "username": email, "password": "wrong"}
    request = urllib.request.Request(
        f"{server.http_url}/login/",
        data=urllib.parse.urlencode(form).encode(),
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Referer": server.http_url,
            **headers,
        },
        method="POST",
    )
    with browser.open(request, timeout=30) as answer:
        assert answer.status == 200  # the form again, with its error


@on_each_server
async def test_sigterm_closes_the_sockets_with_1012_and_ends_the_process(
    asgi_server, student, server_name
):
    server = asgi_server(asgi_server=server_name)
    socket = await open_raw(server, student)
    try:
        server.process.send_signal(signal.SIGTERM)
        assert await close_frame_code(socket) == 1012  # service restart
        # uvicorn re-raises the signal once it has shut down.
        assert await asyncio.to_thread(server.process.wait, 60) in (0, -signal.SIGTERM)
    finally:
        await socket.close()
