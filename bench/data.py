"""Data-size figures on PostgreSQL: history paging and unread counts over a
million messages.

Runs in its own process with ``DATABASE_URL`` naming ``parley_bench_data``
(migrated by the caller) and prints JSON. The data set is made with SQL
(``INSERT … SELECT generate_series``), in the schema the ORM created:

* one reader (a student) in 200 conversations, with a mentor who wrote half
  of every conversation;
* conversation 0 holds ``--deep`` messages (history is paged in it: depth
  10,000 pages of 50 is 500,000 messages back);
* the other 199 share the rest, so the total is ``--messages``;
* every 20th message is a thread-only reply (to its conversation's first
  message), so the main stream's unread count has some to leave out;
* the reader's read cursor sits a little behind in each, so every unread
  count is real work, not zero.

An existing data set of the same size is reused (``--fresh`` rebuilds it).
"""

import argparse
import gc
import json
import os
import random
import sys
import time

PAGE = 50


def build(*, total: int, deep: int, conversations: int) -> dict:
    from django.contrib.auth.hashers import make_password
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import Role, User
    from messaging.models import Conversation, ConversationParticipant, ConversationType

    started = time.perf_counter()
    password = make_password("bench-password-not-secret")
    with transaction.atomic():
        reader = User.objects.create(
            email="reader@bench.test",
            display_name="Bench Reader",
            role=Role.STUDENT,
            password=password,
        )
        mentor = User.objects.create(
            email="mentor@bench.test",
            display_name="Bench Mentor",
            role=Role.MENTOR,
            password=password,
        )
        now = timezone.now()
        convs = Conversation.objects.bulk_create(
            Conversation(
                type=ConversationType.GROUP,
                title=f"Data {i}",
                created_by=mentor,
                created_at=now,
                updated_at=now,
            )
            for i in range(conversations)
        )
        ConversationParticipant.objects.bulk_create(
            [
                ConversationParticipant(conversation=c, user=u)
                for c in convs
                for u in (reader, mentor)
            ]
        )
    deep_id = convs[0].pk
    rest = [c.pk for c in convs[1:]]
    spread = total - deep
    with connection.cursor() as cur:
        cur.execute("SET synchronous_commit = off")
        # Conversation 0: seq 1..deep, one message a second, oldest first.
        cur.execute(
            """
            INSERT INTO messages (id, seq, conversation_id, sender_id, content, message_type,
                                  file_url, metadata, sent_at)
            SELECT gen_random_uuid(), g, %s,
                   CASE WHEN g %% 2 = 0 THEN %s::uuid ELSE %s::uuid END,
                   'Message ' || g || ': the quick brown fox jumps over the lazy dog.',
                   'text', '', '{}'::jsonb,
                   now() - make_interval(secs => %s - g)
            FROM generate_series(1, %s) AS g
            """,
            [deep_id, reader.pk, mentor.pk, deep, deep],
        )
        # The rest, round-robin over the other conversations.
        cur.execute(
            """
            INSERT INTO messages (id, seq, conversation_id, sender_id, content, message_type,
                                  file_url, metadata, sent_at)
            SELECT gen_random_uuid(), g / %s + 1, (%s::uuid[])[g %% %s + 1],
                   CASE WHEN g %% 2 = 0 THEN %s::uuid ELSE %s::uuid END,
                   'Note ' || g || ': pack my box with five dozen liquor jugs.',
                   'text', '', '{}'::jsonb,
                   now() - make_interval(secs => %s - g)
            FROM generate_series(0, %s - 1) AS g
            """,
            [len(rest), rest, len(rest), reader.pk, mentor.pk, spread, spread],
        )
        # Every 20th message is a thread-only reply to its conversation's
        # first message: the main stream's unread count leaves them out.
        cur.execute(
            """
            UPDATE messages m SET parent_id = root.id, reply_to_id = root.id
            FROM messages root
            WHERE root.conversation_id = m.conversation_id AND root.seq = 1
              AND m.seq % 20 = 0
            """
        )
        cur.execute(
            """
            UPDATE conversations c SET last_seq = m.top, last_message_at = m.at
            FROM (SELECT conversation_id, max(seq) AS top,
                         max(sent_at) FILTER (WHERE parent_id IS NULL) AS at
                  FROM messages GROUP BY conversation_id) m
            WHERE c.id = m.conversation_id
            """
        )
        # The reader is 0..40 messages behind in each conversation.
        cur.execute(
            """
            UPDATE conversation_participants p
            SET last_read_seq = greatest(0, c.last_seq - (abs(hashtext(c.id::text)) %% 41)),
                last_delivered_seq = c.last_seq
            FROM conversations c
            WHERE p.conversation_id = c.id AND p.user_id = %s
            """,
            [reader.pk],
        )
        cur.execute("ANALYZE")
    return {"build_seconds": round(time.perf_counter() - started, 1)}


