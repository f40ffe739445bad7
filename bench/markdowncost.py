"""What rendering Markdown costs at send: ``python -m bench markdown``
(docs/benchmarks.md, "Rich text").

Two figures, on a fixed, seeded mix of message texts that looks like chat:

* ``--renders`` calls of ``messaging.threads.markdown.render`` (with the
  message's mentions, as a send renders it): p50 / p99 / max per render,
  over the whole mix and per kind of text;
* ``--sends`` calls of ``services.send_message`` (PostgreSQL, the full
  transaction, publishing switched off as in bench/sendcost.py) with the
  same mix, rendering on, then rendering off (``render`` answering ``""``),
  in alternating rounds, ``--repeat`` rounds each: wall and CPU ms per
  send, and the render's share of a send's server time.

The mix (its shares of the messages):

* 50% plain short lines (3–15 words, no markup);
* 20% lines with bold or italic, a written link and a mention;
* 10% a bare URL in a sentence;
* 8% a bulleted or numbered list of 3–6 items;
* 7% a fenced code block of 3–12 lines, most naming a language Pygments
  highlights (python, js, sql), some none;
* 5% a quote and a reply line.

The parent recreates the ``parley_bench_markdown`` database, migrates it and
runs ``python -m bench.markdowncost`` (which prints JSON); the database is
dropped afterwards unless ``--keep``.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
import uuid

from bench.childrun import log

DATABASE = "parley_bench_markdown"
MEMBERS = 10
WORDS = [
    *("the", "a", "we", "should", "check", "report", "numbers", "draft", "meeting"),
    *("tomorrow", "week", "plan", "budget", "team", "student", "mentor", "group"),
    *("review", "thanks", "please", "update", "notes", "slides", "deadline", "question"),
    *("answer", "idea", "agree", "maybe", "later", "today", "code", "test", "error"),
    *("fix", "deploy", "branch", "merge"),
]
MIX = (
    ("plain", 50),
    ("inline", 20),
    ("url", 10),
    ("list", 8),
    ("code", 7),
    ("quote", 5),
)


def _words(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high)))


def make_text(kind: str, rng: random.Random, names: list[str]) -> str:
    """One message of ``kind``, drawn with ``rng``."""
    if kind == "plain":
        return _words(rng, 3, 15).capitalize()
    if kind == "inline":
        return (
            f"{_words(rng, 2, 5)} **{_words(rng, 1, 2)}** _{rng.choice(WORDS)}_ "
            f"[{_words(rng, 1, 3)}](https://docs.example.org/{rng.choice(WORDS)}) "
            f"@{rng.choice(names)} {_words(rng, 1, 4)}"
        )
    if kind == "url":
        page = f"{rng.choice(WORDS)}?id={rng.randint(1, 9999)}"
        return f"{_words(rng, 2, 6)} https://www.example.com/{page}"
    if kind == "list":
        marker = rng.choice(["- ", "1. "])
        return f"{_words(rng, 2, 4)}:\n" + "\n".join(
            marker + _words(rng, 2, 6) for _ in range(rng.randint(3, 6))
        )
    if kind == "code":
        language = rng.choice(["python", "python", "js", "sql", ""])
        lines = [
            f"{rng.choice(WORDS)}_{i} = {rng.choice(WORDS)}({rng.randint(0, 99)})"
            f"  # {rng.choice(WORDS)}"
            for i in range(rng.randint(3, 12))
        ]
        return f"{_words(rng, 2, 5)}\n```{language}\n" + "\n".join(lines) + "\n```"
    return f"> {_words(rng, 4, 12)}\n\n{_words(rng, 2, 8)}"


def make_mix(count: int, names: list[str], seed: int = 15) -> list[tuple[str, str]]:
    """``count`` (kind, text) pairs in the shares of ``MIX``, shuffled."""
    rng = random.Random(seed)
    kinds = [kind for kind, share in MIX for _ in range(share)]
    return [
        (kind, make_text(kind, rng, names)) for kind in (rng.choice(kinds) for _ in range(count))
    ]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def measure_renders(texts: list[tuple[str, str]], members: list[tuple[str, str]]) -> dict:
    """Per-render figures (µs) over ``texts`` and per kind."""
    from messaging import mentions
    from messaging.threads import markdown

    for _, text in texts[:200]:  # warm: the parser, Pygments' lexers
        markdown.render(text)
    # Wall time, and this thread's CPU time: on a shared machine the wall
    # time's tail is mostly waiting for a core, the CPU time is the work.
    by_kind: dict[str, list[tuple[float, float]]] = {}
    everything: list[tuple[float, float]] = []
    for kind, text in texts:
        found = mentions.find_mentions(text, members=members, everyone_allowed=True)
        wall, cpu = time.perf_counter_ns(), time.thread_time_ns()
        markdown.render(text, mentions=found)
        took = ((time.perf_counter_ns() - wall) / 1000, (time.thread_time_ns() - cpu) / 1000)
        everything.append(took)
        by_kind.setdefault(kind, []).append(took)

    def figures(pairs: list[tuple[float, float]]) -> dict:
        walls = [w for w, _ in pairs]
        cpus = [c for _, c in pairs]
        return {
            "count": len(pairs),
            "p50_us": round(_percentile(walls, 0.5), 1),
            "p99_us": round(_percentile(walls, 0.99), 1),
            "max_us": round(max(walls), 1),
            "mean_us": round(statistics.fmean(walls), 1),
            "cpu_p50_us": round(_percentile(cpus, 0.5), 1),
            "cpu_p99_us": round(_percentile(cpus, 0.99), 1),
            "cpu_max_us": round(max(cpus), 1),
        }

    return {"all": figures(everything), "kinds": {k: figures(v) for k, v in by_kind.items()}}


def measure_sends(texts: list[tuple[str, str]], *, sends: int, repeat: int) -> dict:
    """Wall and CPU ms per send with rendering on and off, alternating."""
    from django.contrib.auth.hashers import make_password

    from accounts.models import MentorAssignment, Role, User
    from messaging import events, services
    from messaging.models import ConversationType
    from messaging.threads import markdown

    events.publish = lambda *a, **k: None  # the database path only
    token = uuid.uuid4().hex[:6]
    password = make_password("bench-password-not-secret")
    people = [
        User.objects.create(
            email=f"md{i}-{token}@bench.test",
            display_name=f"Bench Person {i}",
            role=Role.MENTOR if i == 0 else Role.STUDENT,
            password=password,
        )
        for i in range(MEMBERS)
    ]
    MentorAssignment.objects.bulk_create(
        MentorAssignment(mentor=people[0], student=student) for student in people[1:]
    )
    group = services.create_conversation(
        creator=people[0], kind=ConversationType.GROUP, participants=people[1:], title="Markdown"
    )
    rendering = markdown.render

    def run(on: bool) -> dict:
        markdown.render = rendering if on else (lambda source, **kw: "")
        try:
            wall, cpu = time.perf_counter(), time.process_time()
            for i in range(sends):
                _, text = texts[i % len(texts)]
                services.send_message(
                    sender=people[0], conversation_id=group.pk, content=text, client_id=uuid.uuid4()
                )
            return {
                "wall_ms": round((time.perf_counter() - wall) / sends * 1000, 3),
                "cpu_ms": round((time.process_time() - cpu) / sends * 1000, 3),
            }
        finally:
            markdown.render = rendering

    run(True), run(False)  # warm
    rounds: dict[str, list[dict]] = {"on": [], "off": []}
    for _ in range(repeat):
        rounds["on"].append(run(True))
        rounds["off"].append(run(False))
    median = {
        state: {
            key: round(statistics.median(r[key] for r in runs), 3) for key in ("wall_ms", "cpu_ms")
        }
        for state, runs in rounds.items()
    }
    on, off = median["on"]["wall_ms"], median["off"]["wall_ms"]
    return {
        "sends_per_round": sends,
        "rounds": rounds,
        "median": median,
        "render_share_of_send_wall": round((on - off) / on, 3) if on else None,
        "render_share_of_send_cpu": round(
            (median["on"]["cpu_ms"] - median["off"]["cpu_ms"]) / median["on"]["cpu_ms"], 3
        )
        if median["on"]["cpu_ms"]
        else None,
        "sends_per_second_on": round(1000 / on, 1) if on else None,
        "sends_per_second_off": round(1000 / off, 1) if off else None,
    }


def table(results: dict) -> str:
    renders = results["renders"]
    lines = [
        f"markdown: {renders['all']['count']:,} renders of the mix (µs per render)",
        f"  {'kind':8} {'count':>7} {'p50':>8} {'p99':>8} {'max':>8}"
        f" {'CPU p50':>8} {'CPU p99':>8} {'CPU max':>8}",
    ]
    for name, figure in [("all", renders["all"]), *renders["kinds"].items()]:
        lines.append(
            f"  {name:8} {figure['count']:>7} {figure['p50_us']:>8g} {figure['p99_us']:>8g} "
            f"{figure['max_us']:>8g} {figure['cpu_p50_us']:>8g} {figure['cpu_p99_us']:>8g} "
            f"{figure['cpu_max_us']:>8g}"
        )
    sends = results["sends"]
    on, off = sends["median"]["on"], sends["median"]["off"]
    lines.append(
        f"sends ({sends['sends_per_round']} per round, median of rounds): "
        f"render on {on['wall_ms']} ms wall / {on['cpu_ms']} ms CPU, "
        f"off {off['wall_ms']} ms / {off['cpu_ms']} ms; "
        f"render share of wall {sends['render_share_of_send_wall']}, "
        f"of CPU {sends['render_share_of_send_cpu']}"
    )
    return "\n".join(lines)


def _measure_main() -> None:
    """In the child: Django on the bench database; prints the JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--renders", type=int, required=True)
    parser.add_argument("--sends", type=int, required=True)
    parser.add_argument("--repeat", type=int, required=True)
    parser.add_argument("--log-dir", required=True)
    options = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    names = [f"Bench Person {i}" for i in range(MEMBERS)]
    members = [(str(uuid.uuid4()), name) for name in names]
    texts = make_mix(options.renders, names)
    log(f"markdown: {options.renders:,} renders")
    renders = measure_renders(texts, members)
    log(f"markdown: {options.sends} sends × {options.repeat} rounds, rendering on and off")
    sends = measure_sends(texts, sends=options.sends, repeat=options.repeat)
    json.dump(
        {
            "mix": dict(MIX),
            "renders": renders,
            "sends": sends,
        },
        sys.stdout,
    )


def parse_args(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench markdown",
        description="Cost of rendering Markdown at send: p50/p99 per render over a chat-like "
        "mix, and sends with rendering on and off.",
    )
    parser.add_argument("--renders", type=int, default=20_000, help="renders (20,000)")
    parser.add_argument("--sends", type=int, default=300, help="sends per round (300)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds each way (3)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--out", help="results file (default bench/results/markdown-<time>.json)")
    return parser.parse_args(argv)


def cli(argv) -> int:
    """``python -m bench markdown``: a fresh database, the child, the table."""
    from bench import childrun

    args = parse_args(argv)
    try:
        return childrun.run(
            scenario="markdown",
            database=DATABASE,
            child_args=[
                "--renders",
                str(args.renders),
                "--sends",
                str(args.sends),
                "--repeat",
                str(args.repeat),
            ],
            argv=argv,
            table=table,
            out=args.out,
        )
    finally:
        if not args.keep:
            from bench.stacks import drop_database

            drop_database(DATABASE)


if __name__ == "__main__":
    _measure_main()
