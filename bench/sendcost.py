"""Cost of one ``services.send_message`` in isolation: SQL statements, wall
and CPU milliseconds per send, publishing switched off.

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
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from messaging import events, services
    from messaging.models import Conversation

    events.publish = lambda *a, **k: None  # the database path only
    conversation = Conversation.objects.order_by("id").first()
    members = [User.objects.get(pk=p.user_id) for p in conversation.participants.all()]

    def run(n):
        wall, cpu = time.perf_counter(), time.process_time()
        for i in range(n):
            services.send_message(
                sender=members[i % len(members)],
                conversation_id=conversation.pk,
                content="cost",
                client_id=uuid.uuid4(),
            )
        return {
            "wall_ms": round((time.perf_counter() - wall) / n * 1000, 2),
            "cpu_ms": round((time.process_time() - cpu) / n * 1000, 2),
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