def timed(fn, iterations: int) -> dict:
    from bench import stats

    fn()  # warm: plans and caches, as a long-running server would have
    samples = []
    cpu_samples = []
    for _ in range(iterations):
        t = time.perf_counter()
        c = time.process_time()
        fn()
        cpu_samples.append(time.process_time() - c)
        samples.append(time.perf_counter() - t)
    s = stats.summarize(samples)
    # This process's CPU time (Python's share: the database's runs in its
    # own process), which a busy shared machine moves less than wall time.
    cpu = stats.summarize(cpu_samples)
    return {
        "count": s["count"],
        "p50_ms": round(s["p50"] * 1000, 3),
        "p95_ms": round(s["p95"] * 1000, 3),
        "p99_ms": round(s["p99"] * 1000, 3),
        "cpu_p50_ms": round(cpu["p50"] * 1000, 3),
        "cpu_p99_ms": round(cpu["p99"] * 1000, 3),
    }


def measure(*, iterations: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from messaging import selectors
    from messaging.models import Conversation, Message

    reader = User.objects.get(email="reader@bench.test")
    deep = Conversation.objects.filter(participants__user=reader).order_by("-last_seq").first()
    out = {
        "messages": Message.objects.count(),
        "deep_conversation_messages": deep.last_seq,
        "history": {},
    }
    for depth in (1, 100, 10_000):
        # Depth d: the page a reader reaches after scrolling up d - 1 pages.
        before = None if depth == 1 else deep.last_seq - (depth - 1) * PAGE + 1
        if before is not None and before <= PAGE:
            out["history"][str(depth)] = None
            continue

        def page(before=before):
            rows = selectors.history(user=reader, conversation_id=deep.pk, before_seq=before)
            assert len(rows) == PAGE

        out["history"][str(depth)] = timed(page, iterations)
    # The plan of the deepest page, for the record.
    before = deep.last_seq - (10_000 - 1) * PAGE + 1
    qs = (
        Message.objects.filter(conversation_id=deep.pk, seq__lt=before)
        .select_related("sender")
        .order_by("-seq")[:PAGE]
    )
    out["history_plan_depth_10000"] = qs.explain()

    conversations = len(selectors.inbox(reader))

    def inbox():
        rows = selectors.inbox(reader)
        assert len(rows) == conversations
        return sum(r.unread_count for r in rows)

    out["inbox"] = {
        "conversations": conversations,
        "unread_total": inbox(),
        **timed(inbox, iterations),
    }
    # The inbox's statements alone, as the database sees them (the
    # database's share of the figure above; the rest is building the
    # queries and the rows), and the main one's plan, for the record.
    with CaptureQueriesContext(connection) as captured:
        selectors.inbox(reader)
    statements = [query["sql"] for query in captured.captured_queries]

    def inbox_statement():
        with connection.cursor() as cursor:
            cursor.execute(statements[0])
            assert len(cursor.fetchall()) == conversations

    def inbox_statements():
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                cursor.fetchall()

    out["inbox_statement"] = timed(inbox_statement, iterations)
    out["inbox_statements"] = {"count": len(statements), **timed(inbox_statements, iterations)}
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statements[0]}")
        out["inbox_plan"] = "\n".join(row[0] for row in cursor.fetchall())
    out["unread_total"] = timed(lambda: selectors.unread_total(reader), iterations)
    # What a socket's hello carries: every conversation's cursors and unread.
    out["hello"] = timed(lambda: selectors.socket_conversations(reader), iterations)
    # The same inbox with the objects the process had made before it
    # (Django's, the app's: about 145,000) frozen out of the garbage
    # collector, as Parley's server processes do once started
    # (``gc.freeze()`` in config/asgi.py): the inbox as a server runs it.
    # The slow tail above is mostly full collections walking them.
    gc.freeze()
    try:
        out["inbox_gc_frozen"] = timed(inbox, iterations)
    finally:
        gc.unfreeze()
    out["search"] = "pending (no search yet)"
    for name in ("search_messages", "search"):
        if hasattr(selectors, name):
            out["search"] = f"pending (selectors.{name} exists; not yet measured)"
    out["postgres"] = connection.cursor().connection.info.server_version
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--deep", type=int, default=600_000)
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Building a million rows takes longer than a request's statement
    # timeout (and the watchdog behind it); measuring does not need one.
    os.environ["DATABASE_STATEMENT_TIMEOUT_MS"] = "0"
    import django

    django.setup()
    from messaging.models import Message

    random.seed(1)
    built = None
    # The same size without thread-only replies is an older data set.
    made = Message.objects.count() == args.messages
    if args.fresh or not made or not Message.objects.filter(parent__isnull=False).exists():
        if Message.objects.exists():
            sys.exit(3)  # another data set: the caller recreates the database
        built = build(total=args.messages, deep=args.deep, conversations=args.conversations)
    result = measure(iterations=args.iterations)
    result["built"] = built or "reused"
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
