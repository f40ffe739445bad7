"""Populate the benchmark database: people, their sessions, conversations.

Runs in its own process with the same environment as the bench servers
(``DATABASE_URL`` naming the bench database, the same ``SECRET_KEY``), and
prints JSON: ``{"cookie_name", "users": [{"id", "session"}], "rooms":
[{"id", "members": [user index, ...]}]}``.

``--shapes 20x10,2x100,1x500/5``: for each shape in turn, its rooms, each
with ``size`` people of its own (who sends is the load generator's
business; ``/5`` is ignored here). Users and rooms are numbered one after
another over the shapes. Room ``k`` has a platform admin, who creates the
group through ``messaging.services.create_conversation``, and students.
Sessions are real Django sessions of logged-in users (what
``django.contrib.auth.login`` stores), so the servers authenticate sockets
exactly as for a browser.

Run as a file (``runpy``) by bench/stacks.py, so that it needs nothing of
the checkout's own ``bench`` package.
"""

import argparse
import datetime
import json
import os
import re
import sys


def shapes(text: str) -> list[tuple[int, int]]:
    out = []
    for part in text.split(","):
        found = re.match(r"^\s*(\d+)\s*[x×]\s*(\d+)", part)
        if found:
            out.append((int(found[1]), int(found[2])))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--shapes", default="20x10")
    args = parser.parse_args()
    plan = shapes(args.shapes)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.base import VALID_KEY_CHARS
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from accounts.models import AccountSession, Role, User
    from accounts.sessions import SessionStore
    from messaging import services
    from messaging.models import ConversationType

    password = make_password("bench-password-not-secret")  # hashed once, shared
    expiry = timezone.now() + datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    users = []
    room_members = []  # per room, in order over the shapes: its users' indexes
    for n_rooms, size in plan:
        for _ in range(n_rooms):
            k = len(room_members)
            room_members.append(list(range(len(users), len(users) + size)))
            for j in range(size):
                users.append(
                    User(
                        email=f"bench-{k}-{j}@bench.test",
                        display_name=f"Bench {k}.{j}",
                        role=Role.ADMIN if j == 0 else Role.STUDENT,
                        password=password,
                    )
                )
    User.objects.bulk_create(users, batch_size=500)

    rooms = []
    for k, indexes in enumerate(room_members):
        members = [users[i] for i in indexes]
        conversation = services.create_conversation(
            creator=members[0],
            kind=ConversationType.GROUP,
            participants=members[1:],
            title=f"Bench room {k}",
        )
        rooms.append({"id": str(conversation.pk), "members": indexes})

    # The rows ``SessionStore.create()`` would write, one statement for all
    # (900 round trips otherwise): what the database backend reads back is
    # the same.
    out_users, rows = [], []
    store = SessionStore()
    for user in users:
        key = get_random_string(32, VALID_KEY_CHARS)
        data = {
            SESSION_KEY: str(user.pk),
            BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
            HASH_SESSION_KEY: user.get_session_auth_hash(),
        }
        rows.append(
            AccountSession(
                session_key=key, session_data=store.encode(data), expire_date=expiry, user=user
            )
        )
        out_users.append({"id": str(user.pk), "session": key})
    AccountSession.objects.bulk_create(rows, batch_size=500)

    json.dump(
        {"cookie_name": settings.SESSION_COOKIE_NAME, "users": out_users, "rooms": rooms},
        sys.stdout,
    )


if __name__ == "__main__":
    main()
