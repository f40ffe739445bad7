"""The benchmark harness counts what it should. No timing is asserted:
timing goals live in bench/ and docs/benchmarks.md."""

import asyncio
import os
import sys
from pathlib import Path

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
        + ["--shapes", "", "--stall-pct", "0"]
    )
    out = bench.run_stack("limit", args, f"idle0-{os.getpid()}", tmp_path)
    assert "failed" not in out, out.get("failed")
    assert "idle" not in out
    assert out["phases"] and out["phases"][0]["sent"] > 0

    table = report.table(
        {
            "run_id": "test",
            "machine": bench.machine(),
            "settings": bench.settings_of(args),
            "stacks": {"limit": out},
        }
    )
    assert "!!" not in table
    memory = next(line for line in table.splitlines() if line.startswith("memory per idle"))
    assert memory.split()[-1] == "—"


# --- Shapes, stalled readers, idle sockets, the report (issue 17) -----------------------


def test_shapes_parse_rooms_size_and_senders():
    from bench.stacks import Shape, parse_shape, parse_shapes

    assert parse_shape("20x10") == Shape(20, 10)
    assert parse_shape(" 1 × 500 / 5 ") == Shape(1, 500, 5)
    # Every member sending is the same shape as naming no senders.
    assert parse_shape("2x100/100") == Shape(2, 100)
    assert parse_shapes("2x100,1x500/5") == [Shape(2, 100), Shape(1, 500, 5)]
    assert parse_shapes("") == []
    assert Shape(1, 500, 5).label == "1×500, 5 senders"
    assert Shape(1, 500, 5).key == "1x500/5"
    assert Shape(2, 100).members == 200
    for bad in ("20", "x10", "0x10", "2x0", "1x500/0", "1x500/501", "1x500/"):
        with pytest.raises(ValueError):
            parse_shape(bad)


def test_bench_arguments_for_the_new_figures(capsys):
    from bench.__main__ import parse_args, stack_shapes
    from bench.stacks import Shape

    args = parse_args([])
    assert args.shapes == [Shape(2, 100), Shape(1, 500, 5)]
    assert stack_shapes(args) == [Shape(20, 10), Shape(2, 100), Shape(1, 500, 5)]
    assert args.idle == 5000 and args.idle_first == 1000
    assert args.idle_seconds >= 30  # at least one heartbeat of clients and servers
    assert args.stall_pct == 2.0 and args.stall_seconds > 0
    assert parse_args(["--full"]).idle_seconds > args.idle_seconds
    # The main shape given again among the others is run once.
    assert stack_shapes(parse_args(["--shapes", "20x10,1x50"])) == [Shape(20, 10), Shape(1, 50)]
    assert parse_args(["--shapes", ""]).shapes == []
    with pytest.raises(SystemExit):
        parse_args(["--shapes", "1x500/600"])
    assert "senders" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse_args(["--stall-pct", "-1"])


def test_idle_sockets_are_opened_by_people_in_small_rooms():
    from bench.__main__ import idle_shape, parse_args
    from bench.stacks import LimitStack, Shape

    args = parse_args([])
    # 5,000 sockets, at most 6 a person: 834 people, 200 in the main shape.
    assert idle_shape(args) == Shape(64, 10)
    assert idle_shape(parse_args(["--idle", "1000"])) is None
    stack = LimitStack(shapes=[Shape(2, 2), Shape(1, 5), Shape(1, 3)], log_dir=None, run_id="t")
    stack.ports = [1, 2]
    people = list(stack.shape_members(0)) + list(stack.shape_members(2))
    assert people == [0, 1, 2, 3, 9, 10, 11]
    rooms = [e.rooms[0] for e in stack.idle_endpoints(8, members=people)]
    assert rooms == ["t-r0", "t-r0", "t-r1", "t-r1", "t-r3", "t-r3", "t-r3", "t-r0"]


def test_setup_script_reads_the_same_shapes():
    from bench.parley_setup import shapes

    assert shapes("20x10,2x100,1x500/5") == [(20, 10), (2, 100), (1, 500)]


