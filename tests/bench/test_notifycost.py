"""The notifications bench end to end at a tiny size: a real Celery worker
on the test Redis, the bench's own push endpoint and SMTP server. What is
asserted are counts (every push and every email arrives exactly once, every
task ran and succeeded), never a time."""

import pytest

from bench import notifycost
from tests import servers

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_the_notifications_bench_counts_every_push_and_email_once(tmp_path):
    from config.celery import app

    assert app.conf.broker_url.startswith("redis"), "needs the Redis broker"
    members = 5
    result = notifycost.measure(
        members=members,
        repeat=2,
        sends=3,
        worker_env=servers.child_environment(),
        log_dir=tmp_path,
        pool="solo",
        timeout=120,
    )
    recipients = members - 1
    assert result["recipients"] == recipients

    cost = result["cost_at_commit"]
    assert len(cost["runs"]) == 2
    for run in cost["runs"]:
        assert run["on_wall_ms"] > 0 and run["off_wall_ms"] > 0
        assert run["wall_ratio"] > 0
    # The hand-off is after commit: no statement more with notifications on.
    assert cost["statements_per_send"]["on"] == cost["statements_per_send"]["off"] > 0

    runs = result["delivery"]["runs"]
    assert len(runs) == 2
    for run in runs:
        assert run["finished"], run
        # The fan-out told every recipient (the sender is not told).
        assert run["fanout"]["tasks"] == 1
        assert run["fanout_created"] == recipients
        # Every device got exactly one push, every address exactly one email.
        assert run["pushes_received"] == recipients
        assert run["push_devices_reached"] == recipients
        assert run["push_most_to_one_device"] == 1
        assert run["emails_received"] == recipients
        assert run["email_addresses_reached"] == recipients
        assert run["email_most_to_one_address"] == 1
        assert run["email"]["tasks"] == recipients
        assert run["emails_sent"] == recipients
        for part in ("fanout", "push", "email"):
            assert run[part]["states"] == {"SUCCESS": run[part]["tasks"]}
            assert run[part]["last_done_s"] >= 0
        assert run["last_push_or_email_done_s"] >= run["fanout"]["last_done_s"] >= 0
    table = notifycost.table(result)
    assert "last push/email" in table
    assert f"{recipients}/{recipients} pushes" in table


def test_bench_notify_is_a_subcommand_with_its_options():
    import subprocess
    import sys

    from bench import procs

    out = subprocess.run(
        [sys.executable, "-m", "bench", "notify", "--help"],
        cwd=procs.ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    for option in ("--members", "--repeat", "--sends", "--pool"):
        assert option in out.stdout
