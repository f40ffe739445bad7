"""Reactions, pins and saved messages over the socket: every command's
``ok``, the live frames other members (or one's own tabs) receive, and
every refusal answered with its code while the socket stays usable."""

# Fixtures imported from tests.threads.extras are parameters of the tests.
# ruff: noqa: F811

import uuid

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from accounts.models import Role
from messaging import services
from messaging.moderation.services import actions
from messaging.threads.models import Pin, Reaction, SavedMessage
from tests.realtime.conftest import _fresh_presence, fake_clock, open_socket  # noqa: F401
from tests.threads.extras import group, moderator, notice_in, say  # noqa: F401

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

orm = sync_to_async


def react(message, emoji="👍", kind="reaction.add"):
    return {"type": kind, "message_id": str(message.pk), "emoji": emoji}


async def still_usable(socket):
    assert (await socket.request({"type": "ping"}))["type"] == "pong"


async def test_reactions_reach_every_member_live(open_socket, group, assigned):
    mentor, student = assigned
    message = await orm(say)(mentor, group, "react to me")
    reactor = await open_socket(student)
    watcher = await open_socket(mentor)

    reply = await reactor.request(react(message))
    assert reply == {"type": "ok", "ref": reply["ref"]}
    for socket in (reactor, watcher):
        added = await socket.recv_type("reaction.added")
        assert added == {
            "type": "reaction.added",
            "conversation_id": str(group.pk),
            "message_id": str(message.pk),
            "emoji": "👍",
            "user": {
                "id": str(student.pk),
                "display_name": student.display_name,
                "role": "student",
            },
        }
    # Again: ok, and nothing new for anyone.
    assert (await reactor.request(react(message)))["type"] == "ok"
    assert await watcher.nothing()

    assert (await reactor.request(react(message, kind="reaction.remove")))["type"] == "ok"
    for socket in (reactor, watcher):
        removed = await socket.recv_type("reaction.removed")
        assert removed["emoji"] == "👍" and removed["user"]["id"] == str(student.pk)
    assert (await reactor.request(react(message, kind="reaction.remove")))["type"] == "ok"
    assert await watcher.nothing()
    assert await orm(Reaction.objects.count)() == 0
    await reactor.close()
    await watcher.close()


async def test_every_refusal_keeps_the_socket_usable(
    open_socket,
    group,
    assigned,
    make_user,
    moderator,
    monkeypatch,
):
    mentor, student = assigned
    message = await orm(say)(mentor, group)
    hidden = await orm(say)(mentor, group)
    await orm(actions.hide_message)(moderator=moderator, message_id=hidden.pk, note="x")
    deleted = await orm(say)(mentor, group)
    await orm(services.delete_message)(actor=mentor, message_id=deleted.pk)
    outsider = await orm(make_user)(Role.STUDENT)
    socket = await open_socket(student)
    stranger = await open_socket(outsider)

    cases = [
        (socket, react(message, "not an emoji"), "invalid"),
        (socket, {"type": "reaction.add", "message_id": "x", "emoji": "👍"}, "invalid"),
        (socket, {"type": "reaction.add", "message_id": str(message.pk)}, "invalid"),
        (socket, {**react(message), "message_id": str(uuid.uuid4())}, "not_found"),
        (socket, react(hidden), "hidden"),
        (socket, react(deleted), "not_found"),
        # Not a member: answered as a message that does not exist.
        (stranger, react(message), "not_found"),
        (stranger, react(message, kind="reaction.remove"), "not_found"),
        (stranger, {"type": "message.save", "message_id": str(message.pk)}, "not_found"),
        (socket, {"type": "message.pin", "message_id": str(message.pk)}, "forbidden"),
        (socket, {"type": "message.pin", "message_id": str(hidden.pk)}, "forbidden"),
        (socket, {"type": "message.save", "message_id": str(hidden.pk)}, "hidden"),
        (socket, {"type": "message.unsave", "message_id": "nope"}, "invalid"),
    ]
    for who, frame, code in cases:
        reply = await who.request(frame)
        assert reply["type"] == "error" and reply["code"] == code, (frame, reply)
        await still_usable(who)

    # A system message.
    notice = await orm(notice_in)(group)
    assert (await socket.request(react(notice)))["code"] == "not_found"

    # Limits.
    monkeypatch.setitem(settings.PARLEY, "MAX_REACTIONS_PER_PERSON", 1)
    assert (await socket.request(react(message, "😀")))["type"] == "ok"
    too_many = await socket.request(react(message, "😁"))
    assert too_many["code"] == "too_many_reactions"
    await still_usable(socket)

    # Muted: no adding, but taking back.
    await orm(actions.mute_user)(
        moderator=moderator, user_id=student.pk, conversation_id=group.pk, minutes=5, note="x"
    )
    muted = await socket.request(react(message, "🎉"))
    assert muted["code"] == "muted" and muted["retry_after"] > 0
    assert (await socket.request(react(message, "😀", "reaction.remove")))["type"] == "ok"

    # Archived.
    await orm(services.set_archived)(actor=mentor, conversation_id=group.pk, archived=True)
    mentor_socket = await open_socket(mentor)
    archived = await mentor_socket.request(react(message))
    assert archived["code"] == "archived"
    pin = await mentor_socket.request({"type": "message.pin", "message_id": str(message.pk)})
    assert pin["code"] == "archived"
    await still_usable(mentor_socket)
    assert await orm(Reaction.objects.count)() == 0
    for s in (socket, stranger, mentor_socket):
        await s.close()


