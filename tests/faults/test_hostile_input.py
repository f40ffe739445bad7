"""Hostile input against a real server process (the Procfile's ``web``):
oversized and malformed frames, floods from one person, and generated
frames. Each gets what docs/protocol.md promises, read from the document
where it lists something; the socket stays where the document says so
(a ping answered after it proves it); nothing is stored; and the server
logs no unhandled exception.

tests/realtime/test_hostile_clients.py has the first real-server cases
(60,000 ``[``, a lone surrogate, a typing flood's rate, a 100 KiB and a
2 MiB frame); these go on from there."""

import asyncio
import contextlib
import json
import uuid

import pytest
from asgiref.sync import sync_to_async
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from accounts.models import Role
from messaging import limits, services
from messaging.models import (
    AuditLog,
    AuditRepeat,
    ConversationParticipant,
    ConversationType,
    Message,
    MessageStatus,
)
from messaging.threads.models import Pin, Reaction, SavedMessage, ThreadFollow
from tests.faults.hostile import assert_no_tracebacks, documented
from tests.realtime.clients import RawSocket, origin_of
from tests.realtime.conftest import session_cookie
from tests.servers import asgi_server_name

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

# Each frame here is read as soon as it comes: these tests try what each
# kind of frame is answered, not the socket's frame budget, which holds a
# fast client back (tests/realtime/test_frame_pacing.py).
EVERY_FRAME_READ = {"PARLEY_SOCKET_FRAME_BURST": "10000000"}

orm = sync_to_async

MIB = 1024 * 1024


async def open_raw(server, user) -> RawSocket:
    return await RawSocket.open(server.ws_url, await orm(session_cookie)(user))


def stored() -> dict:
    """What a refused frame must not change: the rows commands write, and
    every member's cursors."""
    counts = {
        model.__name__: model.objects.count()
        for model in (
            Message,
            MessageStatus,
            Reaction,
            Pin,
            SavedMessage,
            ThreadFollow,
            AuditLog,
            AuditRepeat,
        )
    }
    counts["cursors"] = sorted(
        ConversationParticipant.objects.values_list(
            "user_id", "last_read_seq", "last_delivered_seq"
        )
    )
    return counts


async def still_answers(socket: RawSocket) -> None:
    """The socket is open and usable: a ping gets its pong."""
    reply = await socket.request({"type": "ping"})
    assert reply["type"] == "pong", reply


async def next_error(socket: RawSocket) -> dict:
    return await socket.recv_until(lambda f: f["type"] == "error")


async def closed_with(socket: RawSocket) -> int | None:
    """Read until the server closes; its close code."""
    with pytest.raises(ConnectionClosed):
        while True:
            await socket.recv(timeout=60)
    return socket.socket.close_code


# --- Case 14: oversized and malformed frames -------------------------------------


async def test_frame_sizes_at_each_documented_limit(asgi_server, direct, assigned):
    """64 KiB is Parley's limit, counted in UTF-8 bytes: a frame of exactly
    65,536 bytes is served, one byte more (or fewer characters of two bytes
    each) is ``frame_too_large`` and the socket stays; up to the server's
    1 MiB the same; over 1 MiB, as one frame or in fragments, close 1009."""
    _, student = assigned
    server = asgi_server(extra_env=EVERY_FRAME_READ)
    socket = await open_raw(server, student)
    limit = limits.max_frame_bytes()
    before = await orm(stored)()
    try:

        def ping_of(size: int, pad_char: str = "x") -> str:
            frame = json.dumps({"type": "ping", "ref": "p", "pad": ""})
            pad = (size - len(frame.encode())) // len(pad_char.encode())
            text = json.dumps(
                {"type": "ping", "ref": "p", "pad": pad_char * pad}, ensure_ascii=False
            )
            return text

        exact = ping_of(limit)
        assert len(exact.encode()) == limit
        await socket.send_text(exact)
        assert (await socket.recv_until(lambda f: f.get("ref") == "p"))["type"] == "pong"

        for text in (
            ping_of(limit + 1),
            ping_of(limit + 2, "é"),  # 32,768 characters, 65,538 bytes
            ping_of(MIB - 64),  # under the server's own limit
        ):
            assert len(text.encode()) > limit
            await socket.send_text(text)
            error = await next_error(socket)
            assert error["code"] == "frame_too_large", error
            await still_answers(socket)

        # A send over the limit stores nothing.
        await socket.send(
            {
                "type": "message.send",
                "ref": "big",
                "conversation_id": str(direct.pk),
                "client_id": str(uuid.uuid4()),
                "content": "y" * limit,
            }
        )
        assert (await next_error(socket))["code"] == "frame_too_large"
        await still_answers(socket)
        assert await orm(stored)() == before

        # Over 1 MiB in one frame: 1009.
        await socket.send_text("x" * (MIB + 1))
        assert await closed_with(socket) == 1009
    finally:
        await socket.close()

    # Over 1 MiB in 16 fragments of 64 KiB + 1 byte each: the message is
    # what counts.
    socket = await open_raw(server, student)
    try:
        await socket.socket.send(["z" * (limit + 1) for _ in range(16)])
        assert await closed_with(socket) == 1009
    finally:
        await socket.close()
    assert await orm(stored)() == before
    assert_no_tracebacks(server)


