"""The results table: Parley beside the baselines, as ratios from one run.

``python -m bench.report RESULTS.json`` prints a run's table again;
``--markdown`` prints it as the Markdown table docs/benchmarks.md carries;
``--servers A.json B.json …`` compares Parley across runs (one per ASGI
server) in one Markdown table.
"""

import argparse
import json
import sys
from pathlib import Path

from bench.stats import ratio

STACK_ORDER = ("limit", "peer", "parley")


def _fmt(value, digits=1, unit=""):
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if abs(value) >= 100:
        return f"{value:,.0f}{unit}"
    if abs(value) >= 10 or value == 0:
        return f"{value:.{digits}f}{unit}"
    return f"{value:.3g}{unit}"


def _x(value):
    return "—" if value is None else f"{value:.2f}×"


def number_ratio(a, b) -> float | None:
    """``a / b`` for two numbers; None when either is missing or not a
    number (an outcome written in words has no ratio)."""
    if not isinstance(a, int | float) or not isinstance(b, int | float):
        return None
    return ratio(a, b)


def _phase(stack: dict | None, rate: float) -> dict | None:
    if not stack:
        return None
    found = [p for p in stack.get("phases", []) if p["offered_deliveries_per_s"] == rate]
    return found[-1] if found else None


def _get(stack, *path):
    value = stack
    for key in path:
        if value is None:
            return None
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _kib(value):
    return None if value is None else value / 1024


def _mib(value):
    return None if value is None else value / 2**20


def stall_outcome(stall: dict | None) -> str | None:
    """How the stalled sockets ended, in words: ``"4 closed 4008"``,
    ``"4 open, 100 % delivered late"``, ``"3 closed 1006, 1 open"``."""
    info = _get(stall, "stalled")
    if not info or not info.get("sockets"):
        return None
    parts = []
    outcomes = info.get("outcomes") or {}
    for outcome, count in sorted(outcomes.items(), key=lambda item: (item[0] == "open", item[0])):
        parts.append(f"{count} open" if outcome == "open" else f"{count} closed {outcome}")
    text = ", ".join(parts)
    if outcomes.get("open") and info.get("owed"):
        text += f", {100 * info['received_after'] / info['owed']:.0f} % delivered late"
    return text


def idle_count(results: dict, key: str) -> int | None:
    """The socket count of the idle figures (``first`` or ``sockets``), as
    any stack measured it."""
    for stack in results["stacks"].values():
        value = _get(stack, "idle", key)
        if value:
            return value
    return None


def _shape_label(key: str) -> str:
    from bench.stacks import parse_shape

    try:
        return parse_shape(key).label
    except ValueError:
        return key


