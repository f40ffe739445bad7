"""Open-loop WebSocket load generator.

K rooms (conversations) of S members; each member is one socket, and the
members of a room alternate between the server processes. Sends follow a
fixed schedule: send ``i`` is due at ``start + i / send_rate`` whatever
happened to earlier sends, and every latency is measured from that intended
time, so a server (or a generator) that falls behind shows it as latency
instead of quietly sending less (no coordinated omission).

Each send carries ``<phase>:<id>:<intended time>``; every socket counts what
it receives, de-duplicated by id, so each missing delivery is a loss.

Two wire protocols: the baselines' relay protocol and Parley's
(docs/protocol.md: ``message.send`` → ``ack`` to the sender and
``message.new`` to every member, the sender included).

A room may send through a few of its members only (``Room.senders``: one
500-member room with 5 senders). A phase may stall a share of the sockets
(``stall_pct``): they stop reading at its start, as a frozen tab does, and
their fate is read at its end (closed, and with which code, or still open
and how much the server still held for them). Idle sockets may send the
protocol's heartbeat (``LoadGen.heartbeat``), as real clients do.
"""

import asyncio
import contextlib
import heapq
import json
import multiprocessing
import random
import socket
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import connect

from bench import stats

DELIVER, ACK, ERROR, READY, OTHER, PONG, RESUMED = range(7)

# A socket that may stall opens with an Internet MSS (loopback's is 64 KiB)
# and a small, fixed receive buffer (no autotuning). Together they keep what
# the two kernels hold for it to a few hundred KiB (on loopback's defaults
# the server's send buffer alone grows to 4 MiB), so a bench step of
# seconds, not minutes, fills the server's own buffer, as it would behind a
# real network. 16 KiB still carries tens of MB/s on loopback while read.
STALLED_MSS = 1460
STALLED_RCVBUF_BYTES = 16 * 1024


@dataclass
class Endpoint:
    """One socket: where it connects, as whom, and which rooms it joins."""

    url: str
    rooms: list[str]
    headers: dict[str, str] = field(default_factory=dict)
    origin: str | None = None


@dataclass
class Room:
    key: str  # room name or conversation id
    members: list[int]  # indexes into the endpoint list
    senders: list[int] | None = None  # the members who send; None: every member

    def sending(self) -> list[int]:
        return self.members if self.senders is None else self.senders


# --- Wire protocols -----------------------------------------------------------


class RelayProtocol:
    """The baselines' minimal relay protocol (bench/baselines/__init__.py)."""

    name = "relay"
    # The relay protocol names no heartbeat; the baselines answer ``ping``
    # with ``pong`` and their sockets beat as often as Parley's browser
    # client does by default.
    heartbeat_seconds: float = 25.0

    def hello_frame(self, endpoint: Endpoint) -> str | None:
        return json.dumps({"type": "join", "rooms": endpoint.rooms})

    def resume_frame(self, cursors: dict | None) -> str | None:
        return None  # the relay keeps nothing to resume from

    def ping_frame(self, ref: int) -> str:
        return '{"type":"ping"}'

    def send_frame(self, room: str, body: str, ref: int) -> str:
        return json.dumps({"type": "send", "room": room, "body": body})

    def classify(self, raw) -> tuple[int, Any]:
        frame = json.loads(raw)
        kind = frame.get("type")
        if kind == "msg":
            return DELIVER, frame.get("body")
        if kind == "joined":
            return READY, None
        if kind == "pong":
            return PONG, None
        if kind == "error":
            return ERROR, raw
        return OTHER, None