async def test_invalid_utf8_and_binary_frames(asgi_server, assigned):
    """A binary frame is ``binary_unsupported`` and the socket stays; a text
    frame whose bytes are not UTF-8 breaks RFC 6455 and the server closes
    the socket with 1007 (invalid payload data), as docs/protocol.md says;
    nothing of it reaches Parley's code, and no traceback reaches the log
    (uvicorn logged one for each)."""
    _, student = assigned
    server = asgi_server(extra_env=EVERY_FRAME_READ)
    socket = await open_raw(server, student)
    try:
        for payload in (b'{"type": "ping"}', b"\xff\xfe\x00garbage", b""):
            await socket.socket.send(payload)
            error = await next_error(socket)
            assert error["code"] == "binary_unsupported", error
            await still_answers(socket)
    finally:
        await socket.close()

    for raw in (
        b'{"type": "ping", "ref": "\xff"}',  # a byte no UTF-8 sequence starts with
        b'{"type": "ping", "ref": "\xc3"}',  # a sequence cut short
        b'{"type": "ping", "ref": "\xed\xa0\x80"}',  # a surrogate encoded (CESU-8)
        b'{"type": "ping", "ref": "\xc0\xaf"}',  # an overlong "/"
    ):
        socket = await open_raw(server, student)
        try:
            await socket.socket.send(raw, text=True)
            assert await closed_with(socket) == NOT_UTF8_CLOSE[asgi_server_name()], raw
        finally:
            await socket.close()
    assert_no_tracebacks(server)


# docs/operations.md, "ASGI server": granian's close frame has no code.
NOT_UTF8_CLOSE = {"uvicorn": 1007, "daphne": 1007, "granian": 1005}


def nested(depth: int, inner: str = "1") -> str:
    return "[" * depth + inner + "]" * depth


async def test_deep_nesting_inside_commands(asgi_server, direct, assigned):
    """JSON nested in a command's fields, at depths the parser reads and
    past them: ``bad_json`` past the parser's depth, ``invalid`` within it
    (no command reads a nested value), never ``internal``; nothing stored."""
    _, student = assigned
    cid = str(direct.pk)
    server = asgi_server(extra_env=EVERY_FRAME_READ)
    socket = await open_raw(server, student)
    before = await orm(stored)()
    try:
        for depth in (50, 500, 900, 5_000, 20_000):
            for template in (
                '{"type": "message.send", "conversation_id": "%s", "client_id": "%s", '
                '"content": %s}',
                '{"type": "resume", "cursors": {"%s": %s}}',
                '{"type": "history.fetch", "conversation_id": "%s", "limit": %s}',
                '{"type": "presence.query", "user_ids": %s}',
                '{"type": "ping", "ref": %s}',
                '{"type": %s}',
            ):
                fields = {
                    3: (cid, uuid.uuid4(), nested(depth)),
                    2: (cid, nested(depth)),
                    1: (nested(depth),),
                }[template.count("%s")]
                text = template % fields
                if len(text.encode()) > limits.max_frame_bytes():
                    continue
                await socket.send_text(text)
                error = await next_error(socket)
                assert error["code"] in {"bad_json", "bad_frame", "invalid"}, (
                    depth,
                    text[:80],
                    error,
                )
            await still_answers(socket)
        assert await orm(stored)() == before
    finally:
        await socket.close()
    assert_no_tracebacks(server)


