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

from bench import procs, report
from bench.loadgen import PROTOCOLS, LoadGen, WorkerPool, held
from bench.stacks import BENCH_PG, BENCH_REDIS_URL, STACKS, database_exists, recreate_database

RESULTS = Path(__file__).resolve().parent / "results"
DATA_DATABASE = "parley_bench_data"


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


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
    parser.add_argument("--rooms", type=int, default=20, help="conversations (default 20)")
    parser.add_argument("--size", type=int, default=10, help="members each (default 10)")
    parser.add_argument(
        "--idle",
        type=non_negative_int,
        default=1000,
        help="idle sockets for the memory figure (default 1000; 0 skips it)",
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
    args.fixed_rates = sorted(float(r) for r in args.fixed_rates.split(",") if r)
    args.bisect = 3 if args.full else 2
    if args.profile is None:
        args.profile = 20.0 if args.full else 8.0
    args.iterations = 1000 if args.full else 200
    return args


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- One delivery phase, with what the servers spent ----------------------------------


def run_phase(pool, stack, rate: float, args, duration: float | None = None) -> dict:
    cpu0, svc0 = procs.total_cpu(stack.pids), procs.cpu_by_pid(procs.service_pids())
    raw = pool.run_phase(
        send_rate=rate / args.size,
        duration=duration or args.duration,
        warmup=min(1.0, args.duration / 4),
    )
    cpu1 = procs.total_cpu(stack.pids)
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
    out["held"] = held(out, p99_ms=args.p99_ms)
    lat = out["latency_ms"]
    log(
        f"{stack.name:6} {rate:>8.0f}/s  delivered {out['delivered_per_s']}/s  "
        f"p50 {lat['p50']} p95 {lat['p95']} p99 {lat['p99']} ms  loss {out['loss_pct']}%  "
        f"errors {out['errors']}  cpu {out['server_cpu_s']}s  "
        f"{'held' if out['held'] else 'BROKE'}"
    )
    if out["error_samples"]:
        log(f"       first errors: {out['error_samples'][:2]}")
    return out


def step(pool, stack, args) -> dict:
    """Raise the rate until p99 > bound or anything is lost; then bisect.

    A step that breaks is tried once more (the machine is shared; one noisy
    second should not decide it). The held rate is the highest one holding
    with every lower step holding too. Fixed rates always run.
    """
    phases: list[dict] = []

    def attempt(rate):
        result = run_phase(pool, stack, rate, args)
        phases.append(result)
        if not result["held"]:
            again = run_phase(pool, stack, rate, args)
            phases.append(again)
            if again["held"]:
                return again
        return result

    best, broke_at = None, None
    for rate in args.rates:
        if broke_at is not None and rate > max(args.fixed_rates, default=0):
            break
        result = attempt(rate)
        if result["held"] and broke_at is None:
            best = result
        elif not result["held"] and broke_at is None:
            broke_at = rate
    if broke_at is not None:
        low = best["offered_deliveries_per_s"] if best else 0.0
        high = broke_at
        for _ in range(args.bisect):
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
    spy = profile.record(stack.pids[0], args.profile, raw_path)
    if spy is None:
        return {"skipped": "py-spy is not installed (.venv/bin/pip install py-spy)"}
    log(
        f"{stack.name}: profiling server pid {stack.pids[0]} for {args.profile:g} s "
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


# --- Memory per idle socket -------------------------------------------------------------


def idle_memory(stack, count: int) -> dict | None:
    """RSS of the stack's servers before and after ``count`` idle sockets
    connect, per socket; None for no sockets (``--idle 0``): nothing to
    divide by, and the report shows the figure as not measured."""
    if count <= 0:
        return None
    endpoints = stack.idle_endpoints(count)

    async def main():
        gen = LoadGen(
            endpoints, [], PROTOCOLS[stack.protocol](), connect_concurrency=20, connect_timeout=60
        )
        await asyncio.sleep(1.0)
        before = sum(procs.rss_bytes(p) for p in stack.pids)
        try:
            await gen.connect()
            await asyncio.sleep(3.0)  # let the servers settle (heartbeats, presence)
            after = sum(procs.rss_bytes(p) for p in stack.pids)
        finally:
            await gen.close()
        return before, after

    before, after = asyncio.run(main())
    per = (after - before) / count
    log(
        f"{stack.name:6} idle: {count} sockets, RSS {before / 2**20:.1f} → "
        f"{after / 2**20:.1f} MiB, {per / 1024:.1f} KiB per socket"
    )
    return {
        "sockets": count,
        "rss_before": before,
        "rss_after": after,
        "bytes_per_socket": round(per),
    }


# --- Stacks -----------------------------------------------------------------------------


def run_stack(name: str, args, run_id: str, log_dir: Path) -> dict:
    stack = STACKS[name](rooms=args.rooms, size=args.size, log_dir=log_dir, run_id=run_id)
    log(f"{name}: starting two server processes ({stack.description})")
    out: dict = {"description": stack.description}
    try:
        stack.start()
        endpoints, rooms = stack.plan()
        pool = WorkerPool(endpoints, rooms, stack.protocol, args.workers)
        try:
            pool.connect()
            log(f"{name}: {len(endpoints)} sockets connected in {len(rooms)} rooms")
            out.update(step(pool, stack, args))
            if name == "parley" and args.profile > 0:
                out["profile"] = profile_under_load(pool, stack, out, args, log_dir)
        finally:
            pool.close()
        idle = idle_memory(stack, args.idle)
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
            # A measuring script, not a server: the embedded profile (DEBUG on,
            # no secrets needed) pointed at the bench PostgreSQL and Redis.
            "PARLEY_PROFILE": "embedded",
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
        "settings": {k: v for k, v in vars(args).items() if k != "only"} | {"only": args.only},
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
