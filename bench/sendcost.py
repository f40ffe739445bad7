"""Cost of one ``services.send_message`` in isolation: SQL statements, wall
and CPU milliseconds per send, and the CPU of the PostgreSQL backend that
served them, publishing switched off. ``--rate-check`` spends the sender's
send token first, as the socket does.

Runs against the ``parley_bench`` database a ``python -m bench --only parley``
run leaves behind, from any checkout (run it with that checkout as the
working directory and first on ``PYTHONPATH`` to compare a candidate fix):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/parley_bench \\
    REDIS_URL=redis://127.0.0.1:6379/13 PARLEY_PROFILE=embedded python -m bench.sendcost
"""

import argparse
import json
import os
import time
import uuid


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sends", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--rate-check", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from messaging import events, services
    from messaging.models import Conversation
    from messaging.realtime import ratelimit

    events.publish = lambda *a, **k: None  # the database path only
    conversation = Conversation.objects.order_by("id").first()
    members = [User.objects.get(pk=p.user_id) for p in conversation.participants.all()]

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (backend,) = cursor.fetchone()

    def backend_cpu() -> float:
        """The backend's CPU seconds so far (PostgreSQL on this machine)."""
        with open(f"/proc/{backend}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def run(n):
        wall, cpu, pg = time.perf_counter(), time.process_time(), backend_cpu()
        for i in range(n):
            if args.rate_check:
                sender = members[i % len(members)]
                ratelimit.spend_send(sender)
            services.send_message(
                sender=members[i % len(members)],
                conversation_id=conversation.pk,
                content="cost",
                client_id=uuid.uuid4(),
            )
        return {
            "wall_ms": round((time.perf_counter() - wall) / n * 1000, 2),
            "cpu_ms": round((time.process_time() - cpu) / n * 1000, 2),
            "postgresql_cpu_ms": round((backend_cpu() - pg) / n * 1000, 2),
        }

    run(10)
    with CaptureQueriesContext(connection) as queries:
        run(1)
    print(
        json.dumps(
            {
                "statements_per_send": len(queries.captured_queries),
                "runs": [run(args.sends) for _ in range(args.repeat)],
            }
        )
    )


if __name__ == "__main__":
    main()