HUGE = (10**30, -1, 1e308, "5", True, 0.5, None, [], {})


async def test_huge_and_wrong_numbers_in_history_and_resume(asgi_server, direct, assigned):
    """``limit``: more than 200 is read as 200 (10**30 too), anything but a
    whole number from 1 is ``invalid``; a ``seq`` or a cursor past 2⁶³ − 1
    or not a whole number is ``invalid``, and in ``resume`` that entry
    alone is (the others are answered, then ``resume.done``). A number of
    more than 4,300 digits, NaN, Infinity or one only a float's infinity
    holds is ``bad_json``."""
    mentor, student = assigned
    cid = str(direct.pk)
    server = asgi_server(extra_env=EVERY_FRAME_READ)
    socket = await open_raw(server, student)
    before = await orm(stored)()
    try:
        reply = await socket.request(
            {"type": "history.fetch", "conversation_id": cid, "limit": 10**30}
        )
        assert reply["type"] == "history", reply
        for value in HUGE:
            if value is None:
                continue  # no limit: the default page
            for field in ("limit", "after_seq", "before_seq"):
                reply = await socket.request(
                    {"type": "history.fetch", "conversation_id": cid, field: value}
                )
                if field != "limit" and value == 10**30:
                    assert reply["type"] == "error" and reply["code"] == "invalid", (field, reply)
                elif field == "limit" and value == 10**30:
                    assert reply["type"] == "history", reply
                else:
                    assert reply["type"] == "error" and reply["code"] == "invalid", (
                        field,
                        value,
                        reply,
                    )
        for value in HUGE:
            for command in ("read", "delivered"):
                reply = await socket.request(
                    {"type": command, "conversation_id": cid, "seq": value}
                )
                assert reply["type"] == "error" and reply["code"] == "invalid", (
                    command,
                    value,
                    reply,
                )

        # resume: each bad cursor its own invalid, the good one answered.
        cursors = {cid: 0}
        bad = {}
        for value in HUGE:
            key = str(uuid.uuid4())
            bad[key] = value
        cursors.update(bad)
        ref = "r1"
        await socket.send({"type": "resume", "ref": ref, "cursors": cursors})
        replies = []
        while True:
            frame = await socket.recv_until(lambda f: f.get("ref") == ref)
            replies.append(frame)
            if frame["type"] == "resume.done":
                break
        errors = [f for f in replies if f["type"] == "error"]
        assert {e["conversation_id"] for e in errors} == set(bad), errors
        assert {e["code"] for e in errors} == {"invalid"}
        assert [f["conversation_id"] for f in replies if f["type"] == "history"] == [cid]

        # Numbers past what the parser reads, and what only Python's reads
        # (NaN, Infinity, a float that is infinite): not JSON.
        read = '{"type": "read", "conversation_id": "' + cid + '", "seq": %s}'
        for number in (
            "9" * 4_301,
            "0." + "9" * 4_300,
            "1e999999",
            "-1e999",
            "NaN",
            "Infinity",
            "-Infinity",
        ):
            await socket.send_text(read % number)
            assert (await next_error(socket))["code"] == "bad_json", number
        await socket.send_text(read % ("0." + "9" * 4_000))  # long, but a number
        assert (await next_error(socket))["code"] == "invalid"  # not a whole number
        await still_answers(socket)
        assert await orm(stored)() == before
    finally:
        await socket.close()
    assert_no_tracebacks(server)


# Each command and the fields it reads (docs/protocol.md, the commands table).
COMMAND_FIELDS = {
    "message.send": ("conversation_id", "client_id", "content", "attachments", "parent_id"),
    "message.edit": ("message_id", "content"),
    "message.delete": ("message_id",),
    "reaction.add": ("message_id", "emoji"),
    "reaction.remove": ("message_id", "emoji"),
    "message.pin": ("message_id",),
    "message.unpin": ("message_id",),
    "message.save": ("message_id",),
    "message.unsave": ("message_id",),
    "typing.start": ("conversation_id",),
    "typing.stop": ("conversation_id",),
    "read": ("conversation_id", "seq"),
    "delivered": ("conversation_id", "seq"),
    "resume": ("cursors",),
    "history.fetch": ("conversation_id", "after_seq", "limit"),
    "thread.fetch": ("thread_id", "before_seq", "limit"),
    "thread.read": ("thread_id", "seq"),
    "thread.follow": ("thread_id", "following"),
    "presence.set": ("status",),
    "presence.query": ("user_ids",),
}