def rows(results: dict) -> list[tuple[str, dict, bool | None]]:
    """(label, {stack: value}, lower_is_better) for every delivery figure;
    None for a figure that is a condition of the step, not a result (no
    ratio)."""
    stacks = results["stacks"]
    settings = results["settings"]
    fixed = settings["fixed_rates"]
    shapes = settings.get("shapes") or []
    main = shapes[0].replace("x", "×") if shapes else ""
    out = []
    out.append(
        (
            "held deliveries/s (p99 ≤ {:g} ms, 0 loss) {}".format(settings["p99_ms"], main),
            {n: s.get("held_delivered_per_s") for n, s in stacks.items()},
            False,
        )
    )
    for rate in fixed:
        for q in ("p50", "p95", "p99"):
            out.append(
                (
                    f"{q} latency ms @ {rate:,.0f}/s",
                    {n: _get(_phase(s, rate), "latency_ms", q) for n, s in stacks.items()},
                    True,
                )
            )
        out.append(
            (
                f"loss % @ {rate:,.0f}/s",
                {n: _get(_phase(s, rate), "loss_pct") for n, s in stacks.items()},
                True,
            )
        )
    base = fixed[0] if fixed else None
    if base is not None:
        out.append(
            (
                f"server CPU-s per 1000 deliveries @ {base:,.0f}/s",
                {n: _get(_phase(s, base), "cpu_s_per_1k_deliveries") for n, s in stacks.items()},
                True,
            )
        )
        out.append(
            (
                f"  + Redis & PostgreSQL CPU-s per 1000 @ {base:,.0f}/s",
                {
                    n: _get(_phase(s, base), "services_cpu_s_per_1k_deliveries")
                    for n, s in stacks.items()
                },
                True,
            )
        )
        out.append(
            (
                f"  machine cores busy @ {base:,.0f}/s, all counted",
                {n: _get(_phase(s, base), "machine", "busy_cores") for n, s in stacks.items()},
                True,
            )
        )
    out.append(
        (
            "machine cores busy at the held rate (of {:g})".format(
                results.get("machine", {}).get("cpus") or 0
            ),
            {n: _get(s, "held_phase", "machine", "busy_cores") for n, s in stacks.items()},
            None,
        )
    )
    top = max(fixed) if fixed else None
    for key in shapes:
        out.append(
            (
                f"seconds to open the sockets of {_shape_label(key)} (20 at a time)",
                {n: _get(s, "connect_seconds", key) for n, s in stacks.items()},
                True,
            )
        )
    for key in shapes[1:]:
        label = next(
            (_get(s, "shapes", key, "label") for s in stacks.values() if _get(s, "shapes", key)),
            key,
        )
        out.append(
            (
                f"held deliveries/s, {label}",
                {n: _get(s, "shapes", key, "held_delivered_per_s") for n, s in stacks.items()},
                False,
            )
        )
        if top is not None:
            out.append(
                (
                    f"  p99 ms @ {top:,.0f}/s, {label}",
                    {
                        n: _get(_phase(_get(s, "shapes", key), top), "latency_ms", "p99")
                        for n, s in stacks.items()
                    },
                    True,
                )
            )
            out.append(
                (
                    f"  loss % @ {top:,.0f}/s, {label}",
                    {
                        n: _get(_phase(_get(s, "shapes", key), top), "loss_pct")
                        for n, s in stacks.items()
                    },
                    True,
                )
            )
    if any(s.get("stall") for s in stacks.values()):
        pct = settings.get("stall_pct", 0)
        out.append(
            (
                f"{pct:g} % of sockets stalled, {main}: at deliveries/s",
                {n: _get(s, "stall", "offered_deliveries_per_s") for n, s in stacks.items()},
                None,
            )
        )
        out.append(
            (
                "  others' p99 ms",
                {n: _get(s, "stall", "latency_ms", "p99") for n, s in stacks.items()},
                True,
            )
        )
        out.append(
            (
                "  others' loss %",
                {n: _get(s, "stall", "loss_pct") for n, s in stacks.items()},
                True,
            )
        )
        pad = settings.get("stall_pad") or 0
        out.append(
            (
                "  owed to each stalled socket, MiB (approx.)",
                {
                    n: (
                        _get(s, "stall", "stalled", "owed")
                        / _get(s, "stall", "stalled", "sockets")
                        * (pad + 300)
                        / 2**20
                        if _get(s, "stall", "stalled", "sockets")
                        else None
                    )
                    for n, s in stacks.items()
                },
                None,
            )
        )
        out.append(
            (
                "  stalled sockets",
                {n: stall_outcome(s.get("stall")) for n, s in stacks.items()},
                True,
            )
        )
        out.append(
            (
                "  closed with 4008 (the servers' logs)",
                {
                    n: _get(s, "stall", "server_logged_too_far_behind") if n == "parley" else None
                    for n, s in stacks.items()
                },
                None,
            )
        )
        out.append(
            (
                "  server RSS growth (peak), MiB",
                {n: _mib(_get(s, "stall", "rss_growth_peak_bytes")) for n, s in stacks.items()},
                True,
            )
        )
    if any(s.get("flood") for s in stacks.values()):
        rate = max(_get(s, "flood", "rate") or 0 for s in stacks.values())
        out.append(
            (
                f"one person floods, {main} at {rate:,.0f}/s: others' p99 ms quiet → flooded",
                {
                    n: (
                        f"{s['flood']['p99_quiet_ms']} → {s['flood']['p99_flooded_ms']}"
                        if _get(s, "flood", "p99_quiet_ms") is not None
                        else None
                    )
                    for n, s in stacks.items()
                },
                None,
            )
        )
        out.append(
            (
                "  flooded ÷ quiet p99 (goal ≤ 2)",
                {n: _get(s, "flood", "p99_ratio") for n, s in stacks.items()},
                True,
            )
        )
        out.append(
            (
                "  the flooder's 50 sockets: accepted / refused",
                {
                    n: (
                        f"{s['flood']['flooder']['sockets_accepted']} / "
                        f"{sum(s['flood']['flooder']['refusals'].values())}"
                        if _get(s, "flood", "flooder", "refusals") is not None
                        else None
                    )
                    for n, s in stacks.items()
                },
                None,
            )
        )
    first, count = idle_count(results, "first"), idle_count(results, "sockets")
    if first and first != count:
        out.append(
            (
                f"memory per idle socket, KiB ({first:,} sockets)",
                {n: _kib(_get(s, "idle", "bytes_per_socket_first")) for n, s in stacks.items()},
                True,
            )
        )
    out.append(
        (
            f"memory per idle socket, KiB ({count:,} sockets)"
            if count
            else "memory per idle socket, KiB",
            {n: _kib(_get(s, "idle", "bytes_per_socket")) for n, s in stacks.items()},
            True,
        )
    )
    if count:
        out.append(
            (
                f"server CPU-s per minute, {count:,} idle sockets",
                {n: _get(s, "idle", "cpu_s_per_minute") for n, s in stacks.items()},
                True,
            )
        )
        out.append(
            (
                "  heartbeats answered (pongs / pings)",
                {
                    n: (
                        f"{s['idle']['pongs']:,} / {s['idle']['pings']:,}"
                        if _get(s, "idle", "pings") is not None
                        else None
                    )
                    for n, s in stacks.items()
                },
                True,
            )
        )
    storm = max((_get(s, "idle", "storm", "sockets") or 0 for s in stacks.values()), default=0)
    if storm:
        out.append(
            (
                f"reconnect storm: s until all {storm:,} dropped are back (and resumed)",
                {n: _get(s, "idle", "storm", "seconds_to_all") for n, s in stacks.items()},
                True,
            )
        )
        out.append(
            (
                "  half of them back, seconds",
                {n: _get(s, "idle", "storm", "seconds_to_half") for n, s in stacks.items()},
                True,
            )
        )
        out.append(
            (
                "  tries again after a refusal / never back",
                {
                    n: (
                        f"{s['idle']['storm']['retries']:,} / {s['idle']['storm']['failed']:,}"
                        if _get(s, "idle", "storm", "retries") is not None
                        else None
                    )
                    for n, s in stacks.items()
                },
                True,
            )
        )
    out.append(
        (
            "ack p99 ms at Parley's held rate",
            {
                n: _get(s, "held_phase", "ack_latency_ms", "p99") if n == "parley" else None
                for n, s in stacks.items()
            },
            True,
        )
    )
    for rate in fixed:
        out.append(
            (
                f"ack p99 ms @ {rate:,.0f}/s (Parley sends)",
                {
                    n: _get(_phase(s, rate), "ack_latency_ms", "p99") if n == "parley" else None
                    for n, s in stacks.items()
                },
                True,
            )
        )
    return out


