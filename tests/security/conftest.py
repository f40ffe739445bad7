"""Helpers for the security tests: clients as an outsider would hold them."""

import asyncio
import json

import pytest
from django.conf import settings
from django.test import Client
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus


def session_of(user) -> Client:
    """A test client signed in as ``user`` through a session of its own."""
    client = Client()
    client.force_login(user)
    return client


def session_key(client: Client) -> str:
    return client.cookies[settings.SESSION_COOKIE_NAME].value


async def open_real_socket(server, *, origin: str | None, cookie: str | None = None):
    """A WebSocket to a real server process with exactly this ``Origin``
    (``None``: no Origin header at all)."""
    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"} if cookie else None
    return await connect(server.ws_url, origin=origin, additional_headers=headers, open_timeout=10)


async def handshake_status(server, *, origin: str | None) -> int:
    """The HTTP status of the WebSocket handshake: 101 when it was accepted."""
    try:
        socket = await open_real_socket(server, origin=origin)
    except InvalidStatus as refused:
        return refused.response.status_code
    await socket.close()
    return 101


async def close_code(socket, timeout: float = 10) -> int:
    """Read frames until the server closes ``socket``; its close code."""

    async def drain():
        try:
            while True:
                await socket.recv()
        except ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else None

    return await asyncio.wait_for(drain(), timeout)


async def recv_json(socket, timeout: float = 10) -> dict:
    return json.loads(await asyncio.wait_for(socket.recv(), timeout))


@pytest.fixture
def real_server(asgi_server):
    """One real daphne process serving Parley on 127.0.0.1:<random port>."""
    return asgi_server()