WRONG_VALUES = (None, True, 0, -1, 1.5, "", "x" * 70, [], [1], {}, {"a": 1})


def valid_for(field: str, value) -> bool:
    """Whether ``value`` of WRONG_VALUES happens to be right for ``field``."""
    if field == "content":
        return value == "x" * 70
    if field in ("seq", "after_seq", "before_seq"):
        return value == 0 and value is not False
    if field == "following":
        return value is True
    if field in ("attachments", "cursors", "user_ids"):
        return value in ([], {}) and type(value) is {"cursors": dict}.get(field, list)
    return False


async def test_unknown_types_and_wrong_field_types(asgi_server, direct, assigned):
    """Every documented command with each of its fields of the wrong type,
    and types that are not commands: the documented code (``unknown_type``,
    ``bad_frame``, ``invalid``; ``not_found`` or ``forbidden`` only when the
    wrong value was still a well-formed id), nothing stored, the socket
    answering after each."""
    mentor, student = assigned
    cid = str(direct.pk)
    # Refused sends spend a token too; the bucket is tested by the floods.
    server = asgi_server(extra_env={**EVERY_FRAME_READ, "PARLEY_SEND_BURST": "100000"})
    socket = await open_raw(server, student)
    ack = await socket.request(
        {
            "type": "message.send",
            "conversation_id": cid,
            "client_id": str(uuid.uuid4()),
            "content": "the one message",
        }
    )
    assert ack["type"] == "ack", ack
    mid = ack["message"]["id"]
    before = await orm(stored)()
    valid = {
        "conversation_id": cid,
        "message_id": mid,
        "thread_id": mid,
        "client_id": str(uuid.uuid4()),
        "content": "hello",
        "emoji": "👍",
        "seq": 1,
        "cursors": {cid: 0},
        "status": "away",
        "user_ids": [str(student.pk)],
        "following": True,
        "attachments": [],
    }
    assert set(COMMAND_FIELDS) | {"ping"} == documented()["commands"]
    try:
        for command, fields in COMMAND_FIELDS.items():
            for field in fields:
                for wrong in WRONG_VALUES:
                    if valid_for(field, wrong):
                        continue
                    frame = {"type": command, **{f: valid.get(f) for f in fields if f in valid}}
                    frame[field] = wrong
                    if command == "message.send":
                        frame["client_id"] = wrong if field == "client_id" else str(uuid.uuid4())
                    optional = field in (
                        "attachments",
                        "parent_id",
                        "after_seq",
                        "before_seq",
                        "limit",
                    )
                    if optional and wrong is None:
                        continue  # left out: the command as usual
                    reply = await socket.request(frame)
                    assert reply["type"] == "error", (frame, reply)
                    assert reply["code"] in documented()["error_codes"], reply
                    assert reply["code"] not in ("internal", "unavailable"), (frame, reply)
                    assert reply["code"] in ("invalid", "too_long", "not_found", "forbidden"), (
                        frame,
                        reply,
                    )
            await still_answers(socket)

        for frame_type in (
            "message.sned",
            "PING",
            " ping",
            "ping\u0000",
            "x" * 5_000,
            "__init__",
            "send_message",
        ):
            reply = await socket.request({"type": frame_type})
            assert reply["type"] == "error" and reply["code"] == "unknown_type", reply
            assert len(reply["message"]) < 200, "the unknown type is not echoed whole"
        for text in (
            '{"type": 5}',
            '{"type": null}',
            "{}",
            "[]",
            '"ping"',
            "5",
            "null",
            '{"type": ["ping"]}',
        ):
            await socket.send_text(text)
            assert (await next_error(socket))["code"] == "bad_frame", text
        for text in ("", "{", "ping", '{"type": "ping",}', "{'type': 'ping'}", "NaN x"):
            await socket.send_text(text)
            assert (await next_error(socket))["code"] == "bad_json", text
        await still_answers(socket)
        after = await orm(stored)()
    finally:
        await socket.close()
    # The refused reads and writes left no row (the one ``forbidden`` that
    # could come, a foreign id, writes its audit row: none was sent here).
    assert after == before
    assert_no_tracebacks(server)


