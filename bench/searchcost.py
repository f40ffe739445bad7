"""What search costs: ``python -m bench search`` (docs/benchmarks.md, "Search").

p50 / p95 of ``messaging.search.selectors.search`` (the one read every
search goes through: the page, the API) against the goal p95 ≤ 50 ms, for
one reader who is an active member of every conversation of the data set,
so every row is a candidate (the worst case for the membership filter):

* ``--messages`` messages (1,000,000) in ``--conversations`` conversations
  (200) of ten members, round-robin, one a second, oldest first;
* each message 8–12 words drawn from a vocabulary of ``VOCABULARY``
  made-up words with a Zipf-like law (the word of rank r in a share of
  the draws proportional to 1 / r), so terms range from very common to
  rare, as in real chat; every 40th message carries a link, every 50th is
  flagged as having a file;
* the ``message_search`` row of each, its ``vector`` being
  ``to_tsvector(SEARCH_CONFIG, text)`` with punctuation stood in for, as
  indexing writes it; the table's indexes (the GIN index among them) are
  dropped for the load and made again after it, as a bulk load is done.

The rows are made with SQL (``INSERT … SELECT generate_series``) in the
schema the migrations made. Each query kind runs ``--iterations`` times per
round, ``--repeat`` rounds, the kinds interleaved round by round; the figure
of a kind is the median of its rounds' p50 and p95 (with their spread). One
traced call per kind records the statements ``search`` ran, their times and
the plan of the slowest, which is what the docs cite when the goal is
missed.

The parent recreates the ``parley_bench_search`` database, migrates it,
runs ``python -m bench.searchcost`` (which prints JSON) and drops the
database afterwards (``--keep`` keeps it). ``build`` and ``measure`` are
what the test suite calls in-process on a tiny data set.
"""

import argparse
import json
import os
import statistics
import sys
import time
import uuid

from bench.childrun import log

DATABASE = "parley_bench_search"
VOCABULARY = 4000
WORDS_PER_MESSAGE = (8, 12)
MEMBERS = 10
LINK_EVERY = 40
FILE_EVERY = 50
PASSWORD = "bench-password-not-secret"  # noqa: S105 - a bench account's


def vocabulary(size: int = VOCABULARY) -> list[str]:
    """``size`` distinct made-up words of three syllables (``bakotu``…), in a
    fixed order: index 0 is the most frequent in the data set."""
    consonants = "bdfgklmnprstvz"
    vowels = "aeiou"
    syllables = [c + v for c in consonants for v in vowels]
    words = []
    step = 7919  # a prime: consecutive words share no syllable pattern
    for n in range(size):
        k = (n * step) % (len(syllables) ** 3)
        a, rest = divmod(k, len(syllables) ** 2)
        b, c = divmod(rest, len(syllables))
        words.append(syllables[a] + syllables[b] + syllables[c])
    if len(set(words)) != size:
        raise ValueError("vocabulary words repeat; choose another step")
    return words


# --- The data set ----------------------------------------------------------------------


