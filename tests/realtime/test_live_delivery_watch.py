"""The maintenance tick that tells sockets whether live delivery works
(docs/protocol.md, ``degraded``): every socket hears of an outage and of the
recovery, and while delivery works a tick looks only at the sockets told it
had stopped, not at every socket of the process every second."""

import pytest

from messaging.realtime import health, maintenance, presence
from messaging.realtime.backends import StoreUnavailable, presence_store

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


async def test_an_outage_and_its_recovery_reach_every_socket(
    open_socket, student, mentor, monkeypatch
):
    first, second = await open_socket(student), await open_socket(mentor)
    store = presence_store()

    async def unreachable():
        raise StoreUnavailable("down")

    monkeypatch.setattr(store, "ping", unreachable)
    health.report_failure("test", ConnectionError("down"))
    await maintenance.watch_live_delivery()
    for socket in (first, second):
        frame = await socket.recv_type("degraded")
        assert frame["live"] is False
    assert len(maintenance.told_stopped()) == 2

    # Told once: the next tick of the same outage says nothing again.
    await maintenance.watch_live_delivery()
    assert await first.nothing()

    monkeypatch.undo()
    await maintenance.watch_live_delivery()  # the probe answers: delivery is back
    for socket in (first, second):
        frame = await socket.recv_type("degraded")
        assert frame["live"] is True
    assert len(maintenance.told_stopped()) == 0
    for socket in (first, second):
        await socket.communicator.disconnect()


async def test_while_delivery_works_a_tick_looks_at_no_socket(open_socket, student, monkeypatch):
    socket = await open_socket(student)

    def every_socket():
        raise AssertionError("a tick looked at every socket while delivery works")

    monkeypatch.setattr(presence, "local_sockets", every_socket)
    await maintenance.watch_live_delivery()
    assert await socket.nothing()
    monkeypatch.undo()
    await socket.communicator.disconnect()
