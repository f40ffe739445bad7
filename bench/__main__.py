"""Parley's benchmark, side by side with two baselines: ``python -m bench``.

The short run (the default, ``make bench``) takes a few minutes on a 2-core
machine; ``--full`` runs longer steps with finer rate steps. PostgreSQL and
Redis must be up (``BENCH_POSTGRES_URL``, default
postgres://postgres@127.0.0.1:5432; ``BENCH_REDIS_URL``, default
redis://127.0.0.1:6379/13). Results go to bench/results/<time>.json and the
table to stdout. docs/benchmarks.md explains every figure.

``python -m bench notify`` (``make bench BENCH_ARGS=notify``) measures
notifications instead: bench/notifycost.py, ``python -m bench notify --help``.
``python -m bench files`` measures uploads and document previews:
bench/filescost.py, ``python -m bench files --help``.
``python -m bench search`` measures search over a million messages:
bench/searchcost.py, ``python -m bench search --help``.
``python -m bench markdown`` measures rendering Markdown at send:
bench/markdowncost.py, ``python -m bench markdown --help``.
"""

import argparse
import asyncio
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

from bench import flood, procs, report
from bench.loadgen import PROTOCOLS, LoadGen, WorkerPool, held
from bench.stacks import (
    BENCH_PG,
    BENCH_REDIS_URL,
    STACKS,
    Shape,
    database_exists,
    parley_env_overrides,
    parse_shapes,
    recreate_database,
)
from bench.storm import reconnect_storm