# --- Case 15: floods from one person ----------------------------------------------


def group_of(mentor, student, make_user):
    """A group of ``mentor`` (its creator), ``student`` and another mentor."""
    other = make_user(Role.MENTOR)
    group = services.create_conversation(
        creator=mentor,
        kind=ConversationType.GROUP,
        participants=[student, other],
        title="Flooded",
    )
    return group, other


class Reader:
    """Reads a RawSocket's frames in the background, so the server never
    waits on this client, and answers questions about them."""

    def __init__(self, socket: RawSocket):
        self.socket = socket
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        # No timeout: asyncio.wait_for (Python 3.11) may swallow the
        # cancellation that stop() sends when a frame arrives at that moment.
        with contextlib.suppress(ConnectionClosed):
            async for raw in self.socket.socket:
                self.socket.frames.append(json.loads(raw))

    def frames(self, kind: str | None = None) -> list[dict]:
        return [f for f in self.socket.frames if kind is None or f["type"] == kind]

    def answer_to(self, ref: str) -> list[dict]:
        return [f for f in self.socket.frames if f.get("ref") == ref]

    async def wait(self, predicate, timeout: float = 60) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not predicate():
            assert not self.task.done(), "the socket closed"
            assert loop.time() < deadline, "the condition never held"
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.socket.close()


async def settled(reader: Reader) -> None:
    """Every frame sent before is handled: a socket's frames are answered in
    order, so the pong of a ping sent now comes after all their replies."""
    ref = uuid.uuid4().hex
    await reader.socket.send({"type": "ping", "ref": ref})
    await reader.wait(lambda: reader.answer_to(ref))


FLOOD = 300


