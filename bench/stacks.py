"""The three stacks under test, each as two server processes on 127.0.0.1.

Every stack gives the load generator the same shapes: K rooms of S members
(``Shape``; the first is the main one, 20 × 10), one socket per member,
members alternating between the two processes. Each shape has members of
its own (for Parley: people of their own), numbered one after another.
"""

import hashlib
import json
import os
import re
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench import procs
from bench.loadgen import Endpoint, Room

BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
BENCH_PG = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432")


# A server inherits only these from the caller: the process's own setting
# up and the bench's knobs. Each stack sets the rest itself; the caller's
# values (the test suite's embedded profile, a developer's DATABASE_URL or
# DATABASE_POOL=false, which made every send open a connection) must not
# leak into a server and change what is measured.
_INHERITED = ("PATH", "HOME", "USER", "LANG", "LC_", "TZ", "TMPDIR", "VIRTUAL_ENV", "BENCH_")


@dataclass(frozen=True)
class Shape:
    """``rooms`` rooms of ``size`` members; ``senders`` of each room send
    (None: every member)."""

    rooms: int
    size: int
    senders: int | None = None

    @property
    def members(self) -> int:
        return self.rooms * self.size

    @property
    def label(self) -> str:
        text = f"{self.rooms}×{self.size}"
        return text if self.senders is None else f"{text}, {self.senders} senders"

    @property
    def key(self) -> str:
        text = f"{self.rooms}x{self.size}"
        return text if self.senders is None else f"{text}/{self.senders}"


_SHAPE = re.compile(r"^\s*(\d+)\s*[x×]\s*(\d+)\s*(?:/\s*(\d+)\s*)?$")


def parse_shape(text: str) -> Shape:
    """``"20x10"`` (20 rooms of 10, every member sends) or ``"1x500/5"``
    (one room of 500, 5 of them send)."""
    found = _SHAPE.match(text)
    if not found:
        raise ValueError(f"{text!r} is not a shape: ROOMSxSIZE or ROOMSxSIZE/SENDERS, e.g. 1x500/5")
    rooms, size = int(found[1]), int(found[2])
    senders = int(found[3]) if found[3] else None
    if rooms < 1 or size < 1:
        raise ValueError(f"{text!r}: rooms and size must be at least 1")
    if senders is not None and not 1 <= senders <= size:
        raise ValueError(f"{text!r}: senders must be between 1 and the room size")
    return Shape(rooms, size, None if senders == size else senders)


def parse_shapes(text: str) -> list[Shape]:
    """A comma list of shapes; empty for none."""
    return [parse_shape(part) for part in text.split(",") if part.strip()]


def parley_env_overrides() -> dict[str, str]:
    """``BENCH_PARLEY_ENV``: settings for Parley's servers, as
    ``NAME=value`` pairs separated by spaces (``PARLEY_LIVE_ORDER_HOLD_MS=500
    DATABASE_POOL_MAX=8``): the way to measure a setting, since nothing
    else of the caller's environment reaches a server."""
    pairs = os.environ.get("BENCH_PARLEY_ENV", "").split()
    malformed = [pair for pair in pairs if "=" not in pair or pair.startswith("=")]
    if malformed:
        raise SystemExit(f"BENCH_PARLEY_ENV: expected NAME=value, got {' '.join(malformed)}")
    return dict(pair.split("=", 1) for pair in pairs)


def _base_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k.startswith(_INHERITED)}
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = str(procs.ROOT)
    return env