RESULTS = Path(__file__).resolve().parent / "results"
DATA_DATABASE = "parley_bench_data"


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def shapes_arg(text: str) -> list[Shape]:
    try:
        return parse_shapes(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Delivery, latency, CPU and memory of Parley against the limit and peer "
        "baselines, and history / unread figures on 1M messages.",
    )
    parser.add_argument(
        "--only",
        default="limit,peer,parley,data",
        help="comma list of limit, peer, parley, data (default: all)",
    )
    parser.add_argument(
        "--full", action="store_true", help="longer steps (10 s), finer rate steps, more iterations"
    )
    parser.add_argument("--duration", type=float, help="seconds per rate step (short: 3)")
    parser.add_argument(
        "--rates", help="comma list of delivery rates (deliveries/s) to step through, ascending"
    )
    parser.add_argument(
        "--fixed-rates",
        default="1000,2000",
        help="rates always run, for the latency table (default 1000,2000)",
    )
    parser.add_argument(
        "--rooms", type=int, default=20, help="conversations of the main shape (default 20)"
    )
    parser.add_argument("--size", type=int, default=10, help="members each (default 10)")
    parser.add_argument(
        "--shapes",
        type=shapes_arg,
        default="2x100,1x500/5",
        help="more shapes, each stepped for its held rate and run at the fixed rates: "
        "ROOMSxSIZE[/SENDERS], comma list (default 2x100,1x500/5; '' for none)",
    )
    parser.add_argument(
        "--shape-rates",
        help="delivery rates to step through on the other shapes "
        "(short: 1000,2000,4000,8000,16000,32000)",
    )
    parser.add_argument(
        "--idle",
        type=non_negative_int,
        default=5000,
        help="idle sockets held with their heartbeats, for the idle CPU and memory figures "
        "(default 5000; 0 skips them)",
    )
    parser.add_argument(
        "--idle-first",
        type=non_negative_int,
        default=1000,
        help="memory per idle socket is also measured once this many are open (default 1000)",
    )
    parser.add_argument(
        "--idle-concurrency",
        type=int,
        default=20,
        help="idle sockets opened at once (default 20)",
    )
    parser.add_argument(
        "--idle-seconds",
        type=non_negative_float,
        help="seconds the idle sockets are held for the CPU figure (short: 30, full: 90; "
        "at least one heartbeat of the clients and of the servers)",
    )
    parser.add_argument(
        "--flood-rate",
        type=non_negative_float,
        default=1000.0,
        help="Parley: the main shape at this many deliveries/s, quiet and while one person "
        "floods (50 sockets, typing and receipts past their budgets) (default 1000; 0 skips it)",
    )
    parser.add_argument(
        "--storm",
        type=non_negative_int,
        default=1000,
        help="of the idle sockets, this many dropped at once at the end and brought back as "
        "the browser client does, resuming from their cursors (default 1000; 0 skips it)",
    )
    parser.add_argument(
        "--stall-pct",
        type=non_negative_float,
        default=2.0,
        help="share of the main shape's sockets that stop reading in the stalled-readers "
        "step (default 2; 0 skips the step)",
    )
    parser.add_argument(
        "--stall-rate",
        type=float,
        default=2000.0,
        help="deliveries/s of the stalled-readers step (default 2000)",
    )
    parser.add_argument(
        "--stall-seconds", type=float, help="length of that step (short: 25, full: 60)"
    )
    parser.add_argument(
        "--stall-pad",
        type=non_negative_int,
        default=9000,
        help="characters added to each message of that step, so a stalled socket is "
        "owed bytes fast (default 9000; Parley allows 10,000)",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="load generator processes (default 1)"
    )
    parser.add_argument("--p99-ms", type=float, default=100.0, help="latency bound (100)")
    parser.add_argument(
        "--profile",
        type=float,
        default=None,
        help="seconds of py-spy sampling of one Parley server under load "
        "after the steps (short: 8, full: 20; 0 skips)",
    )
    parser.add_argument(
        "--fresh-data",
        action="store_true",
        help="rebuild the 1M-message data set even if it exists",
    )
    parser.add_argument("--out", help="results file (default bench/results/<time>.json)")
    args = parser.parse_args(argv)
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(args.only) - {"limit", "peer", "parley", "data"}
    if unknown:
        parser.error(f"unknown --only {sorted(unknown)}")
    if args.duration is None:
        args.duration = 10.0 if args.full else 3.0
    if args.rates:
        args.rates = sorted(float(r) for r in args.rates.split(","))
    elif args.full:
        args.rates = [
            250,
            500,
            1000,
            1500,
            2000,
            3000,
            4000,
            6000,
            8000,
            12000,
            16000,
            24000,
            32000,
            48000,
            64000,
        ]
    else:
        args.rates = [250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 64000]
    if isinstance(args.shapes, str):  # the default, not yet parsed
        args.shapes = parse_shapes(args.shapes)
    if args.shape_rates:
        args.shape_rates = sorted(float(r) for r in args.shape_rates.split(","))
    elif args.full:
        args.shape_rates = [500, 1000, 2000, 3000, 4000, 6000, 8000, 12000, 16000, 24000, 32000]
    else:
        args.shape_rates = [1000, 2000, 4000, 8000, 16000, 32000]
    if args.idle_seconds is None:
        args.idle_seconds = 90.0 if args.full else 30.0
    if args.stall_seconds is None:
        args.stall_seconds = 60.0 if args.full else 25.0
    args.fixed_rates = sorted(float(r) for r in args.fixed_rates.split(",") if r)
    args.bisect = 3 if args.full else 2
    args.shape_bisect = 2 if args.full else 1
    if args.profile is None:
        args.profile = 20.0 if args.full else 8.0
    args.iterations = 1000 if args.full else 200
    return args


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- One delivery phase, with what the servers spent ----------------------------------


