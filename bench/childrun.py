"""The outer half of a bench scenario that measures in a child process on a
database of its own (``notify``, ``files``): a fresh database, migrated; the
child run on the bench PostgreSQL and Redis in the embedded profile; its
JSON figures written under ``bench/results/`` and printed as a table."""

import datetime as dt
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(
    *,
    scenario: str,
    database: str,
    child_args: list[str],
    argv: list[str],
    table: Callable[[dict], str],
    out: str | None = None,
    drop_env: Iterable[str] = (),
    extra_results: dict | None = None,
) -> int:
    """Run ``python -m bench.<scenario>cost`` with ``child_args`` (plus
    ``--log-dir``) against a recreated ``database``; ``drop_env``: variables
    of this process the child must not inherit. Returns the exit status."""
    from bench import procs
    from bench.__main__ import RESULTS, machine
    from bench.stacks import BENCH_PG, BENCH_REDIS_URL, recreate_database

    run_id = dt.datetime.now().strftime("%Y%m%d%H%M%S")
    RESULTS.mkdir(exist_ok=True)
    log_dir = RESULTS / f"logs-{scenario}-{run_id}"
    log_dir.mkdir()
    dropped = {"DJANGO_SETTINGS_MODULE", "PARLEY_PROFILE", "DEBUG", *drop_env}
    env = {k: v for k, v in os.environ.items() if k not in dropped}
    env.update(
        {
            # The embedded profile (DEBUG on: plain-http push endpoints on the
            # loopback interface are allowed) on the bench PostgreSQL and
            # Redis; Redis makes the Celery broker Redis, as in production.
            "PARLEY_PROFILE": "embedded",
            "DEBUG": "true",
            "DATABASE_URL": f"{BENCH_PG}/{database}",
            "DATABASE_POOL": "false",
            "REDIS_URL": BENCH_REDIS_URL,
            "PYTHONPATH": str(procs.ROOT),
            "LOG_LEVEL": "WARNING",
            "CHANNEL_LAYER_PREFIX": f"parleybench{scenario}",
            "CACHE_KEY_PREFIX": f"parleybench{scenario}",
        }
    )
    started = time.monotonic()
    machine_note = machine()
    recreate_database(database)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=procs.ROOT,
        env=env,
        check=True,
        timeout=600,
    )
    done = subprocess.run(
        [sys.executable, "-m", f"bench.{scenario}cost", *child_args, "--log-dir", str(log_dir)],
        cwd=procs.ROOT,
        env=env,
        timeout=3600,
        stdout=subprocess.PIPE,
        text=True,
    )
    if done.returncode != 0:
        log(f"{scenario}: FAILED (exit {done.returncode}); logs in {log_dir}")
        return 1
    results = json.loads(done.stdout)
    results.update(
        {
            "run_id": run_id,
            "command": f"python -m bench {scenario} " + " ".join(argv),
            **(extra_results or {}),
            "machine": machine_note,
            "seconds": round(time.monotonic() - started, 1),
        }
    )
    path = Path(out) if out else RESULTS / f"{scenario}-{run_id}.json"
    path.write_text(json.dumps(results, indent=2, default=str))
    print(table(results))
    print(f"\nresults: {path}  ({results['seconds']} s)")
    try:
        import redis

        redis.Redis.from_url(BENCH_REDIS_URL).flushdb()
    except Exception as exc:  # noqa: BLE001 - best effort
        log(f"could not flush {BENCH_REDIS_URL}: {exc!r}")
    return 0
