"""The per-process hub (messaging.realtime.hub): one subscription per group
per process, membership that changes while events flow, revocation across
processes, and a socket that stops reading (back-pressure, close 4008).

Ordering points without timing: a socket's replies leave through the same
FIFO as its live frames, and the hub hands an event to every local socket of
its group at once. So once one socket of a process has a frame, a ``ping``
answered on any other socket of that process comes after that frame would
have (``sync`` below): what a socket did not get before its ``pong``, it
was not given.
"""

import asyncio
import base64
import contextlib
import os
import socket as tcp
import uuid

import pytest
from asgiref.sync import sync_to_async
from websockets.exceptions import ConnectionClosed

from accounts.models import Role
from messaging import events, services
from messaging.models import ConversationType
from messaging.realtime.hub import hub
from messaging.services.sockets import close_session_sockets
from tests.realtime.clients import ProtocolClient, RawSocket
from tests.realtime.conftest import session_cookie

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

orm = sync_to_async


class Recorder:
    """A socket of ``open_socket`` whose every frame is kept, in order."""

    def __init__(self, socket):
        self.socket = socket
        self.frames: list[dict] = []

    async def until(self, predicate, timeout: float = 10) -> dict:
        """Read (and keep) frames up to the first one matching ``predicate``,
        whether already read or still to come."""
        for frame in self.frames:
            if predicate(frame):
                return frame
        while True:
            frame = await self.socket.recv(timeout)
            self.frames.append(frame)
            if predicate(frame):
                return frame

    async def sync(self) -> list[dict]:
        """The frames that come before the answer to a ``ping`` sent now."""
        ref = uuid.uuid4().hex[:12]
        await self.socket.send({"type": "ping", "ref": ref})
        start = len(self.frames)
        await self.until(lambda f: f["type"] == "pong" and f.get("ref") == ref)
        return self.frames[start:-1]


def message_in(conversation, seq=None, content=None):
    cid = str(conversation.pk)

    def matches(frame):
        if frame["type"] != "message.new" or frame["message"]["conversation_id"] != cid:
            return False
        message = frame["message"]
        return (seq is None or message["seq"] == seq) and (
            content is None or message["content"] == content
        )

    return matches


def seqs_of(frames, conversation) -> list[int]:
    return [f["message"]["seq"] for f in frames if message_in(conversation)(f)]


async def send(sender, conversation, content: str):
    """Send as ``sender`` through the service (as the REST API does)."""
    result = await orm(services.send_message)(
        sender=sender, conversation_id=conversation.pk, client_id=uuid.uuid4(), content=content
    )
    return result.message


@pytest.fixture
def delivered(monkeypatch) -> list[dict]:
    """Every message the layer hands this process's hub, in order. Take it
    before any socket opens: the hub of the test's event loop starts with
    the first."""
    received: list[dict] = []
    layer_receive = events.receive

    async def counting_receive(channel):
        message = await layer_receive(channel)
        received.append(message)
        return message

    monkeypatch.setattr(events, "receive", counting_receive)
    return received


async def test_an_event_is_received_once_per_process_however_many_sockets(
    make_user, open_socket, delivered
):
    """Six sockets of one conversation in this process: the layer delivers
    the event to the hub once, and each socket gets the frame once."""
    admin = await orm(make_user)(Role.ADMIN)
    students = [await orm(make_user)(Role.STUDENT) for _ in range(4)]
    room = await orm(services.create_conversation)(
        creator=admin, kind=ConversationType.GROUP, participants=students, title="Once"
    )
    sockets = [Recorder(await open_socket(user)) for user in [admin, *students, students[0]]]
    group = events.conversation_group(room.pk)
    assert len(hub().members[group]) == 6

    message = await send(admin, room, "once")
    for socket in sockets:
        await socket.until(message_in(room, message.seq))
    for socket in sockets:
        await socket.sync()
        assert seqs_of(socket.frames, room) == [message.seq]
    assert [m for m in delivered if m["type"] == "message_new"] == [
        {
            "type": "message_new",
            "frame": events.to_json(events.message_new(message)),
            "group": group,
            "conversation": uuid.UUID(str(room.pk)).hex,
            "seq": message.seq,
        }
    ]
    for socket in sockets:
        await socket.socket.close()


async def test_a_presence_change_is_one_layer_message_for_every_contact(
    make_user, open_socket, delivered
):
    """A person who comes online in a room of five: one layer message
    reaches this process (the people group), and every contact's socket
    gets the presence frame once; someone who shares nothing gets none."""
    admin = await orm(make_user)(Role.ADMIN)
    students = [await orm(make_user)(Role.STUDENT) for _ in range(4)]
    stranger = await orm(make_user)(Role.STUDENT)
    await orm(services.create_conversation)(
        creator=admin, kind=ConversationType.GROUP, participants=students[:3], title="Room"
    )
    sockets = [Recorder(await open_socket(user)) for user in [admin, *students[:3], stranger]]
    newcomer = students[3]
    await orm(services.create_conversation)(
        creator=admin, kind=ConversationType.GROUP, participants=students, title="Room 2"
    )
    late = Recorder(await open_socket(newcomer))

    def newcomer_online(frame):
        return frame["type"] == "presence" and frame["user_id"] == str(newcomer.pk)

    for socket in sockets[:4]:
        await socket.until(newcomer_online)
    for socket in sockets:
        await socket.sync()
        assert len([f for f in socket.frames if newcomer_online(f)]) == (socket is not sockets[4])
    # The others' own announcements may still be on their way: count the
    # newcomer's only.
    presence = [m for m in delivered if m["type"] == "presence" and str(newcomer.pk) in m["frame"]]
    assert len(presence) == 1 and presence[0]["group"] == events.PEOPLE_GROUP
    for socket in [*sockets, late]:
        await socket.socket.close()


