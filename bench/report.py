"""The results table: Parley beside the baselines, as ratios from one run."""

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


def _phase(stack: dict, rate: float) -> dict | None:
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


def rows(results: dict) -> list[tuple[str, dict, bool]]:
    """(label, {stack: value}, lower_is_better) for every delivery figure."""
    stacks = results["stacks"]
    fixed = results["settings"]["fixed_rates"]
    out = []
    out.append(
        (
            "held deliveries/s (p99 ≤ {:g} ms, 0 loss)".format(results["settings"]["p99_ms"]),
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
            "memory per idle socket, KiB",
            {n: _kib(_get(s, "idle", "bytes_per_socket")) for n, s in stacks.items()},
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
    lines.append(
        f"{s['rooms']} conversations × {s['size']} members, 2 server processes per "
        f"stack, {s['duration']:g} s per rate step, {s['workers']} generator "
        f"process(es)"
    )
    if stacks:
        header = f"{'':52}" + "".join(f"{n:>11}" for n in names)
        if "parley" in names:
            header += "".join(f"{'parley/' + b:>15}" for b in ("peer", "limit") if b in names)
        lines.append("")
        lines.append(header)
        for label, values, _lower in rows(results):
            line = f"{label:52}" + "".join(f"{_fmt(values.get(n)):>11}" for n in names)
            if "parley" in names:
                for b in ("peer", "limit"):
                    if b in names:
                        line += f"{_x(ratio(values.get('parley'), values.get(b))):>15}"
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
            lines.append(
                f"  unread total:  p50 {data['unread_total']['p50_ms']:.1f} ms  "
                f"p99 {data['unread_total']['p99_ms']:.1f} ms"
            )
            lines.append(f"  full-text search p95: {data['search']}")
    lines.append("")
    lines.extend(goals(results))
    return "\n".join(lines)


def goals(results: dict) -> list[str]:
    """Issue 5's goals, and where this run stands."""
    out = ["Goals (issue 5):"]
    stacks = results["stacks"]
    parley = stacks.get("parley", {}).get("held_delivered_per_s")
    for base, want in (("peer", 2.0), ("limit", 0.5)):
        r = ratio(parley, stacks.get(base, {}).get("held_delivered_per_s"))
        if r is None:
            out.append(f"  Parley ≥ {want:g}× {base} held throughput: not measured")
        else:
            out.append(
                f"  Parley ≥ {want:g}× {base} held throughput: {r:.2f}× "
                f"{'MET' if r >= want else 'NOT MET'}"
            )
    if "parley" in stacks and stacks["parley"].get("phases"):
        lost = any(p["lost"] for p in stacks["parley"]["phases"] if p["held"])
        held_phase = stacks["parley"].get("held_phase")
        out.append(
            "  zero loss at Parley's held rate: "
            + ("MET" if held_phase and not lost and held_phase["lost"] == 0 else "NOT MET")
        )
    data = results.get("data") or {}
    hist = data.get("history") or {}
    if hist.get("1") and hist.get("10000"):
        r = hist["10000"]["p99_ms"] / hist["1"]["p99_ms"]
        out.append(
            f"  history p99 at depth 10,000 within 1.5× depth 1: {r:.2f}× "
            f"{'MET' if r <= 1.5 else 'NOT MET'}"
        )
    return out