def table(results: dict) -> str:
    stacks = results["stacks"]
    names = [n for n in STACK_ORDER if n in stacks]
    lines = []
    m = results["machine"]
    s = results["settings"]
    lines.append(
        f"Parley benchmark {results['run_id']} — {m['cpus']} CPUs ({m['cpu']}), "
        f"Python {m['python']}"
    )
    parley = results.get("parley") or {}
    if parley:
        lines.append(
            f"Parley from {parley.get('root')} at {parley.get('commit') or '?'}, "
            f"ASGI server: {parley.get('server')}"
        )
        if parley.get("settings"):
            chosen = " ".join(f"{k}={v}" for k, v in parley["settings"].items())
            lines.append(f"Parley's servers were given {chosen}")
    lines.append(
        f"{s['rooms']} conversations × {s['size']} members, 2 server processes per "
        f"stack, {s['duration']:g} s per rate step, {s['workers']} generator "
        f"process(es)"
    )
    if stacks:
        header = f"{'':56}" + "".join(f"{n:>11}" for n in names)
        if "parley" in names:
            header += "".join(f"{'parley/' + b:>15}" for b in ("peer", "limit") if b in names)
        lines.append("")
        lines.append(header)
        for label, values, lower in rows(results):
            cells = [_fmt(values.get(n)) for n in names]
            wide = any(len(c) > 10 for c in cells)
            line = f"{label:56}" + "".join(f"{c:>11}" if not wide else f"  {c}" for c in cells)
            if "parley" in names:
                for b in ("peer", "limit"):
                    if b in names:
                        r = (
                            None
                            if lower is None
                            else number_ratio(values.get("parley"), values.get(b))
                        )
                        line += f"{_x(r):>15}"
            lines.append(line)
        for n in names:
            if stacks[n].get("failed"):
                lines.append(f"!! {n} failed: {stacks[n]['failed']}")
    data = results.get("data")
    if data:
        lines.append("")
        if data.get("failed"):
            lines.append(f"!! data failed: {data['failed']}")
        else:
            lines.append(
                f"PostgreSQL data size: {data['messages']:,} messages "
                f"({data['deep_conversation_messages']:,} in the paged conversation)"
            )
            for depth, h in data["history"].items():
                if h:
                    lines.append(
                        f"  history page (50) at depth {int(depth):>6,} pages:"
                        f"  p50 {h['p50_ms']:.2f} ms  p99 {h['p99_ms']:.2f} ms"
                    )
            inbox = data["inbox"]
            lines.append(
                f"  inbox with unread counts, {inbox['conversations']} conversations:"
                f"  p50 {inbox['p50_ms']:.1f} ms  p99 {inbox['p99_ms']:.1f} ms"
            )
            frozen = data.get("inbox_gc_frozen")
            if frozen:
                lines.append(
                    "  the same as a server runs it (objects loaded at start frozen):"
                    f"  p50 {frozen['p50_ms']:.1f} ms  p99 {frozen['p99_ms']:.1f} ms"
                )
            lines.append(
                f"  unread total:  p50 {data['unread_total']['p50_ms']:.1f} ms  "
                f"p99 {data['unread_total']['p99_ms']:.1f} ms"
            )
            lines.append(f"  full-text search p95: {data['search']}")
    lines.append("")
    lines.extend(goals(results))
    return "\n".join(lines)