def test_stack_plans_each_shape_with_members_of_its_own(tmp_path):
    from bench.stacks import LimitStack, Shape

    stack = LimitStack(shapes=[Shape(2, 3), Shape(1, 4, 2)], log_dir=tmp_path, run_id="t")
    stack.ports = [1001, 1002]
    endpoints, rooms = stack.plan(0)
    assert [r.key for r in rooms] == ["t-r0", "t-r1"]
    assert [r.members for r in rooms] == [[0, 1, 2], [3, 4, 5]]
    assert all(r.senders is None for r in rooms)
    endpoints, rooms = stack.plan(1)
    assert [r.key for r in rooms] == ["t-r2"]  # room numbers go on over the shapes
    assert rooms[0].members == [0, 1, 2, 3] and rooms[0].senders == [0, 1]
    assert rooms[0].sending() == [0, 1]
    # Members alternate between the two processes, senders included.
    assert [e.url for e in endpoints] == [f"ws://127.0.0.1:{p}/" for p in (1001, 1002) * 2]
    # Idle sockets: every member of every shape, in its own room, then again.
    idle = stack.idle_endpoints(12)
    assert [e.rooms[0] for e in idle[:10]] == ["t-r0"] * 3 + ["t-r1"] * 3 + ["t-r2"] * 4
    assert [e.rooms[0] for e in idle[10:]] == ["t-r0", "t-r0"]
    assert idle == stack.idle_endpoints(5) + stack.idle_endpoints(7, start=5)
    ports = [e.url for e in idle]
    assert abs(ports.count("ws://127.0.0.1:1001/") - ports.count("ws://127.0.0.1:1002/")) <= 2


def test_pick_stalled_spreads_and_spares_the_only_senders():
    from bench.loadgen import pick_stalled

    assert pick_stalled(200, 0) == []
    chosen = pick_stalled(200, 2)
    assert len(chosen) == 4 and len(set(chosen)) == 4
    assert max(chosen) - min(chosen) >= 100  # spread over the range, not bunched
    assert pick_stalled(10, 1) != []  # at least one when asked for any
    assert 5 not in pick_stalled(10, 10, exclude={5})
    assert pick_stalled(3, 100, exclude={0, 1, 2}) == []


def test_split_keeps_senders():
    endpoints = [Endpoint(url=f"ws://x/{i}", rooms=[f"r{i // 4}"]) for i in range(8)]
    rooms = [Room("r0", [0, 1, 2, 3], [0, 1]), Room("r1", [4, 5, 6, 7])]
    (eps0, rms0), (eps1, rms1) = split(endpoints, rooms, 2)
    assert rms0[0].senders == [0, 1] and [eps0[i].url for i in rms0[0].senders] == [
        "ws://x/0",
        "ws://x/1",
    ]
    assert rms1[0].senders is None


def test_phase_results_merge_the_stalled_sockets():
    from bench.loadgen import PhaseResult

    a = PhaseResult(
        stalled=2, stalled_owed=10, stalled_received=4, stalled_outcomes={"4008": 1, "open": 1}
    )
    b = PhaseResult(stalled=1, stalled_owed=5, stalled_received=5, stalled_outcomes={"open": 1})
    merged = a.merge(b)
    assert merged.stalled == 3 and merged.stalled_owed == 15 and merged.stalled_received == 9
    assert merged.summary()["stalled"] == {
        "sockets": 3,
        "owed": 15,
        "received_after": 9,
        "outcomes": {"4008": 1, "open": 2},
    }
    assert PhaseResult().summary()["stalled"] is None


