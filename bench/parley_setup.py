"""Populate the benchmark database: people, their sessions, conversations.

Runs in its own process with the same environment as the bench servers
(``DATABASE_URL`` naming the bench database, the same ``SECRET_KEY``), and
prints JSON: ``{"cookie_name", "users": [{"id", "session"}], "rooms":
[{"id", "members": [user index, ...]}]}``.

Room ``k`` has ``size`` members: a platform admin, who creates the group
through ``messaging.services.create_conversation``, and students. Sessions
are real Django sessions of logged-in users (what ``django.contrib.auth.login``
stores), so the servers authenticate sockets exactly as for a browser.
"""

import argparse
import json
import os
import sys


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rooms", type=int, default=20)
    parser.add_argument("--size", type=int, default=10)
    args = parser.parse_args()

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.auth.hashers import make_password
    from django.contrib.sessions.backends.db import SessionStore

    from accounts.models import Role, User
    from messaging import services
    from messaging.models import ConversationType

    password = make_password("bench-password-not-secret")  # hashed once, shared
    users = []
    for k in range(args.rooms):
        for j in range(args.size):
            role = Role.ADMIN if j == 0 else Role.STUDENT
            users.append(
                User(
                    email=f"bench-{k}-{j}@bench.test",
                    display_name=f"Bench {k}.{j}",
                    role=role,
                    password=password,
                )
            )
    User.objects.bulk_create(users, batch_size=500)

    rooms = []
    for k in range(args.rooms):
        members = users[k * args.size : (k + 1) * args.size]
        conversation = services.create_conversation(
            creator=members[0],
            kind=ConversationType.GROUP,
            participants=members[1:],
            title=f"Bench room {k}",
        )
        rooms.append(
            {"id": str(conversation.pk), "members": list(range(k * args.size, (k + 1) * args.size))}
        )

    out_users = []
    for user in users:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        out_users.append({"id": str(user.pk), "session": session.session_key})

    json.dump(
        {"cookie_name": settings.SESSION_COOKIE_NAME, "users": out_users, "rooms": rooms},
        sys.stdout,
    )


if __name__ == "__main__":
    main()