def run_phase(
    pool,
    stack,
    rate: float,
    args,
    duration: float | None = None,
    *,
    shape: Shape | None = None,
    stall: bool = False,
    pad: int = 0,
) -> dict:
    """One phase at ``rate`` deliveries/s (a send owes one delivery to every
    member of its room) on ``shape`` (default: the main one)."""
    shape = shape or stack.shapes[0]
    duration = duration or args.duration
    cpu0, svc0 = procs.total_cpu(stack.pids), procs.cpu_by_pid(procs.service_pids())
    machine0 = procs.machine_cpu()
    raw = pool.run_phase(
        send_rate=rate / shape.size,
        duration=duration,
        warmup=min(1.0, duration / 4),
        stall=stall,
        pad=pad,
    )
    cpu1 = procs.total_cpu(stack.pids)
    machine = procs.machine_cores_used(machine0, procs.machine_cpu())
    svc = procs.cpu_delta(svc0, procs.cpu_by_pid(procs.service_pids()))
    out = raw.summary()
    out["offered_deliveries_per_s"] = rate
    out["server_cpu_s"] = round(cpu1 - cpu0, 3)
    out["services_cpu_s"] = round(svc, 3)
    out["cpu_s_per_1k_deliveries"] = (
        round(1000 * (cpu1 - cpu0) / raw.delivered, 4) if raw.delivered else None
    )
    out["services_cpu_s_per_1k_deliveries"] = (
        round(1000 * svc / raw.delivered, 4) if raw.delivered else None
    )
    # Whether the machine itself was full: a step that breaks with cores to
    # spare is the server's fault; one that breaks with none is the machine's.
    out["machine"] = machine
    out["held"] = held(out, p99_ms=args.p99_ms)
    lat = out["latency_ms"]
    log(
        f"{stack.name:6} {shape.key:>8} {rate:>8.0f}/s  delivered {out['delivered_per_s']}/s  "
        f"p50 {lat['p50']} p95 {lat['p95']} p99 {lat['p99']} ms  loss {out['loss_pct']}%  "
        f"errors {out['errors']}  cpu {out['server_cpu_s']}s  "
        f"machine {machine['busy_cores']} cores busy, {machine['steal_cores']} stolen  "
        f"{'held' if out['held'] else 'BROKE'}"
    )
    if out["error_samples"]:
        log(f"       first errors: {out['error_samples'][:2]}")
    if out["stalled"]:
        log(f"       stalled readers: {out['stalled']}")
    return out


def step(pool, stack, args, *, shape=None, rates=None, bisect=None) -> dict:
    """Raise the rate until p99 > bound or anything is lost; then bisect.

    A step that breaks is tried once more (the machine is shared; one noisy
    second should not decide it). The held rate is the highest one holding
    with every lower step holding too. Fixed rates always run.
    """
    rates = args.rates if rates is None else rates
    bisect = args.bisect if bisect is None else bisect
    phases: list[dict] = []

    def attempt(rate):
        result = run_phase(pool, stack, rate, args, shape=shape)
        phases.append(result)
        if not result["held"]:
            again = run_phase(pool, stack, rate, args, shape=shape)
            phases.append(again)
            if again["held"]:
                return again
        return result

    best, broke_at = None, None
    for rate in sorted(set(rates) | set(args.fixed_rates)):
        if broke_at is not None and rate > max(args.fixed_rates, default=0):
            break
        if broke_at is not None and rate not in args.fixed_rates:
            continue
        result = attempt(rate)
        if result["held"] and broke_at is None:
            best = result
        elif not result["held"] and broke_at is None:
            broke_at = rate
    if broke_at is not None:
        low = best["offered_deliveries_per_s"] if best else 0.0
        high = broke_at
        for _ in range(bisect):
            mid = round((low + high) / 2, -1)
            if mid <= low or mid >= high:
                break
            result = attempt(mid)
            if result["held"]:
                best, low = result, mid
            else:
                high = mid
    return {
        "phases": phases,
        "held_rate": best["offered_deliveries_per_s"] if best else 0.0,
        "held_delivered_per_s": best["delivered_per_s"] if best else 0.0,
        "held_phase": best,
        "broke_at": broke_at,
    }


def at_rate(phases: list[dict], rate: float) -> dict | None:
    """The last phase run at ``rate`` (the retry, if one ran)."""
    found = [p for p in phases if p["offered_deliveries_per_s"] == rate]
    return found[-1] if found else None


def profile_under_load(pool, stack, out: dict, args, log_dir: Path) -> dict:
    """Sample one server with py-spy while the load runs at the held rate (or
    half the lowest step, when nothing held: the costs per message show all
    the same)."""
    from bench import profile

    rate = out.get("held_rate") or args.rates[0] / 2
    raw_path = log_dir / f"profile-{stack.name}.txt"
    spy = profile.record(stack.profile_pid, args.profile, raw_path)
    if spy is None:
        return {"skipped": "py-spy is not installed (.venv/bin/pip install py-spy)"}
    log(
        f"{stack.name}: profiling server pid {stack.profile_pid} for {args.profile:g} s "
        f"at {rate:,.0f} deliveries/s"
    )
    time.sleep(0.5)
    phase = run_phase(pool, stack, rate, args, duration=args.profile)
    try:
        spy.wait(args.profile + 30)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait(5)
    if not raw_path.exists():
        return {"skipped": "py-spy produced no samples (ptrace not permitted?)"}
    summary = profile.summarize(raw_path)
    summary.update({"rate": rate, "raw": str(raw_path), "phase": phase})
    return summary