def build(*, total: int, conversations: int) -> dict:
    """The data set on the database Django is set up with (empty of bench
    rows); returns the reader's and the mentor's emails, one conversation id
    and the build time."""
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import Role, User
    from messaging.models import Conversation, ConversationParticipant, ConversationType
    from messaging.search import models as search_models

    started = time.perf_counter()
    token = uuid.uuid4().hex[:6]
    password = make_password(PASSWORD)
    with transaction.atomic():
        people = [
            User.objects.create(
                email=f"{name}-{token}@bench.test",
                display_name=f"Bench {name.capitalize()}",
                role=Role.MENTOR if name == "mentor" else Role.STUDENT,
                password=password,
            )
            for name in ["reader", "mentor"] + [f"student{i}" for i in range(MEMBERS - 2)]
        ]
        now = timezone.now()
        convs = Conversation.objects.bulk_create(
            Conversation(
                type=ConversationType.GROUP,
                title=f"Search bench {i}",
                created_by=people[1],
                created_at=now,
                updated_at=now,
            )
            for i in range(conversations)
        )
        ConversationParticipant.objects.bulk_create(
            [ConversationParticipant(conversation=c, user=u) for c in convs for u in people]
        )
    config = _search_config()
    table = search_models.SearchDocument._meta.db_table
    low, high = WORDS_PER_MESSAGE
    with connection.cursor() as cur:
        cur.execute("SET LOCAL synchronous_commit = off")
        # Foreign keys checked row by row, not deferred to a commit: inside a
        # transaction (the tests) deferred checks would forbid CREATE INDEX.
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
        # Indexes of the search table other than its constraints' go for
        # the load and come back after it: one build, not a million inserts.
        cur.execute(
            """
            SELECT indexname, indexdef FROM pg_indexes
            WHERE tablename = %s
              AND indexname NOT IN (SELECT conname FROM pg_constraint)
            """,
            [table],
        )
        indexes = cur.fetchall()
        for name, _ in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        loaded = time.perf_counter()
        cur.execute("SELECT setseed(0.13)")  # the same words every time
        cur.execute(
            """
            INSERT INTO messages (id, seq, conversation_id, sender_id, content, message_type,
                                  file_url, metadata, sent_at)
            SELECT gen_random_uuid(), g / %(n_conv)s + 1, (%(convs)s::uuid[])[g %% %(n_conv)s + 1],
                   (%(people)s::uuid[])[abs(hashtext(g::text)) %% %(n_people)s + 1],
                   (SELECT string_agg(
                        (%(words)s::text[])[floor(exp(random() * ln(%(n_words)s)))::int], ' ')
                    FROM generate_series(1, %(low)s + g %% %(spread)s))
                   || CASE WHEN g %% %(link_every)s = 0
                           THEN ' https://example.test/notes/' || g ELSE '' END,
                   'text', '', '{}'::jsonb,
                   now() - make_interval(secs => %(total)s - g)
            FROM generate_series(0, %(total)s - 1) AS g
            """,
            {
                "n_conv": len(convs),
                "convs": [c.pk for c in convs],
                "people": [p.pk for p in people],
                "n_people": len(people),
                "words": vocabulary(),
                "n_words": VOCABULARY,
                "low": low,
                "spread": high - low + 1,
                "link_every": LINK_EVERY,
                "total": total,
            },
        )
        messages_seconds = time.perf_counter() - loaded
        cur.execute(
            f"""
            INSERT INTO {table} (message_id, conversation_id, sender_id, seq, sent_at, text,
                                 has_file, has_image, has_link, vector)
            SELECT id, conversation_id, sender_id, seq, sent_at, content,
                   seq %% %s = 0, false, content LIKE '%%https://%%',
                   to_tsvector(%s::regconfig, translate(content, %s, %s))
            FROM messages WHERE conversation_id = ANY(%s::uuid[])
            """,
            [FILE_EVERY, config, *_parser_safe(), [c.pk for c in convs]],
        )
        search_rows_seconds = time.perf_counter() - loaded - messages_seconds
        cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            cur.execute(definition)
        cur.execute(
            """
            UPDATE conversations c SET last_seq = m.top, last_message_at = m.at
            FROM (SELECT conversation_id, max(seq) AS top, max(sent_at) AS at
                  FROM messages WHERE conversation_id = ANY(%s::uuid[])
                  GROUP BY conversation_id) m
            WHERE c.id = m.conversation_id
            """,
            [[c.pk for c in convs]],
        )
        # Everyone has read everything but the last few of each conversation.
        cur.execute(
            """
            UPDATE conversation_participants p
            SET last_read_seq = greatest(0, c.last_seq - 5), last_delivered_seq = c.last_seq
            FROM conversations c
            WHERE p.conversation_id = c.id AND c.id = ANY(%s::uuid[])
            """,
            [[c.pk for c in convs]],
        )
        cur.execute(f"ANALYZE messages, {table}, conversations, conversation_participants")
    return {
        "reader": people[0].email,
        "mentor": people[1].email,
        "conversation_id": str(convs[0].pk),
        "messages": total,
        "conversations": conversations,
        "members_each": len(people),
        "search_config": config,
        "indexes_rebuilt": [name for name, _ in indexes],
        "build_seconds": round(time.perf_counter() - started, 1),
        "messages_seconds": round(messages_seconds, 1),
        "search_rows_seconds": round(search_rows_seconds, 1),
    }


