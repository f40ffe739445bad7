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
"""

import asyncio
import contextlib
import json
import multiprocessing
import time
import uuid
from dataclasses import dataclass, field

from websockets.asyncio.client import connect

from bench import stats

DELIVER, ACK, ERROR, READY, OTHER = range(5)


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


# --- Wire protocols -----------------------------------------------------------


class RelayProtocol:
    """The baselines' minimal relay protocol (bench/baselines/__init__.py)."""

    name = "relay"

    def hello_frame(self, endpoint: Endpoint) -> str | None:
        return json.dumps({"type": "join", "rooms": endpoint.rooms})

    def send_frame(self, room: str, body: str, ref: int) -> str:
        return json.dumps({"type": "send", "room": room, "body": body})

    def classify(self, raw) -> tuple[int, str | None]:
        frame = json.loads(raw)
        kind = frame.get("type")
        if kind == "msg":
            return DELIVER, frame.get("body")
        if kind == "joined":
            return READY, None
        if kind == "error":
            return ERROR, raw
        return OTHER, None


class ParleyProtocol:
    """Parley's socket protocol: ready on ``hello``; ``message.send``."""

    name = "parley"

    def hello_frame(self, endpoint: Endpoint) -> str | None:
        return None  # the server speaks first

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

    def classify(self, raw) -> tuple[int, str | None]:
        frame = json.loads(raw)
        kind = frame.get("type")
        if kind == "message.new":
            return DELIVER, frame["message"]["content"]
        if kind == "ack":
            return ACK, frame["message"]["content"]
        if kind == "hello":
            return READY, None
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
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
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
    __slots__ = ("ws", "endpoint", "seen", "reader", "ready")

    def __init__(self, endpoint: Endpoint):
        self.endpoint = endpoint
        self.ws = None
        self.seen: set[int] = set()
        self.reader = None
        self.ready = asyncio.Event()


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
    ):
        self.endpoints = endpoints
        self.rooms = rooms
        self.proto = protocol
        self.connect_concurrency = connect_concurrency
        self.connect_timeout = connect_timeout
        self.conns: list[_Conn] = []
        self.phase = 0
        self._result = PhaseResult()
        self._measure_from = 0.0

    # -- connections ------------------------------------------------------------

    async def connect(self) -> None:
        gate = asyncio.Semaphore(self.connect_concurrency)

        async def open_one(endpoint: Endpoint) -> _Conn:
            conn = _Conn(endpoint)
            async with gate:
                conn.ws = await connect(
                    endpoint.url,
                    origin=endpoint.origin,
                    additional_headers=endpoint.headers or None,
                    compression=None,
                    ping_interval=None,
                    open_timeout=self.connect_timeout,
                    close_timeout=2,
                    max_queue=1024,
                    max_size=2**20,
                    proxy=None,
                )
                conn.reader = asyncio.create_task(self._read(conn))
                hello = self.proto.hello_frame(endpoint)
                if hello:
                    await conn.ws.send(hello)
                await asyncio.wait_for(conn.ready.wait(), self.connect_timeout)
            return conn

        self.conns = list(await asyncio.gather(*(open_one(e) for e in self.endpoints)))

    async def close(self) -> None:
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

    async def _read(self, conn: _Conn) -> None:
        classify = self.proto.classify
        clock = time.monotonic
        try:
            async for raw in conn.ws:
                kind, body = classify(raw)
                if kind in (DELIVER, ACK):
                    now = clock()
                    try:
                        phase, mid, intended = body.split(":")
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
                    r.delivered += 1
                    if intended >= self._measure_from:
                        r.measured_delivered += 1
                        r.latencies.append(now - intended)
                elif kind == READY:
                    conn.ready.set()
                elif kind == ERROR:
                    self._result.errors += 1
                    if len(self._result.error_samples) < 5:
                        self._result.error_samples.append(body[:300])
        except Exception:  # noqa: BLE001 - a dropped socket shows up as loss
            return

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
    ) -> PhaseResult:
        """Send at ``send_rate`` messages/s for ``duration`` seconds, then wait
        for the deliveries owed (see below). ``start_at`` is a
        wall-clock time (several worker processes start together)."""
        self.phase += 1
        for conn in self.conns:
            conn.seen = set()
        total = max(1, int(send_rate * duration)) if send_rate > 0 else 0
        result = self._result = PhaseResult(send_rate=send_rate, duration=duration)
        cpu_before = time.process_time()

        clock = time.monotonic
        if start_at is not None:
            await asyncio.sleep(max(0.0, start_at - time.time()))
        start = clock()
        self._measure_from = start + min(warmup, duration / 2)
        result.measured_seconds = duration - min(warmup, duration / 2)
        rooms = self.rooms
        n_rooms = len(rooms)
        proto = self.proto
        phase = self.phase
        interval = 1.0 / send_rate if send_rate > 0 else 0
        i = 0
        while i < total:
            now = clock()
            due = start + i * interval
            if due > now:
                await asyncio.sleep(due - now)
                continue
            # Everything due by now goes out; lateness is in the latency.
            while i < total and start + i * interval <= now:
                due = start + i * interval
                result.max_schedule_lag = max(result.max_schedule_lag, now - due)
                room = rooms[i % n_rooms]
                sender = room.members[(i // n_rooms) % len(room.members)]
                conn = self.conns[sender]
                frame = proto.send_frame(room.key, f"{phase}:{i}:{due:.6f}", i)
                result.expected += len(room.members)
                if due >= self._measure_from:
                    result.measured_expected += len(room.members)
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
        result.generator_cpu = time.process_time() - cpu_before
        return result


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
            new_rooms.append(Room(room.key, members))
        shares.append((eps, new_rooms))
    return shares


def _worker(conn, endpoints, rooms, protocol_name):
    async def main():
        gen = LoadGen(endpoints, rooms, PROTOCOLS[protocol_name]())
        try:
            await gen.connect()
            conn.send(("ready", None))
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

    def __init__(self, endpoints, rooms, protocol_name: str, workers: int):
        ctx = multiprocessing.get_context("spawn")
        self.pipes = []
        self.procs = []
        for eps, rms in split(endpoints, rooms, workers):
            here, there = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(there, eps, rms, protocol_name), daemon=True)
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

    def connect(self, timeout: float = 120.0) -> None:
        for pipe in self.pipes:
            self._recv(pipe, timeout)

    def run_phase(
        self, *, send_rate, duration, warmup=0.5, drain_timeout=2.0, drain_limit=20.0
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
                    },
                )
            )
        merged = PhaseResult()
        for pipe in self.pipes:
            merged.merge(self._recv(pipe, duration + drain_limit + 60))
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
