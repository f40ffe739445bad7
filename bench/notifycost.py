"""What notifications cost: ``python -m bench notify`` (docs/benchmarks.md,
"Notifications").

Two figures for one message with ``@all`` to a group of ``--members``
people (the sender, a platform admin, included; everyone else is mentioned,
so in-app, push and email are on by their default preferences):

1. **Cost at commit.** ``messaging.services.send_message`` timed from the
   call until it returns: the transaction committed and its on-commit work
   done (the ``message.new`` publish and, with notifications on, the
   nudge: the conversation noted for the process's next hand-off, one
   ``notify_conversations`` task per ``PARLEY_FANOUT_NUDGE_SECONDS``, see
   ``notifications.services.fanout_cursor``). The fan-out itself runs later,
   in a worker, and is not in this figure. *Off* is the same send, same
   content, same process, with the nudge left out: Parley as it would be
   without notifications. Preferences switched off would not do: they are read by
   the fan-out, after commit, so the send would cost the same. On and off
   alternate send by send, so the machine's noise falls on both alike; SQL
   statements are counted on a separate send of each. No worker runs.

2. **Commit to the last task done.** A real worker (``celery -A config
   worker``, prefork by default, on the bench Redis) takes the fan-out, the
   push tasks and the missed-message email tasks
   (``PARLEY_MISSED_EMAIL_DELAY_SECONDS=0``); the fan-out's figure includes
   the nudge window. Every recipient has one push
   subscription whose endpoint is an HTTP server in this process answering
   201, and an address at an SMTP server (aiosmtpd) in this process. The
   worker logs every task's start and end (``bench.tasklog``); the clock
   starts at commit (the first on-commit callback of the send). Every push
   and every email is counted at its sink, each must arrive exactly once.

The parent (``python -m bench notify``) recreates the ``parley_bench_notify``
database, migrates it and runs ``python -m bench.notifycost`` with the
embedded profile pointed at the bench PostgreSQL and Redis; that process
prints JSON. ``measure`` is the part the test suite calls in-process.
"""

import argparse
import base64
import json
import math
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bench.childrun import log

DATABASE = "parley_bench_notify"


# --- Sinks: a push service and a mail server, both in this process --------------------


class PushSink:
    """An HTTP server answering 201 to every POST (what a push service says
    when it accepts a message), remembering the path and when it arrived."""

    def __init__(self) -> None:
        hits = self.hits = []  # type: list[tuple[str, float]]
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 - http.server's name
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    hits.append((self.path, time.time()))
                self.send_response(201)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def endpoint(self, key: str) -> str:
        return f"http://127.0.0.1:{self.port}/push/{key}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class MailSink:
    """aiosmtpd on a free port, remembering each message's recipients and
    when it arrived."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        hits = self.hits = []  # type: list[tuple[tuple[str, ...], float]]

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802
                hits.append((tuple(envelope.rcpt_tos), time.time()))
                return "250 Message accepted"

        from bench.procs import free_port

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.controller.stop()


# --- The worker -------------------------------------------------------------------------


class Worker:
    """``celery -A config worker`` in its own process group, with
    ``bench.tasklog`` loaded."""

    def __init__(self, env: dict, log_path: Path, task_log: Path, pool: str, concurrency: int):
        self.log_path, self.task_log = log_path, task_log
        self._out = open(log_path, "ab")  # noqa: SIM115 - closed in stop()
        argv = [sys.executable, "-m", "celery", "-A", "config", "worker"]
        argv += ["--include", "bench.tasklog", "--pool", pool, "--loglevel", "INFO"]
        argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
        argv += ["--hostname", f"bench-{uuid.uuid4().hex[:8]}@%h"]
        if pool == "prefork":
            argv += ["--concurrency", str(concurrency)]
        self.process = subprocess.Popen(
            argv,
            cwd=Path(__file__).resolve().parents[1],
            env={**env, "BENCH_TASK_LOG": str(task_log), "PYTHONUNBUFFERED": "1"},
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while "ready." not in self.text():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not start:\n{self.text()[-3000:]}")
            time.sleep(0.2)

    def tasks(self, since: float) -> list[dict]:
        if not self.task_log.exists():
            return []
        rows = [json.loads(line) for line in self.task_log.read_text().splitlines() if line]
        return [r for r in rows if (r["start"] or r["end"]) >= since]

    def stop(self) -> None:
        import signal

        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._out.close()


# --- Measuring (Django set up by the caller) ---------------------------------------------


def _people(members: int, token: str):
    """A platform admin (may say ``@all``) and ``members - 1`` students,
    each with an email address."""
    from django.contrib.auth.hashers import make_password

    from accounts.models import Role, User

    password = make_password("bench-password-not-secret")
    users = [
        User(
            email=f"notify-{token}-{j}@bench.test",
            display_name=f"Notify {token} {j}",
            role=Role.ADMIN if j == 0 else Role.STUDENT,
            password=password,
        )
        for j in range(members)
    ]
    User.objects.bulk_create(users, batch_size=500)
    return users[0], users[1:]


def _subscribe(users, push: PushSink) -> None:
    """One push device per person, its endpoint at ``push``. One key pair
    for all: pywebpush encrypts every send afresh either way."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from notifications.models import PushSubscription

    def b64(raw: bytes) -> str:
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    PushSubscription.objects.bulk_create(
        [
            PushSubscription(
                user=user,
                endpoint=push.endpoint(str(user.pk)),
                p256dh=b64(point),
                auth=b64(os.urandom(16)),
            )
            for user in users
        ],
        batch_size=500,
    )