def _parser_safe() -> tuple[str, str]:
    """``translate()``'s two strings for what indexing does to the text
    before ``to_tsvector`` (``backends.PARSER_SAFE``: punctuation to
    stand-ins), so the bench's vectors are the ones indexing writes."""
    from messaging.search.backends import PARSER_SAFE

    source = "".join(chr(code) for code in PARSER_SAFE)
    target = "".join(chr(v) if isinstance(v, int) else str(v) for v in PARSER_SAFE.values())
    return source, target


def _search_config() -> str:
    from messaging import limits

    return limits.search_config()


# --- The queries -------------------------------------------------------------------------


def queries(data: dict) -> dict[str, str]:
    """The query of each kind, by name: words of a known rank in the
    vocabulary (rank 0 the most frequent), so each kind matches a share of
    the rows that does not depend on the size of the data set: rank 300 is
    in about 0.4% of the messages, rank 30 in about 4%, ranks 30 and 60
    together in about 0.1%; ranks 3 and 8 are each in a few percent, next
    to each other in about 0.3%."""
    words = vocabulary()
    return {
        "single term": words[300],
        "single term, common": words[30],
        "two terms": f"{words[30]} {words[60]}",
        "phrase": f'"{words[3]} {words[8]}"',
        "operator: from: has:file term": f"from:{data['mentor']} has:file {words[30]}",
        "operator: in: term": f"in:{data['conversation_id']} {words[30]}",
    }


def _matching_rows(text: str) -> int | None:
    """How many search rows the words of ``text`` match (operators aside):
    the work ``search`` has before it can rank."""
    from django.db import connection

    words = [w for w in text.replace('"', " ").split() if ":" not in w]
    if not words:
        return None
    quoted = text.startswith('"')
    function = "phraseto_tsquery" if quoted else "plainto_tsquery"
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT count(*) FROM message_search WHERE vector @@ {function}(%s::regconfig, %s)",
            [_search_config(), " ".join(words)],
        )
        return cur.fetchone()[0]