async def test_floods_are_throttled_and_the_others_still_get_their_messages(
    asgi_server, assigned, make_user
):
    """One student floods a group with sends, reactions, typing and read
    receipts (300 of each, as fast as the socket takes them) while another
    member sends 20 messages: every flood frame gets its documented answer
    (``rate_limited`` beyond the budgets; receipts beyond theirs held and
    coalesced), nothing refused is stored, and the third member receives
    each of the 20 once, in ``seq`` order."""
    mentor, student = assigned
    group, other = await orm(group_of)(mentor, student, make_user)
    cid = str(group.pk)
    server = asgi_server(extra_env=EVERY_FRAME_READ)
    flooder = Reader(await open_raw(server, student))
    receiver = Reader(await open_raw(server, mentor))
    sender = Reader(await open_raw(server, other))
    loop = asyncio.get_running_loop()
    try:
        await flooder.socket.send(
            {
                "type": "message.send",
                "ref": "first",
                "conversation_id": cid,
                "client_id": str(uuid.uuid4()),
                "content": "react to me",
            }
        )
        await flooder.wait(lambda: flooder.answer_to("first"))
        target = flooder.answer_to("first")[0]["message"]

        async def flood() -> float:
            started = loop.time()
            for n in range(FLOOD):
                await flooder.socket.send(
                    {
                        "type": "message.send",
                        "ref": f"send-{n}",
                        "conversation_id": cid,
                        "client_id": str(uuid.uuid4()),
                        "content": f"flood {n}",
                    }
                )
                await flooder.socket.send(
                    {
                        "type": "reaction.add" if n % 2 == 0 else "reaction.remove",
                        "ref": f"react-{n}",
                        "message_id": target["id"],
                        "emoji": "👍",
                    }
                )
                await flooder.socket.send({"type": "typing.start", "conversation_id": cid})
                await flooder.socket.send(
                    {"type": "read", "ref": f"read-{n}", "conversation_id": cid, "seq": 1 + n % 20}
                )
            await settled(flooder)
            return loop.time() - started

        async def twenty() -> list[str]:
            client_ids = []
            for n in range(20):
                client_id = str(uuid.uuid4())
                client_ids.append(client_id)
                ref = f"other-{n}"
                await sender.socket.send(
                    {
                        "type": "message.send",
                        "ref": ref,
                        "conversation_id": cid,
                        "client_id": client_id,
                        "content": f"meanwhile {n}",
                    }
                )
                await sender.wait(lambda ref=ref: sender.answer_to(ref))
                assert sender.answer_to(ref)[0]["type"] == "ack", sender.answer_to(ref)
            return client_ids

        elapsed, client_ids = await asyncio.gather(flood(), twenty())

        # Sends: each answered once, an ack or rate_limited; only acks stored.
        answers = [flooder.answer_to(f"send-{n}") for n in range(FLOOD)]
        assert all(len(a) == 1 for a in answers)
        acked = [a[0] for a in answers if a[0]["type"] == "ack"]
        refused = [a[0] for a in answers if a[0]["type"] == "error"]
        assert {e["code"] for e in refused} == {"rate_limited"}
        assert all(e["retry_after"] > 0 for e in refused)
        stored = await orm(Message.objects.filter(sender=student).count)()
        assert stored == len(acked) + 1  # the first message and the acked ones

        # Reactions spend the sends' bucket too.
        answers = [flooder.answer_to(f"react-{n}") for n in range(FLOOD)]
        assert all(len(a) == 1 for a in answers)
        reacted = [a[0] for a in answers if a[0]["type"] == "ok"]
        refused = [a[0] for a in answers if a[0]["type"] == "error"]
        assert refused and {e["code"] for e in refused} == {"rate_limited"}
        assert await orm(Reaction.objects.filter(user=student).count)() <= 1
        # The bucket: the burst, then the rate (an upper bound the server
        # can only stay under, however slow the machine).
        rate, burst = limits.send_rate_per_second(), limits.send_burst()
        spent = 1 + len(acked) + len(reacted)
        assert burst <= spent <= burst + rate * elapsed + 1, (spent, elapsed)

        # Typing: ignored beyond its budget, the first refusal said once per run.
        typing_errors = [f for f in flooder.frames("error") if f["message"].startswith("At most")]
        assert typing_errors and {e["code"] for e in typing_errors} == {"rate_limited"}
        assert len(typing_errors) <= 1 + elapsed * limits.typing_frames_per_second() + 1
        assert len(receiver.frames("typing")) <= elapsed / limits.typing_min_interval_seconds() + 2

        # Receipts: every frame answered ok; beyond the budget coalesced.
        answers = [flooder.answer_to(f"read-{n}") for n in range(FLOOD)]
        assert all(len(a) == 1 and a[0]["type"] == "ok" for a in answers), answers[:3]
        applied = [a[0] for a in answers if not a[0].get("coalesced")]
        receipt_burst = limits.receipt_frame_burst()
        receipt_rate = limits.receipt_frames_per_second()
        assert len(applied) <= receipt_burst + receipt_rate * elapsed + 1, (len(applied), elapsed)
        assert len(applied) < FLOOD
        # A receipt held now is still applied: the flooder reads one more
        # message of the other member's (its own sends moved its cursor).
        await sender.socket.send(
            {
                "type": "message.send",
                "ref": "last",
                "conversation_id": cid,
                "client_id": str(uuid.uuid4()),
                "content": "the last",
            }
        )
        await sender.wait(lambda: sender.answer_to("last"))
        last = sender.answer_to("last")[0]["message"]["seq"]
        await flooder.socket.send(
            {"type": "read", "ref": "read-last", "conversation_id": cid, "seq": last}
        )
        await flooder.wait(lambda: flooder.answer_to("read-last"))
        assert flooder.answer_to("read-last")[0]["type"] == "ok"

        def read_cursor() -> int:
            return ConversationParticipant.objects.get(
                conversation=group, user=student
            ).last_read_seq

        await receiver.wait(
            lambda: any(
                f["type"] == "receipt"
                and f["user_id"] == str(student.pk)
                and f["status"] == "read"
                and f["up_to_seq"] == last
                for f in receiver.frames()
            )
        )
        assert await orm(read_cursor)() == last
        read_receipts = [
            f["up_to_seq"]
            for f in receiver.frames("receipt")
            if f["user_id"] == str(student.pk) and f["status"] == "read"
        ]
        assert read_receipts == sorted(set(read_receipts)), "cursors only move forward"

        # The other member's twenty: each once, in order, among every
        # message.new the receiver got, in strictly increasing seq order.
        await receiver.wait(
            lambda: (
                {f["message"]["client_id"] for f in receiver.frames("message.new")}
                >= set(client_ids)
            )
        )
        news = [f["message"] for f in receiver.frames("message.new")]
        seqs = [m["seq"] for m in news]
        assert seqs == sorted(set(seqs)), "each once, in seq order"
        assert [m["client_id"] for m in news if m["client_id"] in client_ids] == client_ids
        await still_answers_reading(flooder)
    finally:
        for reader in (flooder, receiver, sender):
            await reader.stop()
    assert_no_tracebacks(server)