class ParleyProtocol:
    """Parley's socket protocol: ready on ``hello``; ``message.send``."""

    name = "parley"
    # Until a ``hello`` says otherwise (its ``heartbeat_seconds``).
    heartbeat_seconds: float = 25.0

    def hello_frame(self, endpoint: Endpoint) -> str | None:
        return None  # the server speaks first

    def resume_frame(self, cursors: dict | None) -> str | None:
        """What a client that held everything up to ``cursors`` sends after
        its new ``hello`` (static/js/app.js: ``resume`` from its cursors)."""
        return json.dumps({"type": "resume", "ref": "storm", "cursors": cursors or {}})

    def ping_frame(self, ref: int) -> str:
        # What static/js/socket.js sends every ``heartbeat_seconds``.
        return json.dumps({"type": "ping", "ref": f"p{ref}"})

    def send_frame(self, room: str, body: str, ref: int) -> str:
        return json.dumps(
            {
                "type": "message.send",
                "ref": str(ref),
                "conversation_id": room,
                "client_id": str(uuid.uuid4()),
                "content": body,
            }
        )

    def classify(self, raw) -> tuple[int, Any]:
        frame = json.loads(raw)
        kind = frame.get("type")
        if kind == "message.new":
            return DELIVER, frame["message"]["content"]
        if kind == "ack":
            return ACK, frame["message"]["content"]
        if kind == "hello":
            self.heartbeat_seconds = float(frame.get("heartbeat_seconds") or 25)
            # The cursors a client holding everything so far would keep.
            return READY, {c["id"]: c["last_seq"] for c in frame.get("conversations", [])}
        if kind == "resume.done":
            return RESUMED, None
        if kind == "pong":
            return PONG, None
        if kind == "error":
            return ERROR, raw
        return OTHER, None


PROTOCOLS = {"relay": RelayProtocol, "parley": ParleyProtocol}


# --- The generator --------------------------------------------------------------