class Stack:
    name = ""
    protocol = "relay"
    path = "/"
    root = procs.ROOT

    def __init__(self, *, shapes: list[Shape], log_dir: Path, run_id: str):
        self.shapes = shapes
        # The first member and the first room of each shape, counted over
        # every shape before it.
        self.member_offsets, self.room_offsets = [], []
        members = rooms = 0
        for shape in shapes:
            self.member_offsets.append(members)
            self.room_offsets.append(rooms)
            members += shape.members
            rooms += shape.rooms
        self.n_members = members
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
        self.start_servers()

    def restart(self) -> None:
        """Fresh server processes on new ports, the prepared data kept (a
        memory figure that earlier phases' freed heap would flatter)."""
        self.stop()
        self.start_servers()

    def start_servers(self) -> None:
        self.ports = []
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

    def count_in_logs(self, text: str) -> int:
        """Lines of the running servers' logs that contain ``text``."""
        count = 0
        for server in self.servers:
            server._log.flush()
            with open(server.log_path, errors="replace") as log:
                count += sum(1 for line in log if text in line)
        return count

    @property
    def pids(self) -> list[int]:
        """The server processes and their children (granian's workers)."""
        return procs.with_descendants([s.pid for s in self.servers])

    @property
    def profile_pid(self) -> int:
        """The process that serves the first server's sockets: the server
        itself, or its last-started child when it has workers."""
        family = procs.with_descendants([self.servers[0].pid])
        return max(family[1:], default=family[0])

    # -- what the generator connects ---------------------------------------------

    def room_key(self, k: int) -> str:
        """The key of room ``k``, counted over every shape."""
        return f"{self.run_id}-r{k}"

    def endpoint(self, member: int, room_key: str, copy: int = 0) -> Endpoint:
        port = self.ports[(member + copy) % 2]
        return Endpoint(url=f"ws://127.0.0.1:{port}{self.path}", rooms=[room_key])

    def plan(self, shape_index: int = 0) -> tuple[list[Endpoint], list[Room]]:
        """The sockets and rooms of one shape; a room's senders are its
        first members (alternating processes, as all members do)."""
        shape = self.shapes[shape_index]
        first_member = self.member_offsets[shape_index]
        first_room = self.room_offsets[shape_index]
        endpoints, rooms = [], []
        for k in range(shape.rooms):
            key = self.room_key(first_room + k)
            members = []
            for j in range(shape.size):
                members.append(len(endpoints))
                endpoints.append(self.endpoint(first_member + k * shape.size + j, key))
            senders = None if shape.senders is None else members[: shape.senders]
            rooms.append(Room(key, members, senders))
        return endpoints, rooms

    def member_room(self, member: int) -> str:
        """The key of the one room ``member`` (counted over every shape) is in."""
        for index in reversed(range(len(self.shapes))):
            if member >= self.member_offsets[index]:
                shape = self.shapes[index]
                k = (member - self.member_offsets[index]) // shape.size
                return self.room_key(self.room_offsets[index] + k)
        raise IndexError(member)

    def shape_members(self, shape_index: int) -> range:
        """The members of one shape, counted over every shape."""
        first = self.member_offsets[shape_index]
        return range(first, first + self.shapes[shape_index].members)

    def idle_endpoints(
        self, count: int, start: int = 0, members: list[int] | None = None
    ) -> list[Endpoint]:
        """Sockets ``start`` … ``start + count - 1`` of the idle set, opened by
        ``members`` (default: every member of every shape) in turn: each in
        its member's room, alternating processes; each member opens several
        when the count exceeds them."""
        members = list(range(self.n_members)) if members is None else members
        n = len(members)
        return [
            self.endpoint(members[i % n], self.member_room(members[i % n]), i // n)
            for i in range(start, start + count)
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
    server processes (the Procfile's, or ``BENCH_PARLEY_SERVER``'s),
    logged-in users, every message stored and acked."""

    name = "parley"
    protocol = "parley"
    path = "/ws/"
    # Dropped and made again by every run: two runs at once need two names.
    database = os.environ.get("BENCH_PARLEY_DATABASE", "parley_bench")
    description = "Parley production profile: 2 servers, PostgreSQL, RedisPubSubChannelLayer"

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
        # A candidate setting, chosen on purpose (recorded with the run).
        env.update(parley_env_overrides())
        return env

    def prepare(self):
        env = self.env()
        template = migrated_template(self.root)
        if database_exists(template):
            copy_database(template, self.database)
        else:
            recreate_database(self.database)
            subprocess.run(
                [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
                cwd=self.root,
                env=env,
                check=True,
                timeout=600,
            )
            keep_as_template(self.database, template)
        out = subprocess.run(
            [
                # This checkout's setup script, whichever checkout the
                # servers run (BENCH_PARLEY_ROOT may predate it).
                sys.executable,
                "-c",
                "import runpy, sys; runpy.run_path(sys.argv.pop(1), run_name='__main__')",
                str(procs.ROOT / "bench" / "parley_setup.py"),
                "--shapes",
                ",".join(shape.key for shape in self.shapes),
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
        server = os.environ.get("BENCH_PARLEY_SERVER") or None  # None: the Procfile's
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


TEMPLATE_PREFIX = "parley_bench_tpl_"


def migrated_template(root: Path) -> str:
    """The name of a migrated, empty database for the checkout at ``root``:
    it changes whenever any migration file does, so a template is never
    used for other migrations than its own."""
    digest = hashlib.sha1()
    migrations = [*root.glob("*/migrations/*.py"), *root.glob("*/*/migrations/*.py")]
    for path in sorted(migrations):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return TEMPLATE_PREFIX + digest.hexdigest()[:16]


def copy_database(template: str, name: str) -> None:
    """``name``, made afresh as a copy of ``template`` (seconds, where
    migrating takes half a minute)."""
    drop_database(name)
    with _maintenance_connection() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


def keep_as_template(name: str, template: str) -> None:
    """Keep a copy of the freshly migrated ``name`` as ``template``, and
    drop older templates (other migrations)."""
    with _maintenance_connection() as conn:
        old = [
            row[0]
            for row in conn.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s",
                (TEMPLATE_PREFIX + "%",),
            )
        ]
    for other in old:
        if other != template:
            drop_database(other)
    copy_database(name, template)


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