async def open_with_first_frame(server, cookie: str):
    """A socket of the session ``cookie``, and the first frame it got
    (``hello``, or the error before a refusal's close)."""
    socket = await connect(
        server.ws_url,
        additional_headers={"Cookie": f"sessionid={cookie}"},
        origin=origin_of(server.ws_url),
        open_timeout=10,
    )
    return socket, json.loads(await asyncio.wait_for(socket.recv(), 10))


async def still_answers_reading(reader: Reader) -> None:
    ref = uuid.uuid4().hex
    await reader.socket.send({"type": "ping", "ref": ref})
    await reader.wait(lambda: reader.answer_to(ref))
    assert reader.answer_to(ref)[0]["type"] == "pong"


async def test_fifty_sockets_of_one_account(asgi_server, assigned):
    """The first ``PARLEY_MAX_SOCKETS_PER_USER`` (10) sockets are served;
    each of the other 40 gets ``too_many_connections`` and close 4429; the
    10 still answer, and once one closes a new one is served again."""
    _, student = assigned
    cap = limits.max_sockets_per_user()
    server = asgi_server(extra_env=EVERY_FRAME_READ)
    cookie = await orm(session_cookie)(student)
    served: list[RawSocket] = []
    refused = 0
    try:
        for _ in range(50):
            socket, first = await open_with_first_frame(server, cookie)
            if first["type"] == "hello":
                served.append(RawSocket(socket, first))
                continue
            assert first["type"] == "error" and first["code"] == "too_many_connections", first
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(socket.recv(), 10)
            assert socket.close_code == 4429
            refused += 1
        assert (len(served), refused) == (cap, 50 - cap)
        for socket in served:
            await still_answers(socket)

        # A place comes free once a socket closes (its release is not
        # instant: wait for it, by trying again).
        await served.pop().close()
        for _ in range(100):
            socket, first = await open_with_first_frame(server, cookie)
            if first["type"] == "hello":
                served.append(RawSocket(socket, first))
                break
            await socket.close()
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("no place came free")
        await still_answers(served[-1])
    finally:
        for socket in served:
            await socket.close()
    assert_no_tracebacks(server)


# --- Case 18: generated frames ----------------------------------------------------

# Text a real client can send (UTF-8 has no lone surrogates; their JSON
# escapes are in reach through json.dumps), with what the text rule refuses.
awkward_text = st.lists(
    st.characters(codec="utf-8")
    | st.sampled_from(["\x00", "\x1b", "\ufffe", "\u202e", "\ud800", "👨\u200d👩\u200d👧"]),
    max_size=20,
).map("".join)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.integers(2**63 - 2, 2**64)
    | st.integers(10**300, 10**1000)
    | st.floats(allow_nan=True, allow_infinity=True)
    | awkward_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(awkward_text, inner, max_size=4),
    max_leaves=8,
)


def mostly(usual, other, ratio: int = 3):
    """``usual`` ``ratio`` times as often as ``other``."""
    return st.sampled_from([usual] * ratio + [other]).flatmap(lambda strategy: strategy)