def _results(parley_idle=20 * 1024, parley_cpu=0.2, parley_p99=15.0):
    """A run's results as bench/__main__.py writes them, with made-up figures."""

    def phase(rate, p99, cpu):
        return {
            "offered_deliveries_per_s": rate,
            "latency_ms": {"p50": p99 / 2, "p95": p99, "p99": p99},
            "loss_pct": 0.0,
            "lost": 0,
            "cpu_s_per_1k_deliveries": cpu,
            "services_cpu_s_per_1k_deliveries": 0.01,
            "ack_latency_ms": {"p99": 5.0},
            "machine": {"busy_cores": rate / 4000, "steal_cores": 0.0},
        }

    def stack(held, cpu, p99, idle, stall):
        return {
            "held_delivered_per_s": held,
            "held_phase": phase(held, p99, cpu),
            "phases": [phase(1000.0, p99, cpu), phase(2000.0, p99, cpu)],
            "shapes": {
                "2x100": {
                    "label": "2×100",
                    "held_delivered_per_s": held * 2,
                    "phases": [phase(2000.0, p99 * 2, cpu)],
                },
            },
            "stall": {
                **phase(2000.0, p99 * 3, cpu),
                "stalled": stall,
                "rss_growth_peak_bytes": 2**20,
            },
            "idle": {
                "sockets": 5000,
                "first": 1000,
                "bytes_per_socket": idle,
                "bytes_per_socket_first": idle,
                "cpu_s_per_minute": 1.5,
                "pings": 100,
                "pongs": 100,
            },
        }

    return {
        "run_id": "r",
        "machine": {"cpus": 2, "cpu": "x", "python": "3.11"},
        "parley": {"root": "/x", "commit": "abc", "server": "uvicorn"},
        "settings": {
            "rooms": 20,
            "size": 10,
            "duration": 3.0,
            "workers": 1,
            "p99_ms": 100.0,
            "fixed_rates": [1000.0, 2000.0],
            "shapes": ["20x10", "2x100"],
            "stall_pct": 2.0,
        },
        "stacks": {
            "limit": stack(
                50000.0,
                0.08,
                2.0,
                10 * 1024,
                {"sockets": 4, "owed": 100, "received_after": 100, "outcomes": {"open": 4}},
            ),
            "peer": stack(
                3000.0,
                0.5,
                6.0,
                27 * 1024,
                {"sockets": 4, "owed": 100, "received_after": 21, "outcomes": {"open": 4}},
            ),
            "parley": stack(
                7000.0,
                parley_cpu,
                parley_p99,
                parley_idle,
                {"sockets": 4, "owed": 100, "received_after": 0, "outcomes": {"4008": 4}},
            ),
        },
    }


def test_stall_outcome_in_words():
    from bench.report import stall_outcome

    assert stall_outcome(None) is None
    assert stall_outcome({"stalled": None}) is None
    info = {
        "sockets": 4,
        "owed": 200,
        "received_after": 50,
        "outcomes": {"open": 1, "4008": 2, "1006": 1},
    }
    assert (
        stall_outcome({"stalled": info})
        == "1 closed 1006, 2 closed 4008, 1 open, 25 % delivered late"
    )
    info = {"sockets": 4, "owed": 200, "received_after": 0, "outcomes": {"4008": 4}}
    assert stall_outcome({"stalled": info}) == "4 closed 4008"


def test_report_shows_the_flood_and_the_storm():
    from bench import report

    results = _results()
    results["stacks"]["parley"]["flood"] = {
        "rate": 1000.0,
        "p99_quiet_ms": 12.0,
        "p99_flooded_ms": 18.0,
        "p99_ratio": 1.5,
        "flooder": {"sockets_accepted": 9, "refusals": {"4429": 41}},
    }
    results["stacks"]["parley"].setdefault("idle", {})["storm"] = {
        "sockets": 1000,
        "seconds_to_half": 7.9,
        "seconds_to_all": 12.9,
        "retries": 0,
        "failed": 0,
    }
    rows = {label.strip(): values for label, values, _ in report.rows(results)}
    flood = "one person floods, 20×10 at 1,000/s: others' p99 ms quiet → flooded"
    assert rows[flood]["parley"] == "12.0 → 18.0"
    assert rows["flooded ÷ quiet p99 (goal ≤ 2)"]["parley"] == 1.5
    assert rows["the flooder's 50 sockets: accepted / refused"]["parley"] == "9 / 41"
    storm = "reconnect storm: s until all 1,000 dropped are back (and resumed)"
    assert rows[storm]["parley"] == 12.9 and rows[storm]["peer"] is None
    assert rows["tries again after a refusal / never back"]["parley"] == "0 / 0"


