"""The per-socket budget of ``read`` and ``delivered`` frames, with time
under the test's control (docs/protocol.md, "Receipts"): exact counts of
what is applied at once, held, and refused."""

import asyncio
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from messaging import services
from messaging.models import ConversationParticipant
from messaging.realtime import receipts

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

orm = sync_to_async


def send_many(conversation, sender, count: int) -> None:
    for n in range(count):
        services.send_message(
            sender=sender, conversation_id=conversation.pk, content=f"m{n}", client_id=uuid.uuid4()
        )


def cursor_of(conversation, user) -> tuple[int, int]:
    row = ConversationParticipant.objects.get(conversation=conversation, user=user)
    return row.last_read_seq, row.last_delivered_seq


async def wait_until(predicate, timeout: float = 10) -> None:
    """Wait for ``predicate()`` (a coroutine function) to hold."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await predicate():
        assert loop.time() < deadline, "the condition never held"
        await asyncio.sleep(0.02)


async def test_receipts_beyond_the_budget_are_held_and_applied_latest_first(
    open_socket, direct, assigned, monkeypatch, fake_clock
):
    monkeypatch.setitem(settings.PARLEY, "RECEIPT_FRAME_BURST", 20)
    monkeypatch.setitem(settings.PARLEY, "RECEIPT_FRAMES_PER_SECOND", 5)
    mentor, student = assigned
    await orm(send_many)(direct, mentor, 40)
    reader = await open_socket(student)
    sender = await open_socket(mentor)
    cid = str(direct.pk)

    # The burst: 20 frames applied at once, each a receipt to the members.
    for seq in range(1, 21):
        reply = await reader.request({"type": "read", "conversation_id": cid, "seq": seq})
        assert reply == {"type": "ok", "ref": reply["ref"]}
    for seq in range(1, 21):
        receipt = await sender.recv_type("receipt")
        assert (receipt["status"], receipt["up_to_seq"]) == ("read", seq)
    assert await orm(cursor_of)(direct, student) == (20, 20)

    # Over it: held, coalesced to the highest seq, told so.
    for seq in (30, 25, 35, 31):
        reply = await reader.request({"type": "read", "conversation_id": cid, "seq": seq})
        assert reply["type"] == "ok" and reply["coalesced"] is True, reply
    reply = await reader.request({"type": "delivered", "conversation_id": cid, "seq": 40})
    assert reply["coalesced"] is True
    assert await sender.nothing()
    assert await orm(cursor_of)(direct, student) == (20, 20)

    # One unit a fifth of a second: the read first (held first), at its highest.
    fake_clock.advance(0.2)
    receipt = await sender.recv_type("receipt")
    assert (receipt["status"], receipt["up_to_seq"]) == ("read", 35)
    assert await sender.nothing()
    fake_clock.advance(0.2)
    receipt = await sender.recv_type("receipt")
    assert (receipt["status"], receipt["up_to_seq"]) == ("delivered", 40)
    assert await orm(cursor_of)(direct, student) == (35, 40)

    # With a unit back and nothing held, a frame is applied at once again.
    fake_clock.advance(0.2)
    reply = await reader.request({"type": "read", "conversation_id": cid, "seq": 36})
    assert "coalesced" not in reply
    assert (await sender.recv_type("receipt"))["up_to_seq"] == 36
    await reader.close()
    await sender.close()


async def test_receipts_for_too_many_conversations_at_once_are_rate_limited(
    open_socket, direct, assigned, monkeypatch, fake_clock
):
    monkeypatch.setitem(settings.PARLEY, "RECEIPT_FRAME_BURST", 1)
    monkeypatch.setitem(settings.PARLEY, "RECEIPT_FRAMES_PER_SECOND", 5)
    # Three pairs held at most: the limit, not its size, is what is tried.
    monkeypatch.setattr(receipts, "MAX_HELD_RECEIPTS", 3)
    mentor, student = assigned
    await orm(send_many)(direct, mentor, 2)
    groups = [
        await orm(services.create_conversation)(
            creator=mentor, kind="group", participants=[student], title=f"Group {n}"
        )
        for n in range(2)
    ]
    reader = await open_socket(student)
    cid = str(direct.pk)
    assert "coalesced" not in await reader.request(
        {"type": "read", "conversation_id": cid, "seq": 1}
    )
    # Over the budget, the socket's own conversations are held; the last
    # pair held is the direct conversation's.
    for conversation_id in [str(g.pk) for g in groups] + [cid]:
        seq = 2 if conversation_id == cid else 1
        reply = await reader.request(
            {"type": "delivered", "conversation_id": conversation_id, "seq": seq}
        )
        assert reply.get("coalesced") is True, reply
    # One more pair is refused; a conversation the socket is not in is
    # refused as an unknown one is (nothing held, no ok promised).
    refused = await reader.request({"type": "read", "conversation_id": cid, "seq": 2})
    assert refused["type"] == "error" and refused["code"] == "rate_limited", refused
    assert refused["retry_after"] == 0.2 and refused["conversation_id"] == cid
    stranger = str(uuid.uuid4())
    unknown = await reader.request({"type": "read", "conversation_id": stranger, "seq": 1})
    assert unknown["type"] == "error" and unknown["code"] == "not_found", unknown
    assert unknown["conversation_id"] == stranger
    # A pair already held still takes a higher seq.
    joined = await reader.request(
        {"type": "delivered", "conversation_id": str(groups[0].pk), "seq": 9}
    )
    assert joined.get("coalesced") is True
    assert await orm(cursor_of)(direct, student) == (1, 1)

    # One held receipt applied per unit of budget, in the order first held,
    # the direct conversation's last.
    async def delivered() -> bool:
        if (await orm(cursor_of)(direct, student))[1] == 2:
            return True
        fake_clock.advance(0.2)
        return False

    await wait_until(delivered, timeout=30)
    assert (await reader.request({"type": "ping"}))["type"] == "pong"
    await reader.close()


async def test_thread_reads_share_the_budget_and_are_coalesced(
    open_socket, direct, assigned, monkeypatch, fake_clock
):
    """``thread.read`` is a receipt too: within the budget applied at once,
    beyond it held at its highest ``seq`` and applied as the budget refills
    (one ``thread.read`` event to the person's sockets then)."""
    monkeypatch.setitem(settings.PARLEY, "RECEIPT_FRAME_BURST", 1)
    monkeypatch.setitem(settings.PARLEY, "RECEIPT_FRAMES_PER_SECOND", 5)
    mentor, student = assigned

    def thread() -> tuple[str, list[int]]:
        root = services.send_message(
            sender=student, conversation_id=direct.pk, content="root", client_id=uuid.uuid4()
        ).message
        seqs = [
            services.send_message(
                sender=student,
                conversation_id=direct.pk,
                content=f"reply {n}",
                client_id=uuid.uuid4(),
                parent_id=root.pk,
            ).message.seq
            for n in range(3)
        ]
        return str(root.pk), seqs

    root_id, seqs = await orm(thread)()
    tab = await open_socket(mentor)
    reply = await tab.request({"type": "thread.read", "thread_id": root_id, "seq": seqs[0]})
    assert "coalesced" not in reply
    assert (await tab.recv_type("thread.read"))["up_to_seq"] == seqs[0]
    for seq in (seqs[2], seqs[1]):
        reply = await tab.request({"type": "thread.read", "thread_id": root_id, "seq": seq})
        assert reply.get("coalesced") is True, reply
    assert await tab.nothing()
    fake_clock.advance(0.2)
    event = await tab.recv_type("thread.read")
    assert (event["up_to_seq"], event["unread"]) == (seqs[2], 0)
    assert await tab.nothing()
    await tab.close()
