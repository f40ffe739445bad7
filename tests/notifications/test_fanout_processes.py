"""The fan-out's hand-off between real processes: a server process killed
after its sends were acknowledged but before it handed them over loses no
notification (the sweep tells them), and with a real Celery worker each
send is told once, through the conversations' cursors, not a task each."""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from notifications import tasks
from notifications.models import Notification
from tests.faults.peer import Peer
from tests.notifications.conftest import broker_messages, run_task
from tests.notifications.test_celery_worker import workers  # noqa: F401 - fixture
from tests.realtime.conftest import session_cookie

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

orm = sync_to_async


async def send_acknowledged(peer: Peer, conversation_id, texts: list[str]) -> list[int]:
    """Send each text and wait for its ack; the seqs acknowledged."""
    seqs = []
    for text in texts:
        client_id = await peer.send_message(conversation_id, text)
        reply = await peer.wait_for(
            lambda f, c=client_id: f.get("client_id") == c and f["type"] in ("ack", "error")
        )
        assert reply["type"] == "ack", reply
        seqs.append(reply["message"]["seq"])
    return seqs


def told(user) -> list[int]:
    return sorted(Notification.objects.filter(user=user).values_list("data__seq", flat=True))


async def test_a_server_killed_before_its_hand_off_loses_no_notification(
    asgi_server, direct, assigned, on_the_broker
):
    app = on_the_broker
    await orm(app.control.purge)()
    mentor, student = assigned
    # A window longer than the test: the process dies holding its nudge.
    server = asgi_server(extra_env={"PARLEY_FANOUT_NUDGE_SECONDS": "10"})
    peer = await Peer.open(server.ws_url, await orm(session_cookie)(mentor))
    try:
        await peer.wait_type("hello")
        seqs = await send_acknowledged(peer, direct.pk, [f"before the crash {n}" for n in range(3)])
    finally:
        server.kill()
        await peer.close()

    handed_over = [
        m.headers["task"]
        for m in await orm(broker_messages)(app)
        if m.headers["task"].startswith("notifications.")
    ]
    assert handed_over == []
    assert await orm(told)(student) == []

    # Beat's sweep, as the next minute would run it.
    assert await orm(run_task)(tasks.notify_pending) == 3
    assert await orm(told)(student) == seqs


async def test_a_real_worker_tells_each_send_once(
    asgi_server,
    direct,
    assigned,
    on_the_broker,
    workers,  # noqa: F811 - the fixture imported above
    tmp_path,
):
    await orm(on_the_broker.control.purge)()
    mentor, student = assigned
    worker = workers()
    server = asgi_server(log_dir=tmp_path)
    peer = await Peer.open(server.ws_url, await orm(session_cookie)(mentor))
    try:
        await peer.wait_type("hello")
        seqs = await send_acknowledged(peer, direct.pk, [f"worker {n}" for n in range(10)])
    finally:
        await peer.close()

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while await orm(told)(student) != seqs and loop.time() < deadline:
        await asyncio.sleep(0.2)
    assert await orm(told)(student) == seqs  # each once
    assert "notifications.tasks.notify_conversations" in worker.text()
    assert "notifications.tasks.notify_message[" not in worker.text()