def test_report_rows_ratios_and_goals():
    from bench import report

    results = _results()
    rows = {label.strip(): values for label, values, _ in report.rows(results)}
    assert rows["held deliveries/s (p99 ≤ 100 ms, 0 loss) 20×10"]["parley"] == 7000.0
    assert rows["held deliveries/s, 2×100"]["peer"] == 6000.0
    assert rows["p99 ms @ 2,000/s, 2×100"]["limit"] == 4.0
    assert rows["stalled sockets"]["parley"] == "4 closed 4008"
    assert rows["stalled sockets"]["peer"] == "4 open, 21 % delivered late"
    assert rows["memory per idle socket, KiB (1,000 sockets)"]["limit"] == 10.0
    assert rows["memory per idle socket, KiB (5,000 sockets)"]["parley"] == 20.0
    assert rows["server CPU-s per minute, 5,000 idle sockets"]["peer"] == 1.5
    assert rows["machine cores busy @ 1,000/s, all counted"]["peer"] == 0.25
    assert rows["machine cores busy at the held rate (of 2)"]["parley"] == 1.75
    assert report.number_ratio("4 closed 4008", "4 open") is None
    assert report.number_ratio(3.0, 1.5) == 2.0

    md = report.markdown(results).splitlines()
    assert md[0] == "| figure | limit | peer | parley | parley/peer | parley/limit |"
    held = next(line for line in md if line.startswith("| held deliveries/s (p99"))
    assert held.endswith("| 2.33× | 0.14× |")
    stalled = next(line for line in md if line.startswith("| stalled sockets"))
    assert stalled.endswith("| 4 closed 4008 | — | — |")

    goals = "\n".join(report.goals(results))
    assert "≥ 2× peer: 2.33× MET" in goals
    assert "≥ 0.5× limit: 0.14× NOT MET" in goals
    assert "≤ 0.5× peer: 0.40× MET" in goals
    assert "(5,000 sockets): 2.00× MET" in goals
    assert "≤ 20 ms: 15 ms MET" in goals
    goals = "\n".join(
        report.goals(_results(parley_idle=30 * 1024, parley_cpu=0.3, parley_p99=25.0))
    )
    assert "≤ 0.5× peer: 0.60× NOT MET" in goals
    assert "(1,000 sockets): 3.00× NOT MET" in goals
    assert "≤ 20 ms: 25 ms NOT MET" in goals
    assert "!!" not in report.table(results)


def test_servers_table_has_a_row_per_run():
    from bench import report

    a, b = _results(), _results(parley_p99=30.0)
    b["parley"]["server"], b["run_id"] = "granian", "r2"
    lines = report.servers_markdown([a, b]).splitlines()
    assert len(lines) == 4
    assert lines[2].startswith("| uvicorn (r) | 7,000 | 15.0 | 0.2 | 5,000 | 20.0 | 0.3 | 2.33× |")
    assert lines[3].startswith("| granian (r2) | 7,000 | 30.0 |")


@pytest.mark.services
def test_stalled_readers_and_senders_against_the_limit_baseline(tmp_path):
    """Two ``limit`` servers, one room of 10 of whom 2 send; 20 % of the
    sockets stall for the phase. The others get everything; the stalled
    ones are not counted as loss, and once they read again ``limit`` (which
    buffers without bound) hands them all they were owed, still open. Idle
    sockets' heartbeats are answered."""
    from django.conf import settings

    env = {**os.environ, "PYTHONPATH": str(procs.ROOT)}
    prefix = f"benchstall{os.getpid()}"
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
        endpoints = [
            Endpoint(url=f"ws://127.0.0.1:{servers[j % 2].port}/", rooms=["room"])
            for j in range(10)
        ]
        rooms = [Room("room", list(range(10)), senders=[0, 1])]

        async def run():
            gen = LoadGen(endpoints, rooms, RelayProtocol(), stall_pct=20)
            await gen.connect()
            try:
                plain = await gen.run_phase(send_rate=10, duration=1.0, warmup=0.2)
                stalled = await gen.run_phase(
                    send_rate=10, duration=1.0, warmup=0.2, stall=True, pad=2000
                )
                gen.proto.heartbeat_seconds = 0.2
                gen.start_heartbeat()
                for _ in range(200):
                    if gen.pongs >= 20:
                        break
                    await asyncio.sleep(0.05)
                return plain, stalled, gen.pings, gen.pongs, gen.stall_candidates
            finally:
                await gen.close()

        plain, stalled, pings, pongs, candidates = asyncio.run(run())
        assert len(candidates) == 2 and not candidates & {0, 1}
        summary = plain.summary()
        assert summary["sent"] == 10 and summary["delivered"] == 10 * 10
        assert summary["stalled"] is None
        summary = stalled.summary()
        assert summary["sent"] == 10
        assert summary["expected"] == summary["delivered"] == 10 * 8, [s.tail() for s in servers]
        assert summary["lost"] == 0
        assert summary["stalled"] == {
            "sockets": 2,
            "owed": 10 * 2,
            "received_after": 10 * 2,
            "outcomes": {"open": 2},
        }
        assert pongs >= 20 and pings >= pongs
    finally:
        for server in servers:
            server.stop()