def markdown(results: dict) -> str:
    """The delivery figures as the Markdown table of docs/benchmarks.md."""
    stacks = results["stacks"]
    names = [n for n in STACK_ORDER if n in stacks]
    bases = [b for b in ("peer", "limit") if b in names and "parley" in names]
    head = ["figure", *names, *(f"parley/{b}" for b in bases)]
    lines = [
        "| " + " | ".join(head) + " |",
        "|---|" + "---:|" * (len(head) - 1),
    ]
    for label, values, lower in rows(results):
        cells = [label.strip(), *(_fmt(values.get(n)) for n in names)]
        cells += [
            _x(None if lower is None else number_ratio(values.get("parley"), values.get(b)))
            for b in bases
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def servers_markdown(runs: list[dict]) -> str:
    """Parley's figures from several runs (one per ASGI server), one row each."""
    head = [
        "server (run)",
        "held deliveries/s",
        "p99 ms @ 2,000/s",
        "CPU-s per 1000 @ 1,000/s",
        "idle sockets",
        "KiB per idle socket",
        "idle CPU-s per minute per 1,000 sockets",
        "held / peer",
    ]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for results in runs:
        stacks = results["stacks"]
        parley = stacks.get("parley") or {}
        fixed = results["settings"]["fixed_rates"]
        p99 = _get(_phase(parley, 2000.0), "latency_ms", "p99")
        cpu = _get(_phase(parley, fixed[0]), "cpu_s_per_1k_deliveries") if fixed else None
        peer = _get(stacks.get("peer"), "held_delivered_per_s")
        cells = [
            f"{(results.get('parley') or {}).get('server', '?')} ({results['run_id']})",
            _fmt(parley.get("held_delivered_per_s")),
            _fmt(p99),
            _fmt(cpu),
            _fmt(_get(parley, "idle", "sockets")),
            _fmt(_kib(_get(parley, "idle", "bytes_per_socket"))),
            _fmt(_per_thousand(parley)),
            _x(number_ratio(parley.get("held_delivered_per_s"), peer)),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _per_thousand(stack: dict) -> float | None:
    """Idle CPU-s per minute per 1,000 idle sockets (runs that held
    different counts side by side)."""
    cpu, count = _get(stack, "idle", "cpu_s_per_minute"), _get(stack, "idle", "sockets")
    return None if cpu is None or not count else 1000 * cpu / count


def _verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"


def goals(results: dict) -> list[str]:
    """Issue 17's goals, and where this run stands."""
    out = ["Goals (issue 17):"]
    stacks = results["stacks"]
    parley = stacks.get("parley", {})
    held_rate = parley.get("held_delivered_per_s")
    for base, want in (("peer", 2.0), ("limit", 0.5)):
        r = number_ratio(held_rate, stacks.get(base, {}).get("held_delivered_per_s"))
        if r is None:
            out.append(f"  held deliveries/s ≥ {want:g}× {base}: not measured")
        else:
            out.append(f"  held deliveries/s ≥ {want:g}× {base}: {r:.2f}× {_verdict(r >= want)}")
    if parley.get("phases"):
        held_phase = parley.get("held_phase")
        out.append(
            "  zero loss at Parley's held rate: "
            + _verdict(bool(held_phase) and held_phase["lost"] == 0)
        )
    fixed = results["settings"]["fixed_rates"]
    if fixed:
        cpu = [
            _get(_phase(stacks.get(n), fixed[0]), "cpu_s_per_1k_deliveries")
            for n in ("parley", "peer")
        ]
        r = number_ratio(*cpu)
        out.append(
            "  server CPU-s per 1000 deliveries ≤ 0.5× peer: "
            + ("not measured" if r is None else f"{r:.2f}× {_verdict(r <= 0.5)}")
        )
    for key, count in (
        ("bytes_per_socket_first", idle_count(results, "first")),
        ("bytes_per_socket", idle_count(results, "sockets")),
    ):
        r = number_ratio(_get(parley, "idle", key), _get(stacks.get("limit"), "idle", key))
        if r is not None:
            out.append(
                f"  memory per idle socket ≤ 2× limit ({count:,} sockets): "
                f"{r:.2f}× {_verdict(r <= 2)}"
            )
    p99 = _get(_phase(parley, 2000.0), "latency_ms", "p99")
    if p99 is not None:
        out.append(f"  p99 at 2,000 deliveries/s ≤ 20 ms: {p99:g} ms {_verdict(p99 <= 20)}")
    data = results.get("data") or {}
    hist = data.get("history") or {}
    if hist.get("1") and hist.get("10000"):
        r = hist["10000"]["p99_ms"] / hist["1"]["p99_ms"]
        out.append(
            f"  history p99 at depth 10,000 within 1.5× depth 1 (issue 5): {r:.2f}× "
            f"{_verdict(r <= 1.5)}"
        )
    inbox = data.get("inbox") or {}
    # Judged as a server runs it: its processes freeze what they loaded at
    # start (config/asgi.py), which the bench's process does for this figure.
    frozen = data.get("inbox_gc_frozen") or {}
    p99 = frozen.get("p99_ms", inbox.get("p99_ms"))
    if p99 is not None:
        how = " (as a server runs it)" if frozen else ""
        out.append(
            f"  inbox p99 ≤ 25 ms at {inbox.get('conversations')} conversations{how}: "
            f"{p99:.1f} ms {_verdict(p99 <= 25)}"
        )
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__)
    parser.add_argument("results", nargs="+", help="bench/results/<run>.json")
    parser.add_argument("--markdown", action="store_true", help="the Markdown table")
    parser.add_argument(
        "--servers", action="store_true", help="Parley across the runs, one row per run"
    )
    args = parser.parse_args(argv)
    runs = [json.loads(Path(p).read_text()) for p in args.results]
    if args.servers:
        print(servers_markdown(runs))
        return 0
    for results in runs:
        print(markdown(results) if args.markdown else table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