# What Parley logs when it closes a socket that fell too far behind (4008).
TOO_FAR_BEHIND_LOG = "closed with 4008"


def stalled_readers(pool, stack, args, previous: dict) -> dict:
    """One step at ``--stall-rate`` (or the stack's held rate, ``previous``'s,
    when lower) on the main shape with ``--stall-pct`` of
    the sockets not reading, each message padded by ``--stall-pad``
    characters: the others' latency and loss, what became of the stalled
    ones, and how far the servers' memory rose meanwhile."""
    # At a rate the stack holds: the step is about the stalled sockets, not
    # an overload (which would hide what they do to the others).
    rate = min(args.stall_rate, previous.get("held_rate") or args.rates[0] / 2)
    procs.wait_quiet(stack.pids)
    logged = stack.count_in_logs(TOO_FAR_BEHIND_LOG)
    with procs.PeakRss(stack.pids) as rss:
        out = run_phase(
            pool,
            stack,
            rate,
            args,
            duration=args.stall_seconds,
            stall=True,
            pad=args.stall_pad,
        )
    out["rss_before"], out["rss_peak"], out["rss_after"] = rss.start, rss.peak, rss.end
    out["rss_growth_peak_bytes"] = rss.peak - rss.start
    # A stalled socket's close frame waits behind what it did not read, so
    # its client sees the connection drop (1006); the server's log says why.
    out["server_logged_too_far_behind"] = stack.count_in_logs(TOO_FAR_BEHIND_LOG) - logged
    log(
        f"{stack.name:6} stalled step: server RSS {rss.start / 2**20:.1f} → peak "
        f"{rss.peak / 2**20:.1f} → {rss.end / 2**20:.1f} MiB"
    )
    return out


# --- Idle sockets: memory and CPU -----------------------------------------------------


def flooded(pool, stack, args) -> dict:
    """The main shape at ``--flood-rate`` deliveries/s twice: quiet, then
    while one of its people floods (``bench.flood``: 50 sockets, typing and
    read receipts far past their budgets). The others' p99 in both, and what
    the flooder was answered."""
    quiet = run_phase(pool, stack, args.flood_rate, args)
    member = stack.shape_members(0)[0]
    room = stack.member_room(member)
    endpoints = [stack.endpoint(member, room, copy) for copy in range(flood.SOCKETS)]
    with flood.Flood(endpoints) as flooder:
        noisy = run_phase(pool, stack, args.flood_rate, args)
    p99_quiet, p99_noisy = quiet["latency_ms"]["p99"], noisy["latency_ms"]["p99"]
    out = {
        "rate": args.flood_rate,
        "quiet": quiet,
        "flooded": noisy,
        "p99_quiet_ms": p99_quiet,
        "p99_flooded_ms": p99_noisy,
        "p99_ratio": round(p99_noisy / p99_quiet, 2) if p99_quiet else None,
        "flooder": flooder.result,
    }
    log(
        f"{stack.name:6} flood: others' p99 {p99_quiet} → {p99_noisy} ms "
        f"({out['p99_ratio']}×), flooder {flooder.result}"
    )
    return out


