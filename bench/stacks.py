"""The three stacks under test, each as two server processes on 127.0.0.1.

Every stack gives the load generator the same shape: K rooms of S members,
one socket per member, members alternating between the two processes.
"""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from bench import procs
from bench.loadgen import Endpoint, Room

BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
BENCH_PG = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")


# Each stack sets these itself; the caller's values (the test suite's
# embedded profile, a developer's DATABASE_URL) must not leak into a server.
_NOT_INHERITED = ("PARLEY_PROFILE", "DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE", "DEBUG")


def _base_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in _NOT_INHERITED}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = str(procs.ROOT)
    return env


class Stack:
    name = ""
    protocol = "relay"
    path = "/"
    root = procs.ROOT

    def __init__(self, *, rooms: int, size: int, log_dir: Path, run_id: str):
        self.n_rooms = rooms
        self.size = size
        self.log_dir = log_dir
        self.run_id = run_id
        self.servers: list[procs.Server] = []
        self.ports: list[int] = []

    # -- lifecycle ----------------------------------------------------------------

    def prepare(self) -> None:
        """Anything before the servers start (databases, users)."""

    def argv(self, port: int) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict:
        return _base_env()

    def start(self) -> None:
        self.prepare()
        env = self.env()
        for _ in range(2):
            port = procs.free_port()
            self.ports.append(port)
            self.servers.append(
                procs.Server(
                    self.argv(port),
                    env=env,
                    port=port,
                    log_dir=self.log_dir,
                    name=self.name,
                    cwd=self.root,
                )
            )
        for server in self.servers:
            server.wait_listening()

    def stop(self) -> None:
        for server in self.servers:
            server.stop()
        self.servers = []

    @property
    def pids(self) -> list[int]:
        return [s.pid for s in self.servers]

    # -- what the generator connects ---------------------------------------------

    def room_key(self, k: int) -> str:
        return f"{self.run_id}-r{k}"

    def endpoint(self, member: int, room_key: str, copy: int = 0) -> Endpoint:
        port = self.ports[member % 2]
        return Endpoint(url=f"ws://127.0.0.1:{port}{self.path}", rooms=[room_key])

    def plan(self) -> tuple[list[Endpoint], list[Room]]:
        endpoints, rooms = [], []
        for k in range(self.n_rooms):
            key = self.room_key(k)
            members = []
            for j in range(self.size):
                members.append(len(endpoints))
                endpoints.append(self.endpoint(k * self.size + j, key))
            rooms.append(Room(key, members))
        return endpoints, rooms

    def idle_endpoints(self, count: int) -> list[Endpoint]:
        """``count`` sockets, each in one room, alternating processes; each
        member of the plan opens several when ``count`` exceeds them."""
        members = self.n_rooms * self.size
        return [
            self.endpoint(i % members, self.room_key((i % members) // self.size), i // members)
            for i in range(count)
        ]

    def describe(self) -> str:
        return self.name


class LimitStack(Stack):
    name = "limit"
    description = "raw websockets + Redis pub/sub (uvloop), no framework, no storage"

    def argv(self, port):
        return procs.limit_argv(port, BENCH_REDIS_URL, f"benchlimit-{self.run_id}")


class PeerStack(Stack):
    name = "peer"
    path = "/ws/"
    description = "Channels tutorial: daphne + channels-redis RedisChannelLayer, group per room"

    def argv(self, port):
        return procs.daphne_argv(port, "bench.baselines.peer.asgi:application")

    def env(self):
        env = _base_env()
        env["DJANGO_SETTINGS_MODULE"] = "bench.baselines.peer.settings"
        env["BENCH_REDIS_URL"] = BENCH_REDIS_URL
        env["BENCH_PEER_PREFIX"] = f"benchpeer-{self.run_id}"
        return env


class ParleyStack(Stack):
    """Parley in its production profile: PostgreSQL, Redis, DEBUG off, two
    daphne processes, logged-in users, every message stored and acked."""

    name = "parley"
    protocol = "parley"
    path = "/ws/"
    database = "parley_bench"
    description = "Parley production profile: daphne ×2, PostgreSQL, RedisPubSubChannelLayer"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        # BENCH_PARLEY_ROOT runs Parley from another checkout (a candidate
        # fix) under the same harness.
        self.root = Path(os.environ.get("BENCH_PARLEY_ROOT") or procs.ROOT).resolve()
        self.secret_key = secrets.token_urlsafe(40)
        self.setup: dict = {}

    def env(self):
        env = _base_env()
        env["PYTHONPATH"] = f"{self.root}:{procs.ROOT}"
        env.update(
            {
                # Named rather than left to the default, for the reader. The
                # production profile runs with DEBUG off and refuses it on.
                "PARLEY_PROFILE": "production",
                "DATABASE_URL": f"{BENCH_PG}/{self.database}",
                "REDIS_URL": BENCH_REDIS_URL,
                "SECRET_KEY": self.secret_key,
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "SECURE_SSL_REDIRECT": "false",
                "SESSION_COOKIE_SECURE": "false",
                "CSRF_COOKIE_SECURE": "false",
                "CHANNEL_LAYER_PREFIX": f"parleybench{self.run_id}",
                "CACHE_KEY_PREFIX": f"parleybench{self.run_id}",
                "CELERY_BROKER_URL": BENCH_REDIS_URL,
                "LOG_LEVEL": "WARNING",
                # The load spreads sends over every member; the per-person limit
                # (5/s) is policy, not capacity, so it is raised out of the way.
                # The token-bucket check itself still runs on every send.
                "PARLEY_SEND_RATE_PER_SECOND": "10000",
                "PARLEY_SEND_BURST": "10000",
            }
        )
        return env

    def prepare(self):
        recreate_database(self.database)
        env = self.env()
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=self.root,
            env=env,
            check=True,
            timeout=600,
        )
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.parley_setup",
                "--rooms",
                str(self.n_rooms),
                "--size",
                str(self.size),
            ],
            cwd=self.root,
            env=env,
            check=True,
            timeout=600,
            capture_output=True,
            text=True,
        )
        self.setup = json.loads(out.stdout)

    def argv(self, port):
        server = os.environ.get("BENCH_PARLEY_SERVER") or "daphne"
        return procs.parley_argv(port, "config.asgi:application", server)

    def room_key(self, k):
        return self.setup["rooms"][k]["id"]

    def endpoint(self, member, room_key, copy=0):
        port = self.ports[(member + copy) % 2]
        session = self.setup["users"][member]["session"]
        return Endpoint(
            url=f"ws://127.0.0.1:{port}{self.path}",
            rooms=[room_key],
            headers={"Cookie": f"{self.setup['cookie_name']}={session}"},
            # The origin check wants the server's own origin, port included.
            origin=f"http://127.0.0.1:{port}",
        )


STACKS = {"limit": LimitStack, "peer": PeerStack, "parley": ParleyStack}


def _maintenance_connection():
    """An autocommit connection to the bench PostgreSQL's ``postgres``
    database, where databases are made and dropped."""
    import psycopg

    url = urlsplit(BENCH_PG)
    return psycopg.connect(
        host=url.hostname or "127.0.0.1",
        port=url.port or 5432,
        user=url.username or "postgres",
        password=url.password,
        dbname="postgres",
        autocommit=True,
    )


def drop_database(name: str) -> None:
    """Drop ``name`` on the bench PostgreSQL (connections to it ended)."""
    with _maintenance_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def recreate_database(name: str) -> None:
    """Drop and create ``name`` on the bench PostgreSQL."""
    drop_database(name)
    with _maintenance_connection() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def database_exists(name: str) -> bool:
    with _maintenance_connection() as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            is not None
        )
