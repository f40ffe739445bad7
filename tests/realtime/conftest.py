"""Socket test helpers: real sessions, the real ASGI application (origin
check and session auth included), real PostgreSQL and Redis."""

import contextlib
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from config.asgi import application

# A browser's handshake to http://127.0.0.1: its Host and its page's Origin
# (the origin check compares the two, scheme and port included).
HOST = b"127.0.0.1"
ORIGIN = b"http://127.0.0.1"

# docs/protocol.md orders neither way a sender's ``ack`` and the sender's own
# ``message.new`` for the same message: waiting for one holds the other back
# for a later ``recv_type`` instead of failing the test.
UNORDERED_WITH = {"ack": ("message.new",), "message.new": ("ack",)}

# The bell's frames come to a person's own group whenever a message notifies
# them; tests of other frames skip them (tests/notifications test them).
NOTIFICATIONS = ("notification.new", "notification.read")


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


class Socket:
    """A WebsocketCommunicator that speaks JSON frames."""

    def __init__(self, communicator: WebsocketCommunicator, session_key: str):
        self.communicator = communicator
        self.session_key = session_key
        self.held: list[dict] = []  # frames received out of a promised-free order

    async def send(self, frame: dict) -> None:
        await self.communicator.send_json_to(frame)

    async def send_text(self, text: str) -> None:
        await self.communicator.send_to(text_data=text)

    async def recv(self, timeout: float = 3) -> dict:
        return await self.communicator.receive_json_from(timeout=timeout)

    async def recv_type(self, frame_type: str, timeout: float = 3, *, also_skip=()) -> dict:
        """The next frame of ``frame_type``, skipping presence chatter and
        the types in ``also_skip``; a frame the protocol may send before it
        (``UNORDERED_WITH``) is held for later; any other frame fails the test."""
        for index, frame in enumerate(self.held):
            if frame["type"] == frame_type:
                return self.held.pop(index)
        while True:
            frame = await self.recv(timeout)
            if frame["type"] == frame_type:
                return frame
            if frame["type"] in UNORDERED_WITH.get(frame_type, ()):
                self.held.append(frame)
            elif frame["type"] not in ("presence", "receipt", *NOTIFICATIONS, *also_skip):
                raise AssertionError(f"expected {frame_type}, got {frame}")

    async def nothing(self, timeout: float = 0.3, *, ignore=("presence", *NOTIFICATIONS)) -> bool:
        """True when no frame (other than ``ignore`` types) arrives in ``timeout``
        and none is held back unread."""
        unread = [frame for frame in self.held if frame["type"] not in ignore]
        if unread:
            raise AssertionError(f"expected nothing, still holding {unread}")
        while True:
            if await self.communicator.receive_nothing(timeout=timeout):
                return True
            frame = await self.recv()
            if frame["type"] not in ignore:
                raise AssertionError(f"expected nothing, got {frame}")

    async def request(self, frame: dict, timeout: float = 3) -> dict:
        """Send a command with a fresh ref and return the reply carrying it."""
        ref = frame.setdefault("ref", uuid.uuid4().hex[:12])
        await self.send(frame)
        while True:
            reply = await self.recv(timeout)
            if reply.get("ref") == ref:
                return reply

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.communicator.disconnect()


@pytest.fixture
def open_socket():
    """``await open_socket(user)`` → a connected Socket whose hello was read."""
    sockets = []

    async def open_(user=None, *, origin=ORIGIN, cookie=None, expect_hello=True):
        headers = [(b"host", HOST)]
        if origin:
            headers.append((b"origin", origin))
        key = cookie or (await sync_to_async(session_cookie)(user) if user else "")
        if key:
            headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={key}".encode()))
        communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
        connected, _ = await communicator.connect(timeout=5)
        socket = Socket(communicator, key)
        socket.connected = connected
        sockets.append(socket)
        if connected and expect_hello:
            socket.hello = await socket.recv_type("hello")
        return socket

    yield open_
    # Sockets are closed by each test (the event loop ends with it).


@pytest.fixture(autouse=True)
def _fresh_presence():
    """Presence lives in Redis, outside the test database: start each test
    without the sockets of earlier tests' (now deleted) users."""
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(f"{settings.REDIS_KEY_PREFIX}:presence:*"))
    keys += list(client.scan_iter(f"{settings.REDIS_KEY_PREFIX}:rate:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def fake_clock():
    """Time in ``messaging.realtime`` (rate limits, typing throttle, presence
    expiry) stands still until the test calls ``fake_clock.advance(seconds)``."""
    from messaging.realtime import clock

    with clock.replaced(clock.FakeClock()) as fake:
        yield fake