def idle_sockets(stack, args, people: list[int]) -> dict | None:
    """Open ``--idle`` sockets (each in one room, logged in for Parley),
    every one sending its heartbeat as real clients do. RSS of the servers
    per socket once ``--idle-first`` are open and once all are; then the
    servers' CPU while the sockets idle for ``--idle-seconds``, per minute.
    None for no sockets (``--idle 0``): nothing to divide by, and the report
    shows the figures as not measured."""
    count = args.idle
    if count <= 0:
        return None
    first = min(args.idle_first, count)

    async def main():
        gen = LoadGen(
            [],
            [],
            PROTOCOLS[stack.protocol](),
            connect_concurrency=args.idle_concurrency,
            connect_timeout=60,
        )
        out: dict = {"sockets": count}
        # What the first sockets load once per process (modules, pools) is
        # not a per-socket cost: a few sockets come and go before the count.
        warm = LoadGen([], [], PROTOCOLS[stack.protocol](), connect_concurrency=20)
        await warm.connect(stack.idle_endpoints(10, members=people))
        await warm.close()
        await asyncio.sleep(2.0)
        before = sum(procs.rss_bytes(p) for p in stack.pids)
        out["rss_before"] = before
        try:
            started = time.monotonic()
            steps = [(0, first), (first, count - first)] if first < count else [(0, count)]
            for start, n in steps:
                if n <= 0:
                    continue
                await gen.connect(stack.idle_endpoints(n, start, members=people))
                if not gen._beat:
                    gen.start_heartbeat()
                await asyncio.sleep(3.0)  # let the servers settle (presence, hello)
                rss = sum(procs.rss_bytes(p) for p in stack.pids)
                opened = start + n
                out[f"rss_at_{opened}"] = rss
                out.setdefault("bytes_per_socket_by_count", {})[str(opened)] = round(
                    (rss - before) / opened
                )
                log(
                    f"{stack.name:6} idle: {opened} sockets, RSS {before / 2**20:.1f} → "
                    f"{rss / 2**20:.1f} MiB, {(rss - before) / opened / 1024:.1f} KiB per socket"
                )
            out["connect_seconds"] = round(time.monotonic() - started, 1)
            out["connect_retries"] = gen.connect_retries
            out["people"] = len(people)
            beats = gen.heartbeat_mark()
            cpu0 = procs.total_cpu(stack.pids)
            svc0 = procs.cpu_by_pid(procs.service_pids())
            await asyncio.sleep(args.idle_seconds)
            cpu = procs.total_cpu(stack.pids) - cpu0
            svc = procs.cpu_delta(svc0, procs.cpu_by_pid(procs.service_pids()))
            window = args.idle_seconds
            pings, pongs = gen.heartbeats_since(beats)
            out.update(
                {
                    "window_s": window,
                    "server_cpu_s": round(cpu, 3),
                    # No window (``--idle-seconds 0``), no CPU figure.
                    "cpu_s_per_minute": round(60 * cpu / window, 3) if window else None,
                    "services_cpu_s_per_minute": round(60 * svc / window, 3) if window else None,
                    "pings": pings,
                    "pongs": pongs,
                    "heartbeat_seconds": gen.proto.heartbeat_seconds,
                    "open_at_end": gen.open_sockets(),
                    "closed_by_server": gen.close_codes(),
                    "rss_end": sum(procs.rss_bytes(p) for p in stack.pids),
                }
            )
            if args.storm:
                out["storm"] = await reconnect_storm(gen, min(args.storm, count))
                log(f"{stack.name:6} reconnect storm: {out['storm']}")
        finally:
            await gen.close()
        return out

    out = asyncio.run(main())
    by_count = out.get("bytes_per_socket_by_count", {})
    out["bytes_per_socket"] = by_count.get(str(count))
    out["bytes_per_socket_first"] = by_count.get(str(first))
    out["first"] = first
    log(
        f"{stack.name:6} idle: {count} sockets for {args.idle_seconds:g} s: server CPU "
        f"{out['cpu_s_per_minute']} s per minute, {out['pings']} pings, {out['pongs']} pongs, "
        f"{out['open_at_end']} open at the end"
    )
    return out


# --- Stacks -----------------------------------------------------------------------------


def stack_shapes(args) -> list[Shape]:
    """The main shape first, then the others (a repeat of it left out)."""
    main_shape = Shape(args.rooms, args.size)
    return [main_shape] + [s for s in args.shapes if s != main_shape]


# Idle sockets per person: a few tabs and devices each, well under
# PARLEY_MAX_SOCKETS_PER_USER (10).
IDLE_SOCKETS_PER_PERSON = 6