async def test_a_socket_joins_and_leaves_while_events_flow(make_user, open_socket):
    """While another conversation's messages keep coming, a member is
    removed and added back: they get every message while in, nothing of the
    conversation between its ``conversation.removed`` and its
    ``conversation.added``, and the other conversation throughout."""
    admin = await orm(make_user)(Role.ADMIN)
    student, other = await orm(make_user)(Role.STUDENT), await orm(make_user)(Role.STUDENT)
    room = await orm(services.create_conversation)(
        creator=admin, kind=ConversationType.GROUP, participants=[student, other], title="Room"
    )
    side = await orm(services.create_conversation)(
        creator=admin, kind=ConversationType.GROUP, participants=[student], title="Side"
    )
    watcher = Recorder(await open_socket(admin))
    member = Recorder(await open_socket(student))
    flowing = asyncio.Event()
    stop = asyncio.Event()
    side_sent: list[int] = []

    async def flow():
        while not stop.is_set():
            side_sent.append((await send(admin, side, f"side {len(side_sent)}")).seq)
            flowing.set()

    flow_task = asyncio.create_task(flow())
    try:
        await flowing.wait()
        before = [await send(admin, room, f"in {n}") for n in range(3)]
        for message in before:
            await member.until(message_in(room, message.seq))

        await orm(services.remove_participant)(actor=admin, conversation_id=room.pk, user=student)
        await member.until(lambda f: f["type"] == "conversation.removed")
        removed_at = len(member.frames)
        outside = [await send(admin, room, f"out {n}") for n in range(3)]
        await watcher.until(message_in(room, outside[-1].seq))
        assert not seqs_of(await member.sync(), room)

        await orm(services.add_participants)(actor=admin, conversation_id=room.pk, users=[student])
        await member.until(lambda f: f["type"] == "conversation.added")
        added_at = len(member.frames)
        after = [await send(admin, room, f"back {n}") for n in range(3)]
        for message in after:
            await member.until(message_in(room, message.seq))
    finally:
        stop.set()
        await flow_task

    assert not seqs_of(member.frames[removed_at:added_at], room)
    assert not {m.seq for m in outside} & set(seqs_of(member.frames, room))
    await member.until(message_in(side, side_sent[-1]))
    assert sorted(seqs_of(member.frames, side)) == side_sent
    await member.socket.close()
    await watcher.socket.close()


async def test_a_removed_member_receives_nothing_after_the_removal(make_user, open_socket):
    """Both tabs of a removed member hear ``conversation.removed`` and then
    nothing more of the conversation; their other conversations go on."""
    admin = await orm(make_user)(Role.ADMIN)
    student, other = await orm(make_user)(Role.STUDENT), await orm(make_user)(Role.STUDENT)
    room = await orm(services.create_conversation)(
        creator=admin, kind=ConversationType.GROUP, participants=[student, other], title="Room"
    )
    side = await orm(services.create_conversation)(
        creator=admin, kind=ConversationType.GROUP, participants=[student], title="Side"
    )
    watcher = Recorder(await open_socket(other))
    tabs = [Recorder(await open_socket(student)) for _ in range(2)]
    group = events.conversation_group(room.pk)
    assert len(hub().members[group]) == 3

    await orm(services.remove_participant)(actor=admin, conversation_id=room.pk, user=student)
    removed_at = []
    for tab in tabs:
        removal = await tab.until(lambda f: f["type"] == "conversation.removed")
        assert removal["conversation_id"] == str(room.pk)
        removed_at.append(tab.frames.index(removal))
    assert len(hub().members[group]) == 1  # the watcher's socket alone
    later = [await send(admin, room, f"after {n}") for n in range(3)]
    await watcher.until(message_in(room, later[-1].seq))
    still = await send(admin, side, "still here")
    for tab, index in zip(tabs, removed_at, strict=True):
        await tab.sync()
        after_removal = tab.frames[index + 1 :]
        assert not [f for f in after_removal if f.get("conversation_id") == str(room.pk)]
        assert not seqs_of(after_removal, room)
        await tab.until(message_in(side, still.seq))
    for tab in [*tabs, watcher]:
        await tab.socket.close()


