"""A reconnect storm: many open sockets lose their connection at once (a
network blip, a load balancer restart) and come back as the browser client
does (static/js/socket.js): each after its own "equal jitter" backoff,
trying again with a longer one when refused, then resuming from the cursors
it held (Parley: ``resume`` → ``history`` … ``resume.done``;
docs/protocol.md). The figure is the time from the drop until every socket
is back and resumed, with the retries and failures it took; docs/reliability.md
(fault case 6) and docs/benchmarks.md quote it."""

import asyncio
import contextlib
import random
import time

from bench.loadgen import LoadGen, _Conn

# static/js/socket.js: the first reconnect waits 250-500 ms, each refusal
# doubles the ceiling up to 30 s.
BASE_BACKOFF_SECONDS = 0.5
MAX_BACKOFF_SECONDS = 30.0
# A socket not back after this many tries counts as failed (the browser
# would go on trying; the bench stops somewhere).
ATTEMPTS = 8


def backoff(attempt: int) -> float:
    ceiling = min(MAX_BACKOFF_SECONDS, BASE_BACKOFF_SECONDS * 2**attempt)
    return ceiling / 2 + random.random() * ceiling / 2


async def reconnect_storm(gen: LoadGen, count: int, *, timeout: float = 60.0) -> dict:
    """Drop the last ``count`` of ``gen``'s sockets at once (their TCP
    connections aborted, no close frame) and bring each back. Each new
    socket takes its old one's place in ``gen``, so ``gen.close()`` closes
    it."""
    victims = gen.conns[-count:] if count else []
    if not victims:
        return {"sockets": 0}
    attempts = 0
    failures: list[str] = []
    done_at: list[float] = []

    async def come_back(old: _Conn) -> _Conn | None:
        nonlocal attempts
        for attempt in range(ATTEMPTS):
            await asyncio.sleep(backoff(attempt))
            attempts += 1
            conn = await gen.open_socket(old.endpoint, timeout=timeout)
            if conn is None:
                continue
            resume = gen.proto.resume_frame(old.cursors)
            if resume is not None:
                conn.resumed = asyncio.Event()
                try:
                    await conn.ws.send(resume)
                    await asyncio.wait_for(conn.resumed.wait(), timeout)
                except Exception:  # noqa: BLE001 - counted, tried again
                    await gen.drop(conn)
                    continue
            done_at.append(time.monotonic())
            return conn
        failures.append(old.endpoint.url)
        return None

    started = time.monotonic()
    for conn in victims:
        with contextlib.suppress(Exception):
            conn.ws.transport.abort()
        if conn.reader is not None:
            conn.reader.cancel()
    back = await asyncio.gather(*(come_back(c) for c in victims))
    first = len(gen.conns) - len(victims)
    for offset, conn in enumerate(back):
        if conn is not None:
            gen.conns[first + offset] = conn
    done = sorted(t - started for t in done_at)
    return {
        "sockets": count,
        "back": len(done),
        "failed": len(failures),
        "attempts": attempts,
        "retries": attempts - len(done),
        "resumed": gen.proto.resume_frame({}) is not None,
        "seconds_to_half": round(done[len(done) // 2], 2) if done else None,
        "seconds_to_all": round(done[-1], 2) if done and not failures else None,
    }
