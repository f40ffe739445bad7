"""The benchmark harness counts what it should. No timing is asserted:
timing goals live in bench/ and docs/benchmarks.md."""

import asyncio
import os
import sys

import pytest

from bench import procs, stats
from bench.loadgen import Endpoint, LoadGen, RelayProtocol, Room, held, split


def test_percentile_nearest_rank_on_known_data():
    data = list(range(1, 101))  # 1..100
    assert stats.percentile(data, 50) == 50
    assert stats.percentile(data, 95) == 95
    assert stats.percentile(data, 99) == 99
    assert stats.percentile(data, 100) == 100
    assert stats.percentile(data, 0) == 1
    assert stats.percentile([7.0], 99) == 7.0
    assert stats.percentile([], 50) is None
    # Order does not matter, and the answer is always one of the samples.
    assert stats.percentile([5, 1, 4, 2, 3], 50) == 3
    assert stats.percentile([10, 20, 30, 40], 75) == 30
    with pytest.raises(ValueError):
        stats.percentile(data, 101)


def test_summarize_and_ratio():
    summary = stats.summarize([0.004, 0.001, 0.003, 0.002] * 25)
    assert summary["count"] == 100
    assert summary["p50"] == 0.002
    assert summary["p95"] == 0.004
    assert summary["p99"] == 0.004
    assert summary["max"] == 0.004
    assert summary["mean"] == pytest.approx(0.0025)
    assert stats.summarize([])["p99"] is None
    assert stats.ratio(3.0, 1.5) == 2.0
    assert stats.ratio(1.0, 0) is None
    assert stats.ratio(None, 2.0) is None


def test_split_keeps_rooms_whole():
    endpoints = [Endpoint(url=f"ws://x/{i}", rooms=[f"r{i // 3}"]) for i in range(12)]
    rooms = [Room(f"r{k}", [3 * k, 3 * k + 1, 3 * k + 2]) for k in range(4)]
    shares = split(endpoints, rooms, 2)
    assert [len(r) for _, r in shares] == [2, 2]
    for eps, rms in shares:
        assert len(eps) == 6
        for room in rms:
            assert all(eps[m].rooms == [room.key] for m in room.members)


def test_held_needs_zero_loss_and_p99_within_bound():
    ok = {"sent": 10, "lost": 0, "errors": 0, "send_failures": 0, "latency_ms": {"p99": 99.0}}
    assert held(ok)
    assert not held({**ok, "lost": 1})
    assert not held({**ok, "errors": 1})
    assert not held({**ok, "latency_ms": {"p99": 100.5}})
    assert not held({**ok, "sent": 0})


@pytest.mark.services
def test_loadgen_counts_every_delivery_against_the_limit_baseline(tmp_path):
    """Two ``limit`` servers, 4 rooms of 4 members alternating between them,
    ~2 s at a low rate: every message reaches every member, nothing lost."""
    from django.conf import settings

    env = {**os.environ, "PYTHONPATH": str(procs.ROOT)}
    prefix = f"benchtest{os.getpid()}"
    servers = []
    try:
        for _ in range(2):
            port = procs.free_port()
            servers.append(
                procs.Server(
                    procs.limit_argv(port, settings.REDIS_URL, prefix),
                    env=env,
                    port=port,
                    log_dir=tmp_path,
                    name="limit",
                )
            )
        for server in servers:
            server.wait_listening()
        endpoints, rooms = [], []
        for k in range(4):
            members = []
            for j in range(4):
                members.append(len(endpoints))
                endpoints.append(
                    Endpoint(url=f"ws://127.0.0.1:{servers[j % 2].port}/", rooms=[f"room{k}"])
                )
            rooms.append(Room(f"room{k}", members))

        async def run():
            gen = LoadGen(endpoints, rooms, RelayProtocol())
            await gen.connect()
            try:
                return await gen.run_phase(send_rate=20, duration=2.0, warmup=0.5)
            finally:
                await gen.close()

        result = asyncio.run(run())
        summary = result.summary()
        assert summary["sent"] == 40
        assert summary["expected"] == 40 * 4
        assert summary["delivered"] == 40 * 4, [s.tail() for s in servers]
        assert summary["lost"] == 0
        assert summary["loss_pct"] == 0
        assert summary["duplicates"] == 0
        assert summary["errors"] == 0
        # Every delivery due after the warm-up has a latency sample.
        assert summary["latency_ms"]["count"] == result.measured_delivered > 0
        assert summary["latency_ms"]["p50"] is not None
    finally:
        for server in servers:
            server.stop()


def test_bench_help_lists_the_options():
    import subprocess

    out = subprocess.run(
        [sys.executable, "-m", "bench", "--help"],
        cwd=procs.ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0
    for option in ("--duration", "--rates", "--full", "--only"):
        assert option in out.stdout


def test_idle_must_not_be_negative(capsys):
    from bench.__main__ import parse_args

    assert parse_args(["--idle", "0"]).idle == 0
    with pytest.raises(SystemExit):
        parse_args(["--idle", "-1"])
    assert "negative" in capsys.readouterr().err


@pytest.mark.services
def test_idle_zero_skips_the_memory_figure_and_the_stack_still_reports(tmp_path, monkeypatch):
    """``--idle 0`` (no idle sockets): the stack's delivery figures are
    reported, the memory figure shows as not measured, nothing fails."""
    from django.conf import settings

    from bench import __main__ as bench
    from bench import report, stacks

    monkeypatch.setattr(stacks, "BENCH_REDIS_URL", settings.REDIS_URL)
    args = bench.parse_args(
        ["--only", "limit", "--idle", "0", "--rates", "40", "--fixed-rates", "40"]
        + ["--duration", "1", "--profile", "0", "--rooms", "2", "--size", "2"]
    )
    out = bench.run_stack("limit", args, f"idle0-{os.getpid()}", tmp_path)
    assert "failed" not in out, out.get("failed")
    assert "idle" not in out
    assert out["phases"] and out["phases"][0]["sent"] > 0

    table = report.table(
        {
            "run_id": "test",
            "machine": bench.machine(),
            "settings": {k: v for k, v in vars(args).items() if k != "only"},
            "stacks": {"limit": out},
        }
    )
    assert "!!" not in table
    memory = next(line for line in table.splitlines() if line.startswith("memory per idle"))
    assert memory.split()[-1] == "—"