async def test_revocation_closes_every_socket_of_the_session_across_processes(
    asgi_server, make_user
):
    student = await orm(make_user)(Role.STUDENT)
    revoked, kept = await orm(session_cookie)(student), await orm(session_cookie)(student)
    first, second = asgi_server(), asgi_server()
    doomed = [await RawSocket.open(server.ws_url, revoked) for server in (first, second)]
    survivors = [await RawSocket.open(server.ws_url, kept) for server in (first, second)]
    try:
        await orm(close_session_sockets)(session_key=revoked)
        for socket in doomed:
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await socket.recv()
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
        for socket in survivors:
            pong = await socket.request({"type": "ping"})
            assert pong["type"] == "pong"
    finally:
        for socket in [*doomed, *survivors]:
            await socket.close()


# --- Back-pressure ------------------------------------------------------------------

STALLED_ENV = {
    # The readers that keep reading get 32 of the test's 8 KB frames of
    # slack: with 8 (64 KiB), the sender's own socket was once closed too,
    # on a loaded machine where the test's loop read it late.
    "PARLEY_SOCKET_SEND_BUFFER_BYTES": str(256 * 1024),
    "PARLEY_SEND_RATE_PER_SECOND": "1000",
    "PARLEY_SEND_BURST": "1000",
}
FELL_BEHIND = "fell more than"


class StalledReader:
    """A WebSocket client on a TCP socket with a tiny receive buffer that
    reads its ``hello`` and then nothing, until ``read_to_close``."""

    def __init__(self, port: int, cookie: str):
        self.sock = tcp.socket()
        self.sock.setsockopt(tcp.SOL_SOCKET, tcp.SO_RCVBUF, 4096)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                "GET /ws/ HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Origin: http://127.0.0.1:{port}\r\n"
                f"Cookie: sessionid={cookie}\r\n\r\n"
            ).encode()
        )
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self._read()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head
        opcode, payload = self._frame()
        assert opcode == 1 and b'"type":"hello"' in payload, payload

    def _read(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed without a close frame")
        self.buffer += chunk

    def _frame(self) -> tuple[int, bytes]:
        """The next frame (server frames are not masked)."""
        while True:
            buffer = self.buffer
            length = buffer[1] & 0x7F if len(buffer) >= 2 else None
            start = {126: 4, 127: 10}.get(length or 0, 2)
            if length is not None and len(buffer) >= start:
                if start > 2:
                    length = int.from_bytes(buffer[2:start])
                if len(buffer) >= start + length:
                    self.buffer = buffer[start + length :]
                    return buffer[0] & 0x0F, buffer[start : start + length]
            self._read()

    def read_to_close(self) -> int:
        """Read everything the server wrote; the code of its close frame."""
        while True:
            opcode, payload = self._frame()
            if opcode == 8:
                return int.from_bytes(payload[:2])

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()


async def test_a_stalled_reader_is_closed_with_4008_and_the_others_get_everything(
    asgi_server, make_user
):
    """On uvicorn, whose send waits for the client to read: a member that
    stops reading is closed with 4008 once its queued frames pass
    PARLEY_SOCKET_SEND_BUFFER_BYTES; the other members receive every message."""
    admin = await orm(make_user)(Role.ADMIN)
    reader, staller = await orm(make_user)(Role.STUDENT), await orm(make_user)(Role.STUDENT)
    room = await orm(services.create_conversation)(
        creator=admin, kind=ConversationType.GROUP, participants=[reader, staller], title="Busy"
    )
    cid = str(room.pk)
    server = asgi_server(extra_env=STALLED_ENV, asgi_server="uvicorn")
    sender = await RawSocket.open(server.ws_url, await orm(session_cookie)(admin))
    member = ProtocolClient("reader", await orm(session_cookie)(reader), [server.ws_url])
    await member.connect()
    await member.wait_resumed()
    stalled = StalledReader(server.port, await orm(session_cookie)(staller))
    try:
        content = "x" * 8000
        seqs = []
        # Sends stop once the server has closed the stalled socket: on
        # loopback the kernel took ~1.4 MB (~180 sends) first; at most 13 MB,
        # three times what Linux's socket buffers can hold (tcp_wmem 4 MiB).
        for _ in range(1500):
            ack = await sender.request(
                {
                    "type": "message.send",
                    "conversation_id": cid,
                    "client_id": str(uuid.uuid4()),
                    "content": content,
                }
            )
            assert ack["type"] == "ack", ack
            seqs.append(ack["message"]["seq"])
            if FELL_BEHIND in server.log():
                break
        assert FELL_BEHIND in server.log(), "the stalled socket was never closed"
        assert await asyncio.to_thread(stalled.read_to_close) == 4008
        # The reader is untouched: every message, and the socket still answers.
        last = seqs[-1]
        await member.wait_for(lambda f: f["type"] == "message.new" and f["message"]["seq"] == last)
        held = sorted(m["seq"] for m in member.held.values() if m["conversation_id"] == cid)
        assert held == list(range(1, seqs[-1] + 1))
        pong = await sender.request({"type": "ping"})
        assert pong["type"] == "pong"
    finally:
        stalled.close()
        await sender.close()
        await member.close()