def idle_shape(args) -> Shape | None:
    """Rooms of 10 for the people the idle sockets need beyond the main
    shape's (None when it has enough). Idle sockets are opened by people in
    small rooms only: in a room of 500, each person's first socket tells
    499 contacts they are online, a connection storm measured by the shapes
    that have such rooms, not by the idle figure."""
    people = -(-args.idle // IDLE_SOCKETS_PER_PERSON)
    missing = people - args.rooms * args.size
    return Shape(-(-missing // 10), 10) if missing > 0 else None


def run_stack(name: str, args, run_id: str, log_dir: Path) -> dict:
    shapes = stack_shapes(args)
    extra = idle_shape(args)
    stack = STACKS[name](shapes=shapes + ([extra] if extra else []), log_dir=log_dir, run_id=run_id)
    # The idle sockets' people: the main shape's, and the extra rooms'.
    idle_people = list(stack.shape_members(0))
    if extra:
        idle_people += list(stack.shape_members(len(shapes)))
    log(f"{name}: starting two server processes ({stack.description})")
    out: dict = {"description": stack.description}
    try:
        stack.start()
        for index, shape in enumerate(shapes):
            waited = procs.wait_quiet(stack.pids)
            if waited > 2:
                log(f"{name}: waited {waited} s for the servers to go quiet")
            endpoints, rooms = stack.plan(index)
            pool = WorkerPool(
                endpoints,
                rooms,
                stack.protocol,
                args.workers,
                stall_pct=args.stall_pct if index == 0 else 0.0,
            )
            try:
                started = time.monotonic()
                retries = pool.connect()
                out.setdefault("connect_seconds", {})[shape.key] = round(
                    time.monotonic() - started, 1
                )
                out.setdefault("connect_retries", {})[shape.key] = retries
                log(
                    f"{name}: {len(endpoints)} sockets connected in {len(rooms)} rooms"
                    + (f" ({retries} handshakes tried again)" if retries else "")
                )
                if index == 0:
                    out.update(step(pool, stack, args))
                    if name == "parley" and args.profile > 0:
                        out["profile"] = profile_under_load(pool, stack, out, args, log_dir)
                    if args.stall_pct > 0:
                        out["stall"] = stalled_readers(pool, stack, args, out)
                    if name == "parley" and args.flood_rate > 0:
                        out["flood"] = flooded(pool, stack, args)
                else:
                    found = step(
                        pool,
                        stack,
                        args,
                        shape=shape,
                        rates=args.shape_rates,
                        bisect=args.shape_bisect,
                    )
                    out.setdefault("shapes", {})[shape.key] = found | {"label": shape.label}
            finally:
                pool.close()
        if args.idle > 0:
            stack.restart()
            procs.wait_quiet(stack.pids)
        idle = idle_sockets(stack, args, idle_people)
        if idle is not None:
            out["idle"] = idle
    except Exception as exc:
        log(f"{name}: FAILED: {exc!r}")
        out["failed"] = repr(exc)
        for server in stack.servers:
            out.setdefault("server_logs", []).append(server.tail(2000))
    finally:
        stack.stop()
    return out


def run_data(args, log_dir: Path) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "PARLEY_PROFILE", "DEBUG")
    }
    env.update(
        {
            # A measuring script, not a server: the embedded profile (no
            # secrets needed) pointed at the bench PostgreSQL and Redis, with
            # DEBUG off as a server runs (DEBUG on records every query).
            "PARLEY_PROFILE": "embedded",
            "DEBUG": "false",
            "DATABASE_URL": f"{BENCH_PG}/{DATA_DATABASE}",
            "REDIS_URL": BENCH_REDIS_URL,
            "PYTHONPATH": str(procs.ROOT),
            "LOG_LEVEL": "WARNING",
            "CHANNEL_LAYER_PREFIX": "parleybenchdata",
        }
    )
    if args.fresh_data or not database_exists(DATA_DATABASE):
        recreate_database(DATA_DATABASE)
    for attempt in range(2):
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=procs.ROOT,
            env=env,
            check=True,
            timeout=600,
        )
        log(
            "data: measuring history and unread counts on 1M messages "
            "(the first run generates them, ~1 min)"
        )
        done = subprocess.run(
            [sys.executable, "-m", "bench.data", "--iterations", str(args.iterations)],
            cwd=procs.ROOT,
            env=env,
            timeout=1800,
            capture_output=True,
            text=True,
        )
        if done.returncode == 3 and attempt == 0:
            recreate_database(DATA_DATABASE)
            continue
        if done.returncode != 0:
            (log_dir / "data.log").write_text(done.stderr)
            raise RuntimeError(f"bench.data failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout)
    raise RuntimeError("unreachable")


def machine() -> dict:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(
                (line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), ""
            )
    except OSError:
        pass
    mem = 0
    try:
        with open("/proc/meminfo") as f:
            mem = int(next(line for line in f if line.startswith("MemTotal")).split()[1]) * 1024
    except (OSError, StopIteration):
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_bytes": mem,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": os.getloadavg(),
    }