def generated_frames(ids: list[str]):
    """Frames a client could send: commands of every documented type (and
    others), fields mostly of the right kind and sometimes of any, and text
    that is not a command at all. Each is JSON text (``json.dumps`` escapes
    what UTF-8 cannot carry). ``ids``: a conversation, a message in it, and
    two people."""
    conversation_id, message_id = ids[0], ids[1]
    seqs = st.integers(0, 50) | st.integers(2**63 - 2, 2**64)
    right = {
        "conversation_id": st.sampled_from([conversation_id, conversation_id.upper()])
        | st.uuids().map(str),
        "client_id": st.uuids().map(str),
        "content": awkward_text | st.integers(9_990, 10_010).map(lambda n: "x" * n),
        "attachments": st.just([]) | st.lists(st.uuids().map(str), max_size=11),
        "parent_id": st.just(message_id),
        "reply_to_id": st.just(message_id),
        "also_to_conversation": st.booleans(),
        "message_id": st.just(message_id) | st.uuids().map(str),
        "thread_id": st.just(message_id),
        "emoji": st.sampled_from(["👍", "❤", "👨‍👩‍👧", ":thumbs_up:", "ab"]),
        "seq": seqs,
        "cursors": st.dictionaries(
            st.sampled_from([conversation_id, "{" + conversation_id + "}"]) | st.uuids().map(str),
            seqs,
            max_size=3,
        ),
        "after_seq": seqs,
        "before_seq": seqs,
        "limit": st.integers(-1, 300),
        "status": st.sampled_from(["online", "away", "offline"]),
        "user_ids": st.lists(st.sampled_from(ids) | st.uuids().map(str), max_size=5),
        "following": st.booleans(),
        "ref": st.text(max_size=70),
    }
    anything = json_values | st.sampled_from(ids) | st.uuids().map(str)
    commands = sorted(documented()["commands"])
    kind = mostly(st.sampled_from(commands), st.text(max_size=20) | json_values, ratio=6)
    fields = {name: mostly(strategy, anything, ratio=6) for name, strategy in right.items()}
    fields |= {"metadata": anything, "__class__": anything}
    # A few fields at a time, so that commands get past their first check.
    some_fields = st.lists(st.sampled_from(sorted(fields)), max_size=6, unique=True).flatmap(
        lambda names: st.fixed_dictionaries({name: fields[name] for name in names})
    )
    command = st.builds(lambda t, rest: json.dumps({"type": t, **rest}), kind, some_fields)
    # And whole commands, their every field mostly right.
    whole = st.sampled_from(sorted(COMMAND_FIELDS)).flatmap(
        lambda name: st.fixed_dictionaries(
            {"type": st.just(name), **{f: fields[f] for f in COMMAND_FIELDS[name]}}
        )
    )
    command = mostly(whole.map(json.dumps), command, ratio=2)
    garbage = (
        st.text(min_size=1, max_size=100)
        | json_values.map(json.dumps)
        | st.integers(1, 3_000).map(lambda n: '{"type": "resume", "cursors": ' + "[" * n)
        | st.integers(4_301, 5_000).map(lambda n: '{"type": "ping", "n": ' + "9" * n + "}")
    )
    return mostly(command, garbage, ratio=4)


async def exchange(socket: RawSocket, texts: list[str]) -> list[dict]:
    """Send ``texts``, then a ping; every frame received until its pong."""
    for text in texts:
        await socket.send_text(text)
    ref = f"end-{uuid.uuid4().hex}"
    await socket.send({"type": "ping", "ref": ref})
    start = len(socket.frames)
    await socket.recv_until(lambda f: f.get("ref") == ref, timeout=60)
    return socket.frames[start:]


def test_generated_frames_get_only_documented_answers(asgi_server, direct, assigned):
    """60 batches of up to 5 generated frames, valid and broken, on one
    socket of a real server: every frame the server sends is of a type
    docs/protocol.md lists for the server to send, every ``error`` has a
    code its tables list (never ``internal``), the socket answers after
    each batch, and the server logs no unhandled exception."""
    mentor, student = assigned
    message = services.send_message(
        sender=mentor, conversation_id=direct.pk, content="fuzz me", client_id=uuid.uuid4()
    ).message
    ids = [str(direct.pk), str(message.pk), str(student.pk), str(mentor.pk)]
    server_types = documented()["server_types"]
    error_codes = documented()["error_codes"] - {"internal"}
    # A bucket the batches do not empty, so sends reach past the rate limit.
    server = asgi_server(extra_env={**EVERY_FRAME_READ, "PARLEY_SEND_BURST": "100000"})
    loop = asyncio.new_event_loop()
    socket = loop.run_until_complete(RawSocket.open(server.ws_url, session_cookie(student)))
    answered: list[str] = []

    @hypothesis_settings(
        max_examples=60,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(texts=st.lists(generated_frames(ids), min_size=1, max_size=5))
    def batch(texts):
        for frame in loop.run_until_complete(exchange(socket, texts)):
            assert frame["type"] in server_types, (texts, frame)
            if frame["type"] == "error":
                assert frame["code"] in error_codes, (texts, frame)
            answered.append(frame.get("code", frame["type"]))

    try:
        batch()
        assert len(answered) > 60
    finally:
        loop.run_until_complete(socket.close())
        loop.close()
    assert_no_tracebacks(server)