async def test_reactions_are_rate_limited_like_sends(
    open_socket,
    direct,
    assigned,
    monkeypatch,
    fake_clock,
):
    monkeypatch.setitem(settings.PARLEY, "SEND_BURST", 2)
    monkeypatch.setitem(settings.PARLEY, "SEND_RATE_PER_SECOND", 0.01)
    mentor, student = assigned
    message = await orm(say)(mentor, direct)
    socket = await open_socket(student)
    assert (await socket.request(react(message, "😀")))["type"] == "ok"
    send = {
        "type": "message.send",
        "conversation_id": str(direct.pk),
        "client_id": str(uuid.uuid4()),
        "content": "one token",
    }
    assert (await socket.request(send))["type"] == "ack"
    limited = await socket.request(react(message, "😁"))
    assert limited["code"] == "rate_limited" and limited["retry_after"] == 100
    save = await socket.request({"type": "message.save", "message_id": str(message.pk)})
    assert save["code"] == "rate_limited"
    await still_usable(socket)
    fake_clock.advance(100)
    assert (await socket.request(react(message, "😁")))["type"] == "ok"
    assert await orm(Reaction.objects.count)() == 2
    await socket.close()


async def test_pins_reach_every_member_live(open_socket, group, assigned):
    mentor, student = assigned
    message = await orm(say)(student, group, "the plan")
    pinner = await open_socket(mentor)
    watcher = await open_socket(student)
    frame = {"type": "message.pin", "message_id": str(message.pk)}
    assert (await pinner.request(frame))["type"] == "ok"
    for socket in (pinner, watcher):
        pinned = await socket.recv_type("message.pinned")
        assert pinned["message_id"] == str(message.pk)
        assert pinned["conversation_id"] == str(group.pk)
        assert pinned["pinned"]["pinned_by"]["id"] == str(mentor.pk)
        assert pinned["message"]["pinned"] == pinned["pinned"]
        assert pinned["message"]["content"] == "the plan"
    assert (await pinner.request(frame))["type"] == "ok"  # again: nothing new
    assert await watcher.nothing()

    unpin = {"type": "message.unpin", "message_id": str(message.pk)}
    assert (await pinner.request(unpin))["type"] == "ok"
    for socket in (pinner, watcher):
        unpinned = await socket.recv_type("message.unpinned")
        assert unpinned == {
            "type": "message.unpinned",
            "conversation_id": str(group.pk),
            "message_id": str(message.pk),
        }
    assert (await pinner.request(unpin))["type"] == "ok"
    assert await watcher.nothing()
    assert not await orm(Pin.objects.exists)()
    await pinner.close()
    await watcher.close()


async def test_saving_tells_only_ones_own_tabs(open_socket, group, assigned):
    mentor, student = assigned
    message = await orm(say)(mentor, group)
    tab, other_tab = await open_socket(student), await open_socket(student)
    someone_else = await open_socket(mentor)
    frame = {"type": "message.save", "message_id": str(message.pk)}
    assert (await tab.request(frame))["type"] == "ok"
    for socket in (tab, other_tab):
        changed = await socket.recv_type("saved.changed")
        assert changed == {"type": "saved.changed", "message_id": str(message.pk), "saved": True}
    assert (await tab.request(frame))["type"] == "ok"
    assert await other_tab.nothing()
    unsave = {"type": "message.unsave", "message_id": str(message.pk)}
    assert (await other_tab.request(unsave))["type"] == "ok"
    for socket in (tab, other_tab):
        assert (await socket.recv_type("saved.changed"))["saved"] is False
    assert await someone_else.nothing()
    assert not await orm(SavedMessage.objects.exists)()
    for s in (tab, other_tab, someone_else):
        await s.close()