@pytest.mark.services
def test_idle_sockets_on_fresh_servers_counted_at_both_counts(tmp_path, monkeypatch):
    """``--idle 20 --idle-first 8`` on ``limit``: memory per socket at 8 and
    at 20 sockets, the servers' CPU over the window per minute, then all 20
    dropped at once and back (the reconnect storm), every socket open at the
    end; the report shows both memory rows and the storm."""
    from django.conf import settings

    from bench import __main__ as bench
    from bench import report, stacks

    monkeypatch.setattr(stacks, "BENCH_REDIS_URL", settings.REDIS_URL)
    args = bench.parse_args(
        ["--only", "limit", "--idle", "20", "--idle-first", "8", "--idle-seconds", "1"]
        + ["--rates", "40", "--fixed-rates", "40", "--duration", "1", "--profile", "0"]
        + ["--rooms", "2", "--size", "2", "--shapes", "", "--stall-pct", "0"]
    )
    out = bench.run_stack("limit", args, f"idle-{os.getpid()}", tmp_path)
    assert "failed" not in out, out.get("failed")
    idle = out["idle"]
    assert set(idle["bytes_per_socket_by_count"]) == {"8", "20"}
    assert idle["bytes_per_socket"] == idle["bytes_per_socket_by_count"]["20"]
    assert idle["bytes_per_socket_first"] == idle["bytes_per_socket_by_count"]["8"]
    assert idle["open_at_end"] == 20 and idle["closed_by_server"] == {}
    assert idle["cpu_s_per_minute"] >= 0 and idle["pongs"] <= idle["pings"]
    # The storm at the end dropped all 20 and brought every one back.
    storm = idle["storm"]
    assert (storm["sockets"], storm["back"], storm["failed"]) == (20, 20, 0), storm
    assert storm["attempts"] == 20 + storm["retries"] and storm["resumed"] is False
    table = report.table(
        {
            "run_id": "test",
            "machine": bench.machine(),
            "settings": bench.settings_of(args),
            "stacks": {"limit": out},
        }
    )
    assert "memory per idle socket, KiB (8 sockets)" in table
    assert "memory per idle socket, KiB (20 sockets)" in table
    assert "server CPU-s per minute, 20 idle sockets" in table
    assert "reconnect storm: s until all 20 dropped are back (and resumed)" in table


def test_migrated_template_name_follows_the_migrations(tmp_path):
    from bench.stacks import TEMPLATE_PREFIX, migrated_template

    (tmp_path / "app" / "migrations").mkdir(parents=True)
    first = tmp_path / "app" / "migrations" / "0001_initial.py"
    first.write_text("operations = []\n")
    name = migrated_template(tmp_path)
    assert name.startswith(TEMPLATE_PREFIX) and len(name) <= 63  # PostgreSQL's limit
    assert migrated_template(tmp_path) == name
    first.write_text("operations = ['changed']\n")
    assert migrated_template(tmp_path) != name
    changed = migrated_template(tmp_path)
    (tmp_path / "app" / "migrations" / "0002_more.py").write_text("operations = []\n")
    assert migrated_template(tmp_path) not in (name, changed)