def _group(sender, recipients, title: str):
    from messaging import services
    from messaging.models import ConversationType

    return services.create_conversation(
        creator=sender, kind=ConversationType.GROUP, participants=recipients, title=title
    )


class _Sender:
    """``send_message`` with the notifications hand-off on or off, and the
    moment of commit noted (the first on-commit callback of the send)."""

    def __init__(self, sender, conversation_id) -> None:
        from django.db import transaction

        from notifications.services import fanout_cursor

        self.sender, self.conversation_id = sender, conversation_id
        self._module, self._real = fanout_cursor, fanout_cursor.nudge_on_commit
        self.committed_at: float | None = None

        def on(conversation_id):
            transaction.on_commit(self._mark)  # before the nudge: runs first
            self._real(conversation_id)

        def off(conversation_id):
            transaction.on_commit(self._mark)

        self._modes = {True: on, False: off}

    def _mark(self) -> None:
        self.committed_at = time.time()

    def send(self, *, notifications: bool, content: str = "@all cost check") -> tuple[float, float]:
        """One send; (wall ms, CPU ms) of the call."""
        from messaging import services

        self._module.nudge_on_commit = self._modes[notifications]
        try:
            wall, cpu = time.perf_counter(), time.process_time()
            services.send_message(
                sender=self.sender,
                conversation_id=self.conversation_id,
                content=content,
                client_id=uuid.uuid4(),
            )
            return (time.perf_counter() - wall) * 1000, (time.process_time() - cpu) * 1000
        finally:
            self._module.nudge_on_commit = self._real


def _spread(values: list[float]) -> dict:
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
    }