def settings_of(args) -> dict:
    """The run's settings as its results record them (JSON)."""
    return {k: v for k, v in vars(args).items() if k not in ("only", "shapes")} | {
        "only": args.only,
        "shapes": [s.key for s in stack_shapes(args)],
    }


def parley_checkout() -> dict:
    """Which Parley ran: the checkout (``BENCH_PARLEY_ROOT``), its commit and
    the ASGI server (``BENCH_PARLEY_SERVER``; unset is the Procfile's) and
    any setting given to its servers on purpose (``BENCH_PARLEY_ENV``)."""
    root = Path(os.environ.get("BENCH_PARLEY_ROOT") or procs.ROOT).resolve()

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        commit = changed = ""
    if commit and changed:
        # What ran is that commit and uncommitted changes on top of it.
        commit += "+changes"
    return {
        "root": str(root),
        "commit": commit,
        "server": os.environ.get("BENCH_PARLEY_SERVER") or "default (Procfile)",
        "settings": parley_env_overrides(),
    }


def raise_fd_limit(wanted: int) -> None:
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(wanted, hard), hard))


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["notify"]:
        # ``python -m bench notify``: what notifications cost (bench/notifycost.py).
        from bench import notifycost

        return notifycost.cli(argv[1:])
    if argv[:1] == ["files"]:
        # ``python -m bench files``: uploads and previews (bench/filescost.py).
        from bench import filescost

        return filescost.cli(argv[1:])
    if argv[:1] == ["search"]:
        # ``python -m bench search``: search latency (bench/searchcost.py).
        from bench import searchcost

        return searchcost.cli(argv[1:])
    if argv[:1] == ["markdown"]:
        # ``python -m bench markdown``: rendering at send (bench/markdowncost.py).
        from bench import markdowncost

        return markdowncost.cli(argv[1:])
    args = parse_args(argv)
    raise_fd_limit(4 * args.idle + 1000)
    run_id = dt.datetime.now().strftime("%Y%m%d%H%M%S")
    RESULTS.mkdir(exist_ok=True)
    log_dir = RESULTS / f"logs-{run_id}"
    log_dir.mkdir()
    started = time.monotonic()
    results = {
        "run_id": run_id,
        "command": "python -m bench " + " ".join(argv),
        "machine": machine(),
        "settings": settings_of(args),
        "parley": parley_checkout(),
        "stacks": {},
    }
    for name in ("limit", "peer", "parley"):
        if name in args.only:
            results["stacks"][name] = run_stack(name, args, run_id, log_dir)
    if "data" in args.only:
        try:
            results["data"] = run_data(args, log_dir)
        except Exception as exc:
            log(f"data: FAILED: {exc!r}")
            results["data"] = {"failed": repr(exc)}
    results["seconds"] = round(time.monotonic() - started, 1)
    out = Path(args.out) if args.out else RESULTS / f"{run_id}.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    print(report.table(results))
    print(f"\nresults: {out}  ({results['seconds']} s)")
    _flush_bench_redis()
    return 0


def _flush_bench_redis() -> None:
    """Drop what the run left in the bench's Redis database (DB 13 by default:
    rate-limit buckets, presence, queued tasks)."""
    try:
        import redis

        redis.Redis.from_url(BENCH_REDIS_URL).flushdb()
    except Exception as exc:  # noqa: BLE001 - best effort
        log(f"could not flush {BENCH_REDIS_URL}: {exc!r}")


if __name__ == "__main__":
    sys.exit(main())