def test_the_inbox_goal_is_judged_as_a_server_runs_it():
    """Servers freeze what they loaded at start (config/asgi.py): the goal
    reads that figure, named as such, and the process's own without it."""
    from bench import report

    inbox = {"conversations": 200, "p50_ms": 12.0, "p99_ms": 93.8}
    frozen = {"p50_ms": 10.8, "p99_ms": 14.6}
    both = report.goals(
        {
            "stacks": {},
            "settings": {"fixed_rates": []},
            "data": {"inbox": inbox, "inbox_gc_frozen": frozen},
        }
    )
    assert [g for g in both if "inbox" in g] == [
        "  inbox p99 ≤ 25 ms at 200 conversations (as a server runs it): 14.6 ms MET"
    ]
    alone = report.goals({"stacks": {}, "settings": {"fixed_rates": []}, "data": {"inbox": inbox}})
    assert [g for g in alone if "inbox" in g] == [
        "  inbox p99 ≤ 25 ms at 200 conversations: 93.8 ms NOT MET"
    ]


def test_parley_servers_get_only_the_stack_settings_and_the_chosen_ones(monkeypatch):
    """A developer's DATABASE_POOL=false (or any of Parley's settings) in the
    shell running the bench does not reach the measured servers; a setting
    named in BENCH_PARLEY_ENV does, and is recorded with the run."""
    from bench import __main__ as bench_main
    from bench.stacks import ParleyStack

    monkeypatch.setenv("DATABASE_POOL", "false")
    monkeypatch.setenv("PARLEY_LIVE_ORDER_HOLD_MS", "9")
    monkeypatch.setenv("DEBUG", "true")
    monkeypatch.setenv("BENCH_PARLEY_ENV", "PARLEY_LIVE_ORDER_HOLD_MS=500 DATABASE_POOL_MAX=8")
    env = ParleyStack(shapes=[], log_dir=Path("."), run_id="t").env()
    assert "DATABASE_POOL" not in env and "DEBUG" not in env
    assert env["PARLEY_LIVE_ORDER_HOLD_MS"] == "500" and env["DATABASE_POOL_MAX"] == "8"
    assert env["PARLEY_PROFILE"] == "production" and env["PATH"] == os.environ["PATH"]
    assert bench_main.parley_checkout()["settings"] == {
        "PARLEY_LIVE_ORDER_HOLD_MS": "500",
        "DATABASE_POOL_MAX": "8",
    }
    monkeypatch.setenv("BENCH_PARLEY_ENV", "PARLEY_LIVE_ORDER_HOLD_MS")
    with pytest.raises(SystemExit, match="NAME=value"):
        ParleyStack(shapes=[], log_dir=Path("."), run_id="t").env()


def test_a_run_of_uncommitted_changes_says_so(tmp_path, monkeypatch):
    """The run records the checkout's commit, marked when the working tree
    differs from it: what ran was not that commit alone."""
    import subprocess

    from bench import __main__ as bench_main

    def git(*args):
        subprocess.run(["git", "-C", str(tmp_path), *args], check=True, capture_output=True)

    git("init", "-q")
    (tmp_path / "app.py").write_text("A = 1\n")
    git("add", "app.py")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "one")
    monkeypatch.setenv("BENCH_PARLEY_ROOT", str(tmp_path))
    clean = bench_main.parley_checkout()["commit"]
    assert clean and not clean.endswith("+changes")
    (tmp_path / "app.py").write_text("A = 2\n")
    assert bench_main.parley_checkout()["commit"] == f"{clean}+changes"


def test_machine_cpu_counts_the_kernel_and_the_host_apart(monkeypatch):
    monkeypatch.setattr(procs, "CLOCK_TICKS", 100)
    monkeypatch.setattr(procs.os, "cpu_count", lambda: 2)
    # user nice system idle iowait irq softirq steal guest guest_nice
    before = procs.machine_cpu("cpu  1000 0 500 3000 100 0 400 0 0 0\n")
    assert before == {"busy": 19.0, "idle": 31.0, "steal": 0.0}
    # Over 10 s of two cores (2,000 ticks): 1,400 busy (200 of them the
    # kernel's softirq), 400 idle, 200 stolen.
    after = procs.machine_cpu("cpu  1800 100 800 3300 200 0 600 200 0 0\n")
    assert procs.machine_cores_used(before, after) == {"busy_cores": 1.4, "steal_cores": 0.2}
    assert procs.machine_cores_used(after, after) == {"busy_cores": 0.0, "steal_cores": 0.0}


def test_machine_cpu_reads_this_machine():
    reading = procs.machine_cpu()
    assert set(reading) == {"busy", "idle", "steal"}
    assert reading["busy"] > 0 and reading["idle"] >= 0