@dataclass
class PhaseResult:
    """Raw counts and samples of one phase (mergeable across workers)."""

    send_rate: float = 0.0
    duration: float = 0.0
    measured_seconds: float = 0.0
    sent: int = 0
    send_failures: int = 0
    expected: int = 0  # deliveries owed for the sent messages
    delivered: int = 0  # unique deliveries received
    duplicates: int = 0
    measured_expected: int = 0  # the same, for messages due after the warm-up
    measured_delivered: int = 0
    acks: int = 0
    errors: int = 0
    error_samples: list = field(default_factory=list)
    latencies: list = field(default_factory=list)  # seconds, measured window only
    ack_latencies: list = field(default_factory=list)
    max_schedule_lag: float = 0.0  # how late the generator itself sent
    generator_cpu: float = 0.0
    # Sockets that stopped reading for the phase (``stall_pct``): not in the
    # counts above; what they were owed, what reached them once they read
    # again, and how each ended ("4008", "1006", ... or "open").
    stalled: int = 0
    stalled_owed: int = 0
    stalled_received: int = 0
    stalled_outcomes: dict = field(default_factory=dict)

    def merge(self, other: "PhaseResult") -> "PhaseResult":
        for name in (
            "send_rate",
            "sent",
            "send_failures",
            "expected",
            "delivered",
            "duplicates",
            "measured_expected",
            "measured_delivered",
            "acks",
            "errors",
            "generator_cpu",
            "stalled",
            "stalled_owed",
            "stalled_received",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        outcomes = Counter(self.stalled_outcomes) + Counter(other.stalled_outcomes)
        self.stalled_outcomes = dict(outcomes)
        self.duration = max(self.duration, other.duration)
        self.measured_seconds = max(self.measured_seconds, other.measured_seconds)
        self.max_schedule_lag = max(self.max_schedule_lag, other.max_schedule_lag)
        self.error_samples = (self.error_samples + other.error_samples)[:5]
        self.latencies += other.latencies
        self.ack_latencies += other.ack_latencies
        return self

    def summary(self) -> dict:
        lat = stats.summarize(self.latencies)
        ack = stats.summarize(self.ack_latencies)
        lost = max(0, self.expected - self.delivered)
        return {
            "send_rate": round(self.send_rate, 1),
            "offered_deliveries_per_s": None,  # filled by the caller (needs room size)
            "duration_s": round(self.duration, 2),
            "sent": self.sent,
            "send_failures": self.send_failures,
            "expected": self.expected,
            "delivered": self.delivered,
            "lost": lost,
            "loss_pct": round(100 * lost / self.expected, 4) if self.expected else None,
            "duplicates": self.duplicates,
            "errors": self.errors,
            "error_samples": self.error_samples,
            "acks": self.acks,
            "delivered_per_s": (
                round(self.measured_delivered / self.measured_seconds, 1)
                if self.measured_seconds
                else None
            ),
            "latency_ms": {k: _ms(v) if k != "count" else v for k, v in lat.items()},
            "ack_latency_ms": {k: _ms(v) if k != "count" else v for k, v in ack.items()},
            "max_schedule_lag_ms": _ms(self.max_schedule_lag),
            "generator_cpu_s": round(self.generator_cpu, 3),
            "stalled": (
                {
                    "sockets": self.stalled,
                    "owed": self.stalled_owed,
                    "received_after": self.stalled_received,
                    "outcomes": dict(sorted(self.stalled_outcomes.items())),
                }
                if self.stalled
                else None
            ),
        }


def _ms(seconds):
    return None if seconds is None else round(seconds * 1000, 2)


def held(summary: dict, *, p99_ms: float = 100.0) -> bool:
    """Whether a phase held: p99 within bound, nothing lost, no errors."""
    p99 = summary["latency_ms"]["p99"]
    return (
        summary["sent"] > 0
        and summary["lost"] == 0
        and summary["errors"] == 0
        and summary["send_failures"] == 0
        and p99 is not None
        and p99 <= p99_ms
    )


class _Conn:
    __slots__ = (
        "ws",
        "endpoint",
        "seen",
        "reader",
        "ready",
        "stalled",
        "late",
        "dead",
        "pings",
        "pongs",
        "cursors",
        "resumed",
    )

    def __init__(self, endpoint: Endpoint):
        self.endpoint = endpoint
        self.ws = None
        self.seen: set[int] = set()
        self.reader = None
        self.ready = asyncio.Event()
        self.stalled = False  # not reading (this phase's ``stall_pct``)
        self.late = 0  # this phase's deliveries that reached it once it read again
        self.dead = False  # stalled once: left out of every later phase
        self.pings = 0  # heartbeats sent on this socket
        self.pongs = 0  # and answered, in the order sent
        self.cursors: dict | None = None  # Parley: each conversation's last seq at hello
        self.resumed: asyncio.Event | None = None  # made when a resume is sent


def pick_stalled(n_conns: int, pct: float, exclude=frozenset()) -> list[int]:
    """``pct`` percent of ``n_conns`` sockets (at least one when ``pct`` > 0),
    spread evenly over the index range, never one in ``exclude`` (a room's
    only senders), so the stalled readers are in many rooms and on both
    server processes."""
    if pct <= 0 or n_conns == 0:
        return []
    candidates = [i for i in range(n_conns) if i not in exclude]
    want = min(len(candidates), max(1, round(n_conns * pct / 100)))
    if want == 0:
        return []
    step = len(candidates) / want
    return [candidates[int(k * step + step / 2)] for k in range(want)]


async def open_websocket(endpoint: Endpoint, *, sock=None, timeout: float):
    """The bench's WebSocket to ``endpoint``: no compression, no client
    pings (heartbeats are the protocol's), no proxy."""
    return await connect(
        endpoint.url,
        sock=sock,
        origin=endpoint.origin,
        additional_headers=endpoint.headers or None,
        compression=None,
        ping_interval=None,
        open_timeout=timeout,
        close_timeout=2,
        max_queue=1024,
        max_size=2**20,
        proxy=None,
    )


class LoadGen:
    """Sockets for ``endpoints`` and an open-loop sender over ``rooms``."""

    def __init__(
        self,
        endpoints: list[Endpoint],
        rooms: list[Room],
        protocol,
        *,
        connect_concurrency: int = 50,
        connect_timeout: float = 30.0,
        stall_pct: float = 0.0,
    ):
        self.endpoints = endpoints
        self.rooms = rooms
        # Which sockets a stalling phase stops: chosen now, since they open
        # differently (``STALLED_MSS``). Never a room's only sender.
        only_senders = {s for room in rooms if len(room.sending()) == 1 for s in room.sending()}
        self.stall_candidates = set(pick_stalled(len(endpoints), stall_pct, only_senders))
        self.proto = protocol
        self.connect_concurrency = connect_concurrency
        self.connect_timeout = connect_timeout
        self.conns: list[_Conn] = []
        self.phase = 0
        self._result = PhaseResult()
        self._measure_from = 0.0
        self.pings = 0
        self.pongs = 0
        self.connect_attempts = 3
        self.connect_retries = 0
        self._beat: asyncio.Task | None = None

    # -- connections ------------------------------------------------------------

    async def connect(self, endpoints: list[Endpoint] | None = None) -> None:
        """Open a socket for each of ``endpoints`` (default: the generator's
        own), adding them to those already open."""
        gate = asyncio.Semaphore(self.connect_concurrency)

        first = len(self.conns)

        async def open_one(index: int, endpoint: Endpoint) -> _Conn:
            # As a browser does, a refused handshake is tried again after a
            # pause (daphne drops one the application has not accepted
            # within 5 s); the retries are counted, not hidden.
            for attempt in range(self.connect_attempts):
                try:
                    return await _open(index, endpoint)
                except Exception as exc:
                    if attempt + 1 == self.connect_attempts:
                        raise RuntimeError(f"socket {index} to {endpoint.url}: {exc!r}") from exc
                    self.connect_retries += 1
                    await asyncio.sleep(1.0 + attempt)
            raise AssertionError("unreachable")

        async def _open(index: int, endpoint: Endpoint) -> _Conn:
            async with gate:
                sock = None
                if index in self.stall_candidates:
                    sock = await _small_segment_socket(endpoint.url)
                return await self._dial(endpoint, sock=sock, timeout=self.connect_timeout)

        wanted = self.endpoints if endpoints is None else endpoints
        self.conns += list(
            await asyncio.gather(*(open_one(first + i, e) for i, e in enumerate(wanted)))
        )

    async def _dial(self, endpoint: Endpoint, *, sock=None, timeout: float) -> _Conn:
        """A socket for ``endpoint``, read from, once the server says it is
        ready (raises when it does not within ``timeout``)."""
        conn = _Conn(endpoint)
        conn.ws = await open_websocket(endpoint, sock=sock, timeout=timeout)
        conn.reader = asyncio.create_task(self._read(conn))
        try:
            hello = self.proto.hello_frame(endpoint)
            if hello:
                await conn.ws.send(hello)
            await asyncio.wait_for(conn.ready.wait(), timeout)
        except BaseException:
            await self.drop(conn)
            raise
        return conn

    async def open_socket(self, endpoint: Endpoint, *, timeout: float) -> _Conn | None:
        """One try at a socket for ``endpoint``: None when it was refused or
        not ready in time (the caller decides when to try again)."""
        try:
            return await self._dial(endpoint, timeout=timeout)
        except Exception:  # noqa: BLE001 - a refusal, whatever its form
            return None

    async def drop(self, conn: _Conn) -> None:
        """Stop reading ``conn`` and close it (within 3 s)."""
        if conn.reader is not None:
            conn.reader.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.ws.close(), 3)

    async def close(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
            self._beat = None

        async def close_one(conn):
            if conn.ws is not None:
                with contextlib.suppress(TimeoutError, OSError):
                    await asyncio.wait_for(conn.ws.close(), 3)
            if conn.reader is not None:
                conn.reader.cancel()

        gate = asyncio.Semaphore(100)

        async def gated(conn):
            async with gate:
                await close_one(conn)

        await asyncio.gather(*(gated(c) for c in self.conns), return_exceptions=True)
        self.conns = []

    def open_sockets(self) -> int:
        """Sockets the servers have not closed."""
        return sum(1 for c in self.conns if c.ws is not None and c.ws.close_code is None)

    # -- heartbeats -----------------------------------------------------------------

    def start_heartbeat(self) -> None:
        """Every socket sends the protocol's ping once per heartbeat
        interval, starting at a point of its first interval fixed by its
        index: as many clients that connected at different times do, and
        sockets opened later join in."""
        if self._beat is None:
            self._beat = asyncio.create_task(self._heartbeat())

    async def _heartbeat(self) -> None:
        clock = time.monotonic
        due: list[tuple[float, int]] = []  # (when, index into self.conns)
        scheduled = 0
        ref = 0
        while True:
            every = self.proto.heartbeat_seconds
            now = clock()
            while scheduled < len(self.conns):
                offset = random.Random(scheduled).uniform(0, every)
                heapq.heappush(due, (now + offset, scheduled))
                scheduled += 1
            while due and due[0][0] <= now:
                when, index = heapq.heappop(due)
                ref += 1
                try:
                    await self.conns[index].ws.send(self.proto.ping_frame(ref))
                    self.pings += 1
                    self.conns[index].pings += 1
                except Exception:  # noqa: BLE001 - a closed socket shows in close_codes()
                    continue
                heapq.heappush(due, (when + every, index))
            wait = (due[0][0] - clock()) if due else 0.5
            await asyncio.sleep(min(0.5, max(0.0, wait)))

    def heartbeat_mark(self) -> list[int]:
        """Each socket's heartbeats sent so far: where a window starts."""
        return [c.pings for c in self.conns]

    def heartbeats_since(self, mark: list[int]) -> tuple[int, int]:
        """Heartbeats sent since ``mark`` and how many of those were
        answered. A socket answers in the order it was asked, so a pong that
        arrives in the window for a ping sent before it is not counted."""
        sent = answered = 0
        for index, conn in enumerate(self.conns):
            before = mark[index] if index < len(mark) else 0  # opened since
            window = conn.pings - before
            sent += window
            answered += min(window, max(0, conn.pongs - before))
        return sent, answered

    def close_codes(self) -> dict[str, int]:
        """How many sockets the servers closed, by close code."""
        codes = Counter(
            str(c.ws.close_code) for c in self.conns if c.ws is not None and c.ws.close_code
        )
        return dict(sorted(codes.items()))

    # -- reading --------------------------------------------------------------------

    async def _read(self, conn: _Conn) -> None:
        classify = self.proto.classify
        clock = time.monotonic
        try:
            async for raw in conn.ws:
                kind, body = classify(raw)
                if kind in (DELIVER, ACK):
                    now = clock()
                    try:
                        phase, mid, intended = body.split(":", 3)[:3]
                        if int(phase) != self.phase:
                            continue  # a straggler from an earlier phase
                        mid = int(mid)
                        intended = float(intended)
                    except (AttributeError, ValueError):
                        continue  # not ours
                    r = self._result
                    if kind == ACK:
                        r.acks += 1
                        if intended >= self._measure_from:
                            r.ack_latencies.append(now - intended)
                        continue
                    if mid in conn.seen:
                        r.duplicates += 1
                        continue
                    conn.seen.add(mid)
                    if conn.stalled or conn.dead:
                        conn.late += 1  # owed while stalled: not the others' figures
                        continue
                    r.delivered += 1
                    if intended >= self._measure_from:
                        r.measured_delivered += 1
                        r.latencies.append(now - intended)
                elif kind == READY:
                    conn.cursors = body
                    conn.ready.set()
                elif kind == RESUMED:
                    if conn.resumed is not None:
                        conn.resumed.set()
                elif kind == PONG:
                    self.pongs += 1
                    conn.pongs += 1
                elif kind == ERROR:
                    self._result.errors += 1
                    if len(self._result.error_samples) < 5:
                        self._result.error_samples.append(body[:300])
        except Exception:  # noqa: BLE001 - a dropped socket shows up as loss
            return

    # -- stalled readers ------------------------------------------------------------

    def _stall(self, conn: _Conn) -> None:
        """Stop reading ``conn``: its transport no longer reads the kernel
        buffer."""
        conn.stalled = True
        with contextlib.suppress(RuntimeError, AttributeError):
            conn.ws.transport.pause_reading()

    async def _stall_outcomes(
        self, stalled: list[_Conn], result: PhaseResult, *, quiet: float, limit: float
    ) -> None:
        """Read the stalled sockets again and record how each ended: closed
        by the server (its close code) or still open, and how many of the
        deliveries it was owed the server still held for it."""
        for conn in stalled:
            with contextlib.suppress(RuntimeError, AttributeError):
                conn.ws.transport.resume_reading()
        clock = time.monotonic
        hard_stop = clock() + limit
        progress, last_progress = None, clock()
        while clock() < hard_stop:
            now_progress = tuple(c.late for c in stalled)
            if now_progress != progress:
                progress, last_progress = now_progress, clock()
            if all(c.ws.close_code is not None for c in stalled):
                break
            if clock() - last_progress > quiet:
                break
            await asyncio.sleep(0.05)
        for conn in stalled:
            code = conn.ws.close_code
            outcome = "open" if code is None else str(code)
            result.stalled_outcomes[outcome] = result.stalled_outcomes.get(outcome, 0) + 1
            result.stalled_received += conn.late
            conn.stalled, conn.dead = False, True

    # -- one phase ----------------------------------------------------------------

    async def run_phase(
        self,
        *,
        send_rate: float,
        duration: float,
        warmup: float = 0.5,
        drain_timeout: float = 2.0,
        drain_limit: float = 20.0,
        start_at: float | None = None,
        stall: bool = False,
        pad: int = 0,
    ) -> PhaseResult:
        """Send at ``send_rate`` messages/s for ``duration`` seconds, then wait
        for the deliveries owed (see below). ``start_at`` is a
        wall-clock time (several worker processes start together).
        ``stall``: the sockets chosen by ``stall_pct`` stop reading for the
        phase; ``pad``: characters added to every message, so stalled
        sockets are owed bytes quickly."""
        self.phase += 1
        for conn in self.conns:
            conn.seen = set()
            conn.late = 0
        total = max(1, int(send_rate * duration)) if send_rate > 0 else 0
        result = self._result = PhaseResult(send_rate=send_rate, duration=duration)
        cpu_before = time.process_time()
        conns = self.conns
        stalled = (
            [conns[i] for i in sorted(self.stall_candidates) if not conns[i].dead] if stall else []
        )
        result.stalled = len(stalled)

        clock = time.monotonic
        if start_at is not None:
            await asyncio.sleep(max(0.0, start_at - time.time()))
        for conn in stalled:
            self._stall(conn)
        start = clock()
        self._measure_from = start + min(warmup, duration / 2)
        result.measured_seconds = duration - min(warmup, duration / 2)
        # Per room: who sends (stalled and dead sockets do not), how many
        # deliveries a send owes to reading sockets, how many to stalled ones.
        plan = []
        for room in self.rooms:
            senders = [m for m in room.sending() if not (conns[m].stalled or conns[m].dead)]
            reading = sum(1 for m in room.members if not (conns[m].stalled or conns[m].dead))
            owed_stalled = sum(1 for m in room.members if conns[m].stalled)
            if senders:
                plan.append((room.key, senders, reading, owed_stalled))
        n_rooms = len(plan)
        proto = self.proto
        phase = self.phase
        padding = ":" + "x" * pad if pad else ""
        interval = 1.0 / send_rate if send_rate > 0 else 0
        i = 0
        while i < total and n_rooms:
            now = clock()
            due = start + i * interval
            if due > now:
                await asyncio.sleep(due - now)
                continue
            # Everything due by now goes out; lateness is in the latency.
            while i < total and start + i * interval <= now:
                due = start + i * interval
                result.max_schedule_lag = max(result.max_schedule_lag, now - due)
                key, senders, reading, owed_stalled = plan[i % n_rooms]
                conn = conns[senders[(i // n_rooms) % len(senders)]]
                frame = proto.send_frame(key, f"{phase}:{i}:{due:.6f}{padding}", i)
                result.expected += reading
                result.stalled_owed += owed_stalled
                if due >= self._measure_from:
                    result.measured_expected += reading
                try:
                    await conn.ws.send(frame)
                    result.sent += 1
                except Exception:  # noqa: BLE001 - counted, and its deliveries are lost
                    result.send_failures += 1
                i += 1
            await asyncio.sleep(0)

        # Wait for what is owed while it is still arriving: a delivery is
        # lost only if nothing more came for ``drain_timeout`` seconds (or
        # after ``drain_limit``), so a slow server shows as latency, not loss.
        hard_stop = clock() + drain_limit
        last_progress, progress = clock(), (-1, -1)
        while clock() < hard_stop:
            now_progress = (result.delivered, result.acks)
            if now_progress != progress:
                progress, last_progress = now_progress, clock()
            done = result.delivered >= result.expected and (
                not isinstance(proto, ParleyProtocol) or result.acks + result.errors >= result.sent
            )
            if done or clock() - last_progress > drain_timeout:
                break
            await asyncio.sleep(0.05)
        if stalled:
            await self._stall_outcomes(stalled, result, quiet=drain_timeout, limit=drain_limit)
        result.generator_cpu = time.process_time() - cpu_before
        return result


async def _small_segment_socket(url: str) -> socket.socket:
    """A TCP socket connected to ``url``'s host and port that advertises
    ``STALLED_MSS`` and receives into ``STALLED_RCVBUF_BYTES``."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, STALLED_MSS)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, STALLED_RCVBUF_BYTES)
    sock.setblocking(False)
    try:
        await asyncio.get_running_loop().sock_connect(sock, (parts.hostname, parts.port or 80))
    except BaseException:
        sock.close()
        raise
    return sock


# --- Several generator processes ---------------------------------------------------


def split(endpoints: list[Endpoint], rooms: list[Room], parts: int):
    """Partition rooms (and their members' sockets) into ``parts`` shares."""
    shares = []
    for p in range(parts):
        mine = rooms[p::parts]
        index: dict[int, int] = {}
        eps: list[Endpoint] = []
        new_rooms = []
        for room in mine:
            members = []
            for m in room.members:
                if m not in index:
                    index[m] = len(eps)
                    eps.append(endpoints[m])
                members.append(index[m])
            senders = None if room.senders is None else [index[m] for m in room.senders]
            new_rooms.append(Room(room.key, members, senders))
        shares.append((eps, new_rooms))
    return shares


def _worker(conn, endpoints, rooms, protocol_name, stall_pct):
    async def main():
        gen = LoadGen(
            endpoints,
            rooms,
            PROTOCOLS[protocol_name](),
            connect_concurrency=20,
            stall_pct=stall_pct,
        )
        try:
            await gen.connect()
            conn.send(("ready", gen.connect_retries))
            while True:
                command, args = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
                if command == "phase":
                    conn.send(("result", await gen.run_phase(**args)))
                else:
                    break
        except Exception as exc:  # noqa: BLE001 - reported to the coordinator
            conn.send(("error", repr(exc)))
        finally:
            await gen.close()

    _run_loop(main())


def _run_loop(coro):
    try:
        import uvloop

        return uvloop.run(coro)
    except ImportError:
        return asyncio.run(coro)


class WorkerPool:
    """The same interface as ``LoadGen`` but spread over worker processes,
    so the generator is not the first thing to saturate."""

    def __init__(
        self, endpoints, rooms, protocol_name: str, workers: int, *, stall_pct: float = 0.0
    ):
        ctx = multiprocessing.get_context("spawn")
        self.pipes = []
        self.procs = []
        for eps, rms in split(endpoints, rooms, workers):
            here, there = ctx.Pipe()
            proc = ctx.Process(
                target=_worker, args=(there, eps, rms, protocol_name, stall_pct), daemon=True
            )
            proc.start()
            self.pipes.append(here)
            self.procs.append(proc)

    def _recv(self, pipe, timeout: float):
        if not pipe.poll(timeout):
            raise TimeoutError("load generator worker did not answer")
        kind, value = pipe.recv()
        if kind == "error":
            raise RuntimeError(f"load generator worker failed: {value}")
        return value

    def connect(self, timeout: float = 300.0) -> int:
        """Open every worker's sockets; returns the handshakes that had to
        be tried again."""
        return sum(self._recv(pipe, timeout) for pipe in self.pipes)

    def run_phase(
        self,
        *,
        send_rate,
        duration,
        warmup=0.5,
        drain_timeout=2.0,
        drain_limit=20.0,
        stall=False,
        pad=0,
    ) -> PhaseResult:
        start_at = time.time() + 0.3
        share = send_rate / len(self.pipes)
        for pipe in self.pipes:
            pipe.send(
                (
                    "phase",
                    {
                        "send_rate": share,
                        "duration": duration,
                        "warmup": warmup,
                        "drain_timeout": drain_timeout,
                        "drain_limit": drain_limit,
                        "start_at": start_at,
                        "stall": stall,
                        "pad": pad,
                    },
                )
            )
        merged = PhaseResult()
        for pipe in self.pipes:
            merged.merge(self._recv(pipe, duration + 2 * drain_limit + 60))
        return merged

    def close(self) -> None:
        for pipe in self.pipes:
            with contextlib.suppress(OSError):
                pipe.send(("stop", None))
        for proc in self.procs:
            proc.join(15)
            if proc.is_alive():
                proc.terminate()
                proc.join(5)