def cost_at_commit(sender, conversation, *, sends: int, repeat: int) -> dict:
    """Figure 1: per repetition, ``sends`` sends with notifications on and as
    many off, alternating; the median of each, and their ratio."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    bench = _Sender(sender, conversation.pk)
    for i in range(4):  # warm caches and connections for both
        bench.send(notifications=i % 2 == 0)
    statements = {}
    for mode in (True, False):
        with CaptureQueriesContext(connection) as queries:
            bench.send(notifications=mode)
        statements["on" if mode else "off"] = len(queries.captured_queries)
    runs = []
    for _ in range(repeat):
        samples: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
        for i in range(sends):
            for mode in (True, False) if i % 2 == 0 else (False, True):
                samples[mode].append(bench.send(notifications=mode))
        run = {}
        for mode, name in ((True, "on"), (False, "off")):
            run[f"{name}_wall_ms"] = round(statistics.median(w for w, _ in samples[mode]), 3)
            run[f"{name}_cpu_ms"] = round(statistics.median(c for _, c in samples[mode]), 3)
        run["wall_ratio"] = round(run["on_wall_ms"] / run["off_wall_ms"], 3)
        run["cpu_ratio"] = (
            round(run["on_cpu_ms"] / run["off_cpu_ms"], 3) if run["off_cpu_ms"] else None
        )
        runs.append(run)
        log(
            f"notify: at commit, on {run['on_wall_ms']} ms / off {run['off_wall_ms']} ms "
            f"(x{run['wall_ratio']}), CPU {run['on_cpu_ms']} / {run['off_cpu_ms']} ms"
        )
    summary = {
        key: _spread([r[key] for r in runs if r[key] is not None])
        for key in runs[0]
        if any(r[key] is not None for r in runs)
    }
    return {
        "sends_per_mode_per_run": sends,
        "statements_per_send": statements,
        "runs": runs,
        "summary": summary,
    }


def _wait(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _task_figures(rows: list[dict], committed: float) -> dict:
    if not rows:
        return {"tasks": 0}
    return {
        "tasks": len(rows),
        "task_seconds_sum": round(sum(r["end"] - r["start"] for r in rows), 3),
        "task_seconds_max": round(max(r["end"] - r["start"] for r in rows), 3),
        "first_start_s": round(min(r["start"] for r in rows) - committed, 3),
        "last_done_s": round(max(r["end"] for r in rows) - committed, 3),
        "states": dict(Counter(r["state"] for r in rows)),
    }


def _names(row: dict, conversation_id) -> bool:
    """Whether a fan-out task's arguments (a list of conversation ids) name
    this conversation."""
    args = row.get("args") or [[]]
    return str(conversation_id) in (args[0] or [])


def delivery_run(sender, conversation, recipients, *, worker, push, mail, timeout: float) -> dict:
    """Figure 2, once: send, then wait until the fan-out, every push task and
    every email task has run and every push and email has arrived."""
    from django.conf import settings

    from notifications.tasks import deliver_push, notify_conversations, send_missed_messages

    expected = len(recipients)
    push_tasks = math.ceil(expected / max(1, settings.PUSH["TASK_CHUNK"]))
    push.hits.clear()
    mail.hits.clear()
    since = time.time()
    bench = _Sender(sender, conversation.pk)
    bench.send(notifications=True, content="@all the notifications bench is here")
    committed = bench.committed_at or since

    def by_name(name: str) -> list[dict]:
        return [r for r in worker.tasks(since) if r["task"] == name]

    def done() -> bool:
        return (
            len(push.hits) >= expected
            and len(mail.hits) >= expected
            and any(_names(r, conversation.pk) for r in by_name(notify_conversations.name))
            and len(by_name(deliver_push.name)) >= push_tasks
            and len(by_name(send_missed_messages.name)) >= expected
        )

    finished = _wait(done, timeout)
    time.sleep(0.5)  # anything sent twice would show now
    fanout, pushes, emails = (
        # This run's conversation's, whatever else the worker ran meanwhile.
        [r for r in by_name(notify_conversations.name) if _names(r, conversation.pk)],
        by_name(deliver_push.name),
        by_name(send_missed_messages.name),
    )
    endpoints = Counter(path.rsplit("/", 1)[-1] for path, _ in push.hits)
    addresses = Counter(rcpt for rcpts, _ in mail.hits for rcpt in rcpts)
    out = {
        "finished": finished,
        "recipients": expected,
        "fanout": _task_figures(fanout, committed),
        "push": _task_figures(pushes, committed),
        "email": _task_figures(emails, committed),
        "pushes_received": len(push.hits),
        "push_devices_reached": len(endpoints),
        "push_most_to_one_device": max(endpoints.values(), default=0),
        "emails_received": len(mail.hits),
        "email_addresses_reached": len(addresses),
        "email_most_to_one_address": max(addresses.values(), default=0),
        "emails_sent": sum(1 for r in emails if r["retval"] is True),
        "fanout_created": fanout[0]["retval"] if fanout else None,
    }
    ends = [r["end"] for r in pushes + emails]
    out["last_push_or_email_done_s"] = round(max(ends) - committed, 3) if ends else None
    arrivals = [t for _, t in push.hits] + [t for _, t in mail.hits]
    out["last_arrival_s"] = round(max(arrivals) - committed, 3) if arrivals else None
    log(
        f"notify: commit → fan-out done {out['fanout'].get('last_done_s')} s, pushes done "
        f"{out['push'].get('last_done_s')} s, emails done {out['email'].get('last_done_s')} s; "
        f"{out['pushes_received']} pushes, {out['emails_received']} emails"
    )
    return out


def measure(
    *,
    members: int,
    repeat: int,
    sends: int,
    worker_env: dict,
    log_dir: Path,
    pool: str = "prefork",
    concurrency: int = 2,
    timeout: float = 600,
) -> dict:
    """Both figures on the database Django is set up with; ``worker_env`` is
    the environment of the worker (it must name the same database and Redis)."""
    from django.conf import settings

    from config.celery import app
    from notifications import vapid
    from notifications.services import fanout_cursor

    token = uuid.uuid4().hex[:6]
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False  # tasks go to the broker, as in production
    push, mail = PushSink(), MailSink()
    worker = None
    try:
        vapid.vapid()  # the embedded profile makes its key pair once, before the worker reads it
        sender, recipients = _people(members, token)
        _subscribe(recipients, push)
        cost_group = _group(sender, recipients, f"Notify cost {token}")
        log(f"notify: {members} members; cost at commit, {repeat} × {sends} sends each way")
        cost = cost_at_commit(sender, cost_group, sends=sends, repeat=repeat)
        groups = [_group(sender, recipients, f"Notify delivery {token} {k}") for k in range(repeat)]
        # The cost phase's messages are not for delivery: walk their fan-out
        # here, so that a nudge of them the worker may still take (the
        # nudger hands over a few times a second) finds nothing to do.
        fanout_cursor.notify_conversation(cost_group.pk)
        # What the sends above queued or would hand over: no worker was meant to run it.
        fanout_cursor.discard_nudges()
        app.control.purge()
        worker = Worker(
            {
                **worker_env,
                "CELERY_TASK_ALWAYS_EAGER": "false",
                "EMAIL_URL": mail.url,
                "PARLEY_MISSED_EMAIL_DELAY_SECONDS": "0",
            },
            log_dir / f"notify-worker-{token}.log",
            log_dir / f"notify-tasks-{token}.jsonl",
            pool,
            concurrency,
        )
        worker.wait_ready()
        time.sleep(1.0)
        app.control.purge()  # anything queued while it started (the groups' "added" fan-outs)
        runs = [
            delivery_run(
                sender, group, recipients, worker=worker, push=push, mail=mail, timeout=timeout
            )
            for group in groups
        ]
        summary = {}
        for key in ("last_push_or_email_done_s", "last_arrival_s"):
            values = [r[key] for r in runs if r[key] is not None]
            if values:
                summary[key] = _spread(values)
        for part in ("fanout", "push", "email"):
            for key in ("last_done_s", "task_seconds_sum", "first_start_s"):
                values = [r[part][key] for r in runs if key in r[part]]
                if values:
                    summary[f"{part}_{key}"] = _spread(values)
        return {
            "members": members,
            "recipients": len(recipients),
            "repeat": repeat,
            "push_task_chunk": settings.PUSH["TASK_CHUNK"],
            "worker": {
                "command": "celery -A config worker --include bench.tasklog --pool "
                + pool
                + (f" --concurrency {concurrency}" if pool == "prefork" else ""),
                "pool": pool,
                "concurrency": concurrency if pool == "prefork" else 1,
            },
            "cost_at_commit": cost,
            "delivery": {"runs": runs, "summary": summary},
        }
    finally:
        if worker is not None:
            worker.stop()
        push.stop()
        mail.stop()
        app.conf.task_always_eager = eager


# --- The two processes --------------------------------------------------------------------


def _measure_main() -> None:
    """In the child: Django on the bench database; prints the JSON."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, required=True)
    parser.add_argument("--repeat", type=int, required=True)
    parser.add_argument("--sends", type=int, required=True)
    parser.add_argument("--pool", required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--log-dir", required=True)
    options = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    result = measure(
        members=options.members,
        repeat=options.repeat,
        sends=options.sends,
        worker_env=dict(os.environ),
        log_dir=Path(options.log_dir),
        pool=options.pool,
        concurrency=options.concurrency,
    )
    json.dump(result, sys.stdout)


def parse_args(argv) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench notify",
        description="Notifications' cost at commit (on against off) and the time from commit "
        "to the last push and email task, with a real Celery worker.",
    )
    parser.add_argument(
        "--members", type=int, default=500, help="group size, sender included (500)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="repetitions of each figure (5)")
    parser.add_argument(
        "--sends", type=int, default=20, help="sends each way per repetition, figure 1 (20)"
    )
    parser.add_argument("--pool", choices=("prefork", "solo"), default="prefork")
    parser.add_argument("--concurrency", type=int, default=2, help="prefork worker processes (2)")
    parser.add_argument("--out", help="results file (default bench/results/notify-<time>.json)")
    return parser.parse_args(argv)


def table(results: dict) -> str:
    cost = results["cost_at_commit"]["summary"]
    statements = results["cost_at_commit"]["statements_per_send"]
    delivery = results["delivery"]["summary"]

    def spread(figure: dict | None, unit: str) -> str:
        if not figure:
            return "—"
        return f"{figure['median']:g} {unit} ({figure['min']:g}–{figure['max']:g})"

    lines = [
        f"notifications, {results['members']} members, {results['repeat']} repetitions "
        "(median, min–max of the repetitions)",
        f"  at commit, on    {spread(cost['on_wall_ms'], 'ms')}, CPU "
        f"{spread(cost['on_cpu_ms'], 'ms')}, {statements['on']} statements",
        f"  at commit, off   {spread(cost['off_wall_ms'], 'ms')}, CPU "
        f"{spread(cost['off_cpu_ms'], 'ms')}, {statements['off']} statements",
        f"  on / off         wall {spread(cost['wall_ratio'], '×')}, CPU "
        f"{spread(cost.get('cpu_ratio'), '×')}",
        f"  worker           {results['worker']['command']}",
        f"  fan-out done     {spread(delivery.get('fanout_last_done_s'), 's')} after commit",
        f"  pushes done      {spread(delivery.get('push_last_done_s'), 's')} "
        f"(task time {spread(delivery.get('push_task_seconds_sum'), 's')})",
        f"  emails done      {spread(delivery.get('email_last_done_s'), 's')} "
        f"(task time {spread(delivery.get('email_task_seconds_sum'), 's')})",
        f"  last push/email  {spread(delivery.get('last_push_or_email_done_s'), 's')} after commit",
    ]
    for run in results["delivery"]["runs"]:
        lines.append(
            f"  run: {run['pushes_received']}/{run['recipients']} pushes "
            f"(most to one device {run['push_most_to_one_device']}), "
            f"{run['emails_received']}/{run['recipients']} emails "
            f"(most to one address {run['email_most_to_one_address']})"
        )
    return "\n".join(lines)


def cli(argv) -> int:
    """``python -m bench notify``: a fresh database, the child, the table."""
    from bench import childrun

    args = parse_args(argv)
    return childrun.run(
        scenario="notify",
        database=DATABASE,
        child_args=["--members", str(args.members), "--repeat", str(args.repeat)]
        + ["--sends", str(args.sends), "--pool", args.pool]
        + ["--concurrency", str(args.concurrency)],
        argv=argv,
        table=table,
        out=args.out,
        # The child's email goes to its own SMTP server.
        drop_env=["EMAIL_URL"],
    )


if __name__ == "__main__":
    _measure_main()