def _traced(user, text: str) -> dict:
    """One call with its statements: how many, each one's time, and the plan
    of the slowest (EXPLAIN ANALYZE)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from messaging.search import selectors

    with CaptureQueriesContext(connection) as captured:
        results = selectors.search(user=user, query=text)
    statements = [{"ms": round(float(q["time"]) * 1000, 2), "sql": q["sql"]} for q in captured]
    slowest = max(statements, key=lambda s: s["ms"]) if statements else None
    plan = None
    if slowest and slowest["sql"].lstrip().upper().startswith("SELECT"):
        with connection.cursor() as cur:
            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest["sql"])
            plan = "\n".join(row[0] for row in cur.fetchall())
    return {
        "hits": len(results.hits),
        "has_more": results.has_more,
        "statements": [{"ms": s["ms"], "sql": s["sql"][:2000]} for s in statements],
        "slowest_plan": plan,
    }


def measure(*, data: dict, iterations: int, repeat: int) -> dict:
    """Every query kind ``iterations`` times per round, ``repeat`` rounds."""
    from accounts.models import User
    from bench import stats
    from messaging.search import selectors

    reader = User.objects.get(email=data["reader"])
    kinds = queries(data)
    runs: dict[str, list[dict]] = {name: [] for name in kinds}
    for round_number in range(repeat):
        for name, text in kinds.items():
            selectors.search(user=reader, query=text)  # warm: plans and caches
            samples = []
            for _ in range(iterations):
                started = time.perf_counter()
                selectors.search(user=reader, query=text)
                samples.append(time.perf_counter() - started)
            figure = stats.summarize(samples)
            runs[name].append(
                {
                    "count": figure["count"],
                    "p50_ms": round(figure["p50"] * 1000, 2),
                    "p95_ms": round(figure["p95"] * 1000, 2),
                    "p99_ms": round(figure["p99"] * 1000, 2),
                }
            )
        log(f"search: round {round_number + 1} of {repeat} done")
    out = {}
    for name, text in kinds.items():
        p50s = [r["p50_ms"] for r in runs[name]]
        p95s = [r["p95_ms"] for r in runs[name]]
        out[name] = {
            "query": text,
            "matching_rows": _matching_rows(text),
            "runs": runs[name],
            "p50_ms": round(statistics.median(p50s), 2),
            "p95_ms": round(statistics.median(p95s), 2),
            "p95_spread_ms": [min(p95s), max(p95s)],
            "trace": _traced(reader, text),
        }
        log(
            f"search: {name}: p50 {out[name]['p50_ms']} ms, p95 {out[name]['p95_ms']} ms "
            f"({out[name]['matching_rows']} rows match the words)"
        )
    return out


def table(results: dict, *, goal_ms: float = 50.0) -> str:
    data = results["data"]
    lines = [
        f"search: {data['messages']:,} messages in {data['conversations']} conversations "
        f"(a reader in all of them); {results['iterations']} calls × {results['repeat']} rounds",
        f"  {'query':34} {'matches':>9} {'p50 ms':>8} {'p95 ms':>8}  p95 spread   goal p95 ≤ "
        f"{goal_ms:g} ms",
    ]
    for name, figure in results["queries"].items():
        low, high = figure["p95_spread_ms"]
        matches = "" if figure["matching_rows"] is None else f"{figure['matching_rows']:,}"
        verdict = "met" if figure["p95_ms"] <= goal_ms else "MISSED"
        lines.append(
            f"  {name:34} {matches:>9} {figure['p50_ms']:>8g} {figure['p95_ms']:>8g}  "
            f"{low:g}–{high:g}   {verdict}"
        )
    return "\n".join(lines)


# --- The two processes ---------------------------------------------------------------------


def _measure_main() -> None:
    """In the child: Django on the bench database; prints the JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, required=True)
    parser.add_argument("--conversations", type=int, required=True)
    parser.add_argument("--iterations", type=int, required=True)
    parser.add_argument("--repeat", type=int, required=True)
    parser.add_argument("--log-dir", required=True)
    options = parser.parse_args()
    # The load's statements each run for tens of seconds: no statement
    # deadline in this process (the searches measured are far below one).
    os.environ["DATABASE_STATEMENT_TIMEOUT_MS"] = "0"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    log(f"search: building {options.messages:,} messages in {options.conversations} conversations")
    data = build(total=options.messages, conversations=options.conversations)
    log(f"search: built in {data['build_seconds']} s")
    result = {
        "data": data,
        "iterations": options.iterations,
        "repeat": options.repeat,
        "queries": measure(data=data, iterations=options.iterations, repeat=options.repeat),
    }
    from django.db import connection

    result["postgres"] = connection.cursor().connection.info.server_version
    json.dump(result, sys.stdout)


def _drop_database(name: str) -> None:
    """Drop ``name``: a million rows do not stay."""
    from bench.stacks import drop_database

    drop_database(name)
    log(f"search: dropped the {name} database")


def parse_args(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench search",
        description="p50 / p95 of search over a million messages for a reader in 200 "
        "conversations: one term, two terms, a phrase and operator queries.",
    )
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages (1,000,000)")
    parser.add_argument("--conversations", type=int, default=200, help="conversations (200)")
    parser.add_argument("--iterations", type=int, default=100, help="calls per round (100)")
    parser.add_argument("--repeat", type=int, default=3, help="rounds (3)")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument("--out", help="results file (default bench/results/search-<time>.json)")
    return parser.parse_args(argv)


def cli(argv) -> int:
    """``python -m bench search``: a fresh database, the child, the table;
    the database is dropped afterwards unless ``--keep``."""
    from bench import childrun

    args = parse_args(argv)
    try:
        return childrun.run(
            scenario="search",
            database=DATABASE,
            child_args=[
                "--messages",
                str(args.messages),
                "--conversations",
                str(args.conversations),
                "--iterations",
                str(args.iterations),
                "--repeat",
                str(args.repeat),
            ],
            argv=argv,
            table=table,
            out=args.out,
        )
    finally:
        if not args.keep:
            _drop_database(DATABASE)


if __name__ == "__main__":
    _measure_main()
