"""Every frame of docs/protocol.md, both ways, over the real ASGI stack."""

import json
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings

from accounts import services as account_services
from accounts.models import Role
from messaging import selectors, services
from messaging.errors import ServiceUnavailable
from messaging.models import (
    AuditAction,
    AuditLog,
    ConversationParticipant,
    ConversationType,
    Message,
    MessageStatus,
)
from messaging.moderation.services import blocks

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

orm = sync_to_async


def send_frame(conversation, content="hello", client_id=None):
    return {
        "type": "message.send",
        "conversation_id": str(conversation.pk),
        "client_id": str(client_id or uuid.uuid4()),
        "content": content,
    }


async def denials(user, attempted):
    return await orm(
        AuditLog.objects.filter(
            actor=user, action=AuditAction.ACCESS_DENIED, details__attempted=attempted
        ).count
    )()


# --- Connecting -------------------------------------------------------------------


async def test_anonymous_socket_is_closed_4401(open_socket):
    socket = await open_socket(None, expect_hello=False)
    assert socket.connected
    closed = await socket.communicator.receive_output(timeout=3)
    assert closed == {"type": "websocket.close", "code": 4401}


async def test_foreign_origin_is_refused(open_socket, student):
    socket = await open_socket(student, origin=b"http://evil.example", expect_hello=False)
    assert socket.connected is False


@pytest.mark.parametrize("path", ["/ws", "/ws/x/", "/anything/", "/", "//ws/", "///ws/"])
async def test_a_handshake_to_another_path_is_refused_without_an_error(path, student, caplog):
    """Only /ws/ is a socket: elsewhere the handshake is refused as a
    foreign origin is (HTTP 403), not answered 500 with a traceback logged
    for each attempt."""
    from channels.testing import WebsocketCommunicator

    from config.asgi import application
    from tests.realtime.conftest import HOST, ORIGIN, session_cookie

    cookie = f"{settings.SESSION_COOKIE_NAME}={await orm(session_cookie)(student)}".encode()
    headers = [(b"host", HOST), (b"origin", ORIGIN), (b"cookie", cookie)]
    communicator = WebsocketCommunicator(application, "/ws/", headers=headers)
    # As the server hands it over: the communicator would read "//ws/" as
    # a URL with a host.
    communicator.scope["path"] = path
    connected, _ = await communicator.connect(timeout=5)
    assert connected is False
    await communicator.wait()
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]


async def test_hello_lists_conversations_and_limits(open_socket, direct, assigned):
    mentor, student = assigned
    await orm(services.send_message)(
        sender=mentor, conversation_id=direct.pk, content="hi", client_id=uuid.uuid4()
    )
    socket = await open_socket(student)
    hello = socket.hello
    assert hello["user"]["id"] == str(student.pk)
    assert hello["conversations"] == [
        {"id": str(direct.pk), "last_seq": 1, "last_read_seq": 0, "unread": 1}
    ]
    assert hello["limits"]["max_content_chars"] == settings.PARLEY["MAX_CONTENT_CHARS"]
    assert hello["heartbeat_seconds"] > 0
    await socket.close()


async def test_too_many_sockets_are_refused(open_socket, student, monkeypatch):
    monkeypatch.setitem(settings.PARLEY, "MAX_SOCKETS_PER_USER", 2)
    first = await open_socket(student)
    second = await open_socket(student)
    third = await open_socket(student, expect_hello=False)
    error = await third.recv()
    assert error["type"] == "error" and error["code"] == "too_many_connections"
    closed = await third.communicator.receive_output(timeout=3)
    assert closed["code"] == 4429
    # The first two still work.
    assert (await first.request({"type": "ping"}))["type"] == "pong"
    assert (await second.request({"type": "ping"}))["type"] == "pong"
    await first.close()
    await second.close()


# --- Sending ------------------------------------------------------------------------


async def test_send_acks_after_commit_and_reaches_every_member(open_socket, direct, assigned):
    mentor, student = assigned
    student_socket = await open_socket(student)
    mentor_socket = await open_socket(mentor)
    frame = send_frame(direct, "Hello mentor")
    await student_socket.send(frame)

    ack = await student_socket.recv_type("ack")
    assert ack["client_id"] == frame["client_id"]
    assert ack["duplicate"] is False
    assert ack["message"]["seq"] == 1
    assert ack["message"]["content"] == "Hello mentor"
    # Acknowledged means stored.
    stored = await orm(Message.objects.get)(pk=ack["message"]["id"])
    assert stored.seq == 1 and stored.client_id == uuid.UUID(frame["client_id"])

    new = await mentor_socket.recv_type("message.new")
    assert new["message"]["id"] == ack["message"]["id"]
    own = await student_socket.recv_type("message.new")
    assert own["message"]["id"] == ack["message"]["id"]
    await student_socket.close()
    await mentor_socket.close()


async def test_resend_returns_the_original_and_announces_nothing(open_socket, direct, assigned):
    mentor, student = assigned
    student_socket = await open_socket(student)
    mentor_socket = await open_socket(mentor)
    frame = send_frame(direct, "once")
    await student_socket.send(frame)
    first = await student_socket.recv_type("ack")
    await mentor_socket.recv_type("message.new")

    await student_socket.send(dict(frame))
    frames = []
    while not frames or frames[-1]["type"] != "ack":
        frames.append(await student_socket.recv())
    ack = frames[-1]
    assert ack["duplicate"] is True
    assert ack["message"]["id"] == first["message"]["id"]
    assert ack["message"]["seq"] == first["message"]["seq"]
    assert await mentor_socket.nothing(), "a resend must not be announced again"
    assert await orm(Message.objects.count)() == 1
    await student_socket.close()
    await mentor_socket.close()


async def test_client_id_reused_for_other_content_is_refused(open_socket, direct, assigned):
    _, student = assigned
    socket = await open_socket(student)
    frame = send_frame(direct, "first")
    await socket.send(frame)
    await socket.recv_type("ack")
    await socket.recv_type("message.new")  # the sender's own copy, in either order
    await socket.send({**frame, "content": "second", "ref": "x"})
    error = await socket.recv_type("error")
    assert error["code"] == "client_id_conflict"
    assert error["client_id"] == frame["client_id"] and error["ref"] == "x"
    assert await orm(Message.objects.count)() == 1
    await socket.close()


async def test_non_member_cannot_send_and_is_audited(open_socket, direct, make_user):
    outsider = await orm(make_user)(Role.MENTOR)
    socket = await open_socket(outsider)
    frame = send_frame(direct, "let me in")
    await socket.send(frame)
    error = await socket.recv_type("error")
    assert error["code"] == "not_found" and error["message"] == "No such conversation."
    assert error["client_id"] == frame["client_id"]
    assert error["conversation_id"] == str(direct.pk)
    assert await orm(Message.objects.count)() == 0
    assert await denials(outsider, AuditAction.MESSAGE_SEND) == 1
    assert (await socket.request({"type": "ping"}))["type"] == "pong"
    await socket.close()


@pytest.mark.parametrize(
    ("content", "code"),
    [
        ("", "invalid"),
        ("   ", "invalid"),
        (42, "invalid"),
        (None, "invalid"),
        ("x" * 10_001, "too_long"),
        ("half \ud800 a pair", "invalid"),
        ("nul \x00", "invalid"),
        ("escape \x1b[2J", "invalid"),
    ],
)
async def test_bad_content_is_refused(open_socket, direct, assigned, content, code):
    _, student = assigned
    socket = await open_socket(student)
    await socket.send({**send_frame(direct), "content": content})
    error = await socket.recv_type("error")
    assert error["code"] == code
    assert await orm(Message.objects.count)() == 0
    await socket.send(send_frame(direct, "still works"))
    assert (await socket.recv_type("ack"))["message"]["content"] == "still works"
    await socket.close()


async def test_unknown_conversation_and_bad_ids(open_socket, student):
    socket = await open_socket(student)
    await socket.send(
        {
            "type": "message.send",
            "conversation_id": str(uuid.uuid4()),
            "client_id": str(uuid.uuid4()),
            "content": "x",
        }
    )
    assert (await socket.recv_type("error"))["code"] == "not_found"
    await socket.send(
        {
            "type": "message.send",
            "conversation_id": "nope",
            "client_id": str(uuid.uuid4()),
            "content": "x",
        }
    )
    assert (await socket.recv_type("error"))["code"] == "invalid"
    await socket.send(
        {
            "type": "message.send",
            "conversation_id": str(uuid.uuid4()),
            "client_id": "not-a-uuid",
            "content": "x",
        }
    )
    assert (await socket.recv_type("error"))["code"] == "invalid"
    await socket.close()


async def test_archived_conversation_refuses_sends(open_socket, direct, assigned):
    mentor, student = assigned
    await orm(services.set_archived)(actor=mentor, conversation_id=direct.pk, archived=True)
    socket = await open_socket(student)
    await socket.send(send_frame(direct))
    assert (await socket.recv_type("error"))["code"] == "archived"
    await socket.close()


async def test_send_rate_is_limited_and_socket_survives(
    open_socket, direct, assigned, monkeypatch, fake_clock
):
    monkeypatch.setitem(settings.PARLEY, "SEND_BURST", 3)
    # One token per 100 s of the fake clock, which moves only when told to.
    monkeypatch.setitem(settings.PARLEY, "SEND_RATE_PER_SECOND", 0.01)
    mentor, student = assigned
    socket = await open_socket(student)
    other = await open_socket(mentor)
    for _ in range(3):
        await socket.send(send_frame(direct))
        await socket.recv_type("ack")
        await socket.recv_type("message.new")  # the sender's own copy, in either order
    await socket.send(send_frame(direct))
    error = await socket.recv_type("error")
    assert error["code"] == "rate_limited" and error["retry_after"] > 0
    assert error["retry_after"] == 100
    assert await orm(Message.objects.count)() == 3
    # Another person is not limited by this one's bucket.
    await other.send(send_frame(direct, "still fine"))
    assert (await other.recv_type("ack"))["message"]["seq"] == 4
    assert (await socket.request({"type": "ping"}))["type"] == "pong"
    # Within the wait nothing refills; after it, one more send, and only one.
    fake_clock.advance(99)
    assert (await socket.request(send_frame(direct)))["code"] == "rate_limited"
    fake_clock.advance(1)
    assert (await socket.request(send_frame(direct)))["type"] == "ack"
    assert (await socket.request(send_frame(direct)))["code"] == "rate_limited"
    assert await orm(Message.objects.count)() == 5
    await socket.close()
    await other.close()


# --- Edit and delete ------------------------------------------------------------------


async def test_edit_and_delete_own_message(open_socket, direct, assigned):
    mentor, student = assigned
    socket = await open_socket(student)
    watcher = await open_socket(mentor)
    await socket.send(send_frame(direct, "typo"))
    message_id = (await socket.recv_type("ack"))["message"]["id"]
    await watcher.recv_type("message.new")

    reply = await socket.request(
        {"type": "message.edit", "message_id": message_id, "content": "fixed"}
    )
    assert reply["type"] == "ok"
    edited = await watcher.recv_type("message.edited")
    assert edited["message"]["content"] == "fixed" and edited["message"]["edited_at"]

    reply = await socket.request({"type": "message.delete", "message_id": message_id})
    assert reply["type"] == "ok"
    deleted = await watcher.recv_type("message.deleted")
    assert deleted["message"]["deleted_at"] and deleted["message"]["content"] == ""
    assert deleted["message"]["seq"] == 1
    await socket.close()
    await watcher.close()


async def test_cannot_edit_or_delete_someone_elses_message(open_socket, direct, assigned):
    mentor, student = assigned
    result = await orm(services.send_message)(
        sender=mentor, conversation_id=direct.pk, content="mine", client_id=uuid.uuid4()
    )
    socket = await open_socket(student)
    reply = await socket.request(
        {"type": "message.edit", "message_id": str(result.message.pk), "content": "yours now"}
    )
    assert reply["type"] == "error" and reply["code"] == "forbidden"
    reply = await socket.request({"type": "message.delete", "message_id": str(result.message.pk)})
    assert reply["type"] == "error" and reply["code"] == "forbidden"
    reply = await socket.request({"type": "message.delete", "message_id": str(uuid.uuid4())})
    assert reply["code"] == "not_found"
    message = await orm(Message.objects.get)(pk=result.message.pk)
    assert message.content == "mine" and message.deleted_at is None
    await socket.close()


# --- Typing -----------------------------------------------------------------------------


async def test_typing_is_relayed_throttled_and_stopped(
    open_socket, direct, assigned, monkeypatch, fake_clock
):
    monkeypatch.setitem(settings.PARLEY, "TYPING_MIN_INTERVAL_SECONDS", 2)
    mentor, student = assigned
    typist = await open_socket(student)
    reader = await open_socket(mentor)
    conversation_id = str(direct.pk)

    await typist.send({"type": "typing.start", "conversation_id": conversation_id})
    frame = await reader.recv_type("typing")
    assert frame["is_typing"] is True and frame["user"]["id"] == str(student.pk)
    assert frame["conversation_id"] == conversation_id and frame["expires_in"] > 0
    assert await typist.nothing(), "the typist does not hear their own typing"

    # A second start within the throttle window is not relayed...
    fake_clock.advance(1.9)
    await typist.send({"type": "typing.start", "conversation_id": conversation_id})
    assert await reader.nothing()
    # ...one after it is.
    fake_clock.advance(0.1)
    await typist.send({"type": "typing.start", "conversation_id": conversation_id})
    assert (await reader.recv_type("typing"))["is_typing"] is True

    # A stop within the interval of the last event is held until it ends.
    await typist.send({"type": "typing.stop", "conversation_id": conversation_id})
    assert await reader.nothing()
    fake_clock.advance(2)
    assert (await reader.recv_type("typing"))["is_typing"] is False

    # So is a start right after that stop.
    await typist.send({"type": "typing.start", "conversation_id": conversation_id})
    assert await reader.nothing()
    fake_clock.advance(2)
    assert (await reader.recv_type("typing"))["is_typing"] is True

    # Closing the socket while typing stops the typing line at once.
    await typist.close()
    assert (await reader.recv_type("typing"))["is_typing"] is False
    assert await orm(Message.objects.count)() == 0, "typing is never stored"
    await reader.close()


def typing_frames(conversation_id, count, *, last):
    """``count`` alternating typing frames ending with ``last`` (start or stop)."""
    kinds = ("typing.stop", "typing.start") if last == "stop" else ("typing.start", "typing.stop")
    return [
        {"type": kinds[(count - 1 - n) % 2], "conversation_id": conversation_id}
        for n in range(count)
    ]


async def test_someone_who_may_not_post_there_is_not_shown_typing(open_socket, direct, assigned):
    """Blocked by the other person of a direct conversation, a student's send
    is refused; their typing is not told either (nor answered)."""
    mentor, student = assigned
    await sync_to_async(blocks.block_person)(blocker=mentor, blocked_id=student.pk)
    typist = await open_socket(student)
    reader = await open_socket(mentor)
    await typist.send({"type": "typing.start", "conversation_id": str(direct.pk)})
    assert (await typist.request({"type": "ping"}))["type"] == "pong"
    assert await reader.nothing()
    assert await typist.nothing()
    await sync_to_async(blocks.unblock_person)(blocker=mentor, blocked_id=student.pk)
    await typist.send({"type": "typing.start", "conversation_id": str(direct.pk)})
    # (The unblock's block.changed reaches the mentor's sockets too.)
    typing = await reader.recv_type("typing", also_skip=("block.changed",))
    assert typing["is_typing"] is True
    await typist.close()
    await reader.close()


async def test_typing_flood_delivers_one_event_per_interval(
    open_socket, direct, assigned, monkeypatch, fake_clock
):
    """Alternating start and stop, however many: a member hears at most one
    typing event per interval, the latest state, and nothing in between."""
    monkeypatch.setitem(settings.PARLEY, "TYPING_MIN_INTERVAL_SECONDS", 2)
    # The throttle alone: neither typing's frame budget nor the socket's.
    monkeypatch.setitem(settings.PARLEY, "TYPING_FRAME_BURST", 10_000)
    monkeypatch.setitem(settings.PARLEY, "SOCKET_FRAME_BURST", 10_000)
    mentor, student = assigned
    typist = await open_socket(student)
    reader = await open_socket(mentor)
    cid = str(direct.pk)

    await typist.send({"type": "typing.start", "conversation_id": cid})
    assert (await reader.recv_type("typing"))["is_typing"] is True
    for frame in typing_frames(cid, 500, last="stop"):
        await typist.send(frame)
    assert (await typist.request({"type": "ping"}))["type"] == "pong"  # all handled
    assert await reader.nothing()
    fake_clock.advance(2)
    assert (await reader.recv_type("typing"))["is_typing"] is False
    assert await reader.nothing()

    # Another flood within the interval of that stop, ending on a start.
    for frame in typing_frames(cid, 501, last="start"):
        await typist.send(frame)
    assert (await typist.request({"type": "ping"}))["type"] == "pong"
    assert await reader.nothing()
    fake_clock.advance(1.9)
    assert await reader.nothing()
    fake_clock.advance(0.1)
    assert (await reader.recv_type("typing"))["is_typing"] is True
    assert await reader.nothing()
    assert await typist.nothing(), "the typist hears nothing of its own typing"
    await typist.close()
    assert (await reader.recv_type("typing"))["is_typing"] is False
    await reader.close()


async def test_typing_frames_beyond_the_budget_are_ignored_but_stops_count(
    open_socket, direct, assigned, monkeypatch, fake_clock
):
    monkeypatch.setitem(settings.PARLEY, "TYPING_MIN_INTERVAL_SECONDS", 2)
    monkeypatch.setitem(settings.PARLEY, "TYPING_FRAME_BURST", 10)
    monkeypatch.setitem(settings.PARLEY, "TYPING_FRAMES_PER_SECOND", 2)
    mentor, student = assigned
    typist = await open_socket(student)
    reader = await open_socket(mentor)
    cid = str(direct.pk)
    start = {"type": "typing.start", "conversation_id": cid}

    for _ in range(10):  # the whole burst: one start, nine repeats of it
        await typist.send(start)
    assert (await reader.recv_type("typing"))["is_typing"] is True
    await typist.send(start)  # over the budget: told once...
    error = await typist.recv_type("error")
    assert error["code"] == "rate_limited" and error["retry_after"] == 0.5
    assert error["conversation_id"] == cid
    for _ in range(50):  # ...then ignored quietly
        await typist.send(start)
    assert (await typist.request({"type": "ping"}))["type"] == "pong"
    assert await typist.nothing()

    # A stop is never ignored: members hear it once the interval is over.
    await typist.send({"type": "typing.stop", "conversation_id": cid})
    assert await reader.nothing()
    fake_clock.advance(2)
    assert (await reader.recv_type("typing"))["is_typing"] is False
    # Four tokens came back in those two seconds: four starts are taken (the
    # first is held for the interval after that stop), the fifth is not.
    for _ in range(4):
        await typist.send(start)
    await typist.send(start)
    assert (await typist.recv_type("error"))["code"] == "rate_limited"
    assert await reader.nothing()
    fake_clock.advance(2)
    assert (await reader.recv_type("typing"))["is_typing"] is True
    assert await reader.nothing()
    await typist.close()
    await reader.close()


async def test_non_member_cannot_type(open_socket, direct, make_user, assigned):
    mentor, _ = assigned
    outsider = await orm(make_user)(Role.STUDENT)
    socket = await open_socket(outsider)
    reader = await open_socket(mentor)
    await socket.send({"type": "typing.start", "conversation_id": str(direct.pk)})
    assert (await socket.recv_type("error"))["code"] == "not_found"
    assert await reader.nothing()
    assert await denials(outsider, "typing") == 1
    # A stop asks for nothing: not answered (the next frame is the pong; an
    # error before it fails recv_type), and nobody is told anything.
    await socket.send({"type": "typing.stop", "conversation_id": str(direct.pk)})
    await socket.send({"type": "ping"})
    await socket.recv_type("pong")
    assert await reader.nothing()
    await socket.close()
    await reader.close()


# --- Receipts -----------------------------------------------------------------------------


async def test_read_and_delivered_receipts(open_socket, direct, assigned):
    mentor, student = assigned
    sender = await open_socket(student)
    reader = await open_socket(mentor)
    await sender.send(send_frame(direct, "one"))
    await sender.send(send_frame(direct, "two"))
    await sender.recv_type("ack")
    await sender.recv_type("ack")

    reply = await reader.request({"type": "delivered", "conversation_id": str(direct.pk), "seq": 2})
    assert reply["type"] == "ok"
    receipt = await _next_receipt(sender, str(mentor.pk))
    assert receipt["status"] == "delivered" and receipt["up_to_seq"] == 2

    reply = await reader.request({"type": "read", "conversation_id": str(direct.pk), "seq": 99})
    assert reply["type"] == "ok"
    receipt = await _next_receipt(sender, str(mentor.pk))
    assert receipt == {
        "type": "receipt",
        "conversation_id": str(direct.pk),
        "user_id": str(mentor.pk),
        "status": "read",
        "up_to_seq": 2,
    }

    membership = await orm(ConversationParticipant.objects.get)(conversation=direct, user=mentor)
    assert membership.last_read_seq == 2 and membership.last_delivered_seq == 2
    statuses = await orm(
        lambda: sorted(MessageStatus.objects.filter(user=mentor).values_list("status", flat=True))
    )()
    assert statuses == ["read", "read"]

    reply = await reader.request({"type": "read", "conversation_id": str(direct.pk), "seq": "two"})
    assert reply["type"] == "error" and reply["code"] == "invalid"
    await sender.close()
    await reader.close()


async def _next_receipt(socket, user_id):
    while True:
        frame = await socket.recv()
        if frame["type"] == "receipt" and frame["user_id"] == user_id:
            return frame


async def test_non_member_cannot_mark_read(open_socket, direct, make_user):
    outsider = await orm(make_user)(Role.ADMIN)
    socket = await open_socket(outsider)
    reply = await socket.request({"type": "read", "conversation_id": str(direct.pk), "seq": 1})
    assert reply["code"] == "not_found"
    assert await denials(outsider, AuditAction.READ_MARK) == 1
    await socket.close()


# --- Resume and history ---------------------------------------------------------------------


async def test_resume_returns_what_follows_each_cursor_in_pages(
    open_socket, direct, assigned, monkeypatch
):
    monkeypatch.setitem(settings.PARLEY, "RESUME_PAGE_SIZE", 3)
    mentor, student = assigned
    for n in range(5):
        await orm(services.send_message)(
            sender=mentor, conversation_id=direct.pk, content=f"m{n + 1}", client_id=uuid.uuid4()
        )
    socket = await open_socket(student)
    conversation_id = str(direct.pk)
    await socket.send({"type": "resume", "ref": "r1", "cursors": {conversation_id: 1}})
    page = await socket.recv_type("history")
    assert page["ref"] == "r1" and page["conversation_id"] == conversation_id
    assert [m["seq"] for m in page["messages"]] == [2, 3, 4]
    assert page["has_more"] is True
    assert (await socket.recv_type("resume.done"))["ref"] == "r1"

    await socket.send({"type": "resume", "ref": "r2", "cursors": {conversation_id: 4}})
    page = await socket.recv_type("history")
    assert [m["seq"] for m in page["messages"]] == [5] and page["has_more"] is False
    await socket.recv_type("resume.done")
    await socket.close()


async def test_a_resume_error_carries_its_fields_and_the_resume_goes_on(
    open_socket, direct, assigned, monkeypatch
):
    # One conversation's page cannot be read now: its error frame tells when
    # to ask again (retry_after), as any command's would; the rest follows.
    mentor, student = assigned
    other = await orm(services.create_conversation)(
        creator=mentor, kind=ConversationType.GROUP, participants=[student], title="Other"
    )
    history_page = selectors.history_page

    def failing_for_direct(*, conversation_id, **kwargs):
        if conversation_id == direct.pk:
            raise ServiceUnavailable("The database did not answer.", retry_after=7)
        return history_page(conversation_id=conversation_id, **kwargs)

    monkeypatch.setattr(selectors, "history_page", failing_for_direct)
    socket = await open_socket(student)
    await socket.send(
        {"type": "resume", "ref": "r", "cursors": {str(direct.pk): 0, str(other.pk): 0}}
    )
    error = await socket.recv_type("error")
    assert (error["code"], error["conversation_id"], error["retry_after"]) == (
        "unavailable",
        str(direct.pk),
        7,
    )
    page = await socket.recv_type("history")
    assert page["conversation_id"] == str(other.pk)
    assert (await socket.recv_type("resume.done"))["ref"] == "r"
    await socket.close()


async def test_resume_refuses_foreign_conversations_but_finishes(open_socket, direct, make_user):
    outsider = await orm(make_user)(Role.STUDENT)
    socket = await open_socket(outsider)
    missing = str(uuid.uuid4())
    await socket.send({"type": "resume", "ref": "r", "cursors": {str(direct.pk): 0, missing: 0}})
    first = await socket.recv_type("error")
    second = await socket.recv_type("error")
    # The same answer for both: the outsider cannot tell which one exists.
    codes = {first["conversation_id"]: first["code"], second["conversation_id"]: second["code"]}
    assert codes == {str(direct.pk): "not_found", missing: "not_found"}
    assert first["message"] == second["message"] == "No such conversation."
    await socket.recv_type("resume.done")
    assert await denials(outsider, "history") == 1
    reply = await socket.request({"type": "resume", "cursors": ["not", "a", "map"]})
    assert reply["code"] == "invalid"
    await socket.close()


async def test_history_fetch_both_directions(open_socket, direct, assigned):
    mentor, student = assigned
    for n in range(6):
        await orm(services.send_message)(
            sender=mentor, conversation_id=direct.pk, content=f"m{n + 1}", client_id=uuid.uuid4()
        )
    socket = await open_socket(student)
    cid = str(direct.pk)
    latest = await socket.request({"type": "history.fetch", "conversation_id": cid, "limit": 2})
    assert [m["seq"] for m in latest["messages"]] == [5, 6] and latest["has_more"] is True
    older = await socket.request(
        {"type": "history.fetch", "conversation_id": cid, "before_seq": 5, "limit": 4}
    )
    assert [m["seq"] for m in older["messages"]] == [1, 2, 3, 4] and older["has_more"] is False
    newer = await socket.request(
        {"type": "history.fetch", "conversation_id": cid, "after_seq": 4, "limit": 1}
    )
    assert [m["seq"] for m in newer["messages"]] == [5] and newer["has_more"] is True
    bad = await socket.request({"type": "history.fetch", "conversation_id": cid, "limit": 0})
    assert bad["code"] == "invalid"
    await socket.close()


# --- Presence -------------------------------------------------------------------------------


async def test_presence_online_away_offline_and_query(open_socket, direct, assigned):
    mentor, student = assigned
    watcher = await open_socket(student)
    mentor_socket = await open_socket(mentor)
    online = await _presence_of(watcher, mentor)
    assert online["status"] == "online" and online["last_seen"]

    await mentor_socket.send({"type": "presence.set", "status": "away"})
    assert (await _presence_of(watcher, mentor))["status"] == "away"

    state = await watcher.request({"type": "presence.query", "user_ids": [str(mentor.pk)]})
    assert state["type"] == "presence.state"
    assert state["users"][0]["user_id"] == str(mentor.pk)
    assert state["users"][0]["status"] == "away"

    bad = await mentor_socket.request({"type": "presence.set", "status": "invisible"})
    assert bad["code"] == "invalid"

    await mentor_socket.close()
    assert (await _presence_of(watcher, mentor))["status"] == "offline"
    await watcher.close()


async def test_a_flood_of_presence_changes_is_told_at_a_pace_ending_on_the_last_word(
    open_socket, direct, assigned, monkeypatch, fake_clock
):
    """Every flip between online and away cost a database write and an event
    to every contact. Past its budget a socket's changes are held: its own
    entry follows each one at once, and the status the person then has is
    told once, when a token is back."""
    monkeypatch.setitem(settings.PARLEY, "PRESENCE_ANNOUNCE_BURST", 2)
    monkeypatch.setitem(settings.PARLEY, "PRESENCE_ANNOUNCES_PER_SECOND", 0.5)
    mentor, student = assigned
    watcher = await open_socket(student)
    flipper = await open_socket(mentor)
    assert (await _presence_of(watcher, mentor))["status"] == "online"

    for n in range(31):  # away, online, away, ... away
        await flipper.send({"type": "presence.set", "status": "online" if n % 2 else "away"})
    assert (await flipper.request({"type": "ping"}))["type"] == "pong"
    told = [(await _presence_of(watcher, mentor))["status"] for _ in range(2)]
    assert told == ["away", "online"]
    assert await watcher.nothing(ignore=())
    # The store has the last word at once: a query is never stale.
    state = await watcher.request({"type": "presence.query", "user_ids": [str(mentor.pk)]})
    assert state["users"][0]["status"] == "away"

    fake_clock.advance(2)
    assert (await _presence_of(watcher, mentor))["status"] == "away"
    assert await watcher.nothing(ignore=())
    await flipper.close()
    assert (await _presence_of(watcher, mentor))["status"] == "offline"
    await watcher.close()


async def _presence_of(socket, user):
    while True:
        frame = await socket.recv()
        if frame["type"] == "presence" and frame["user_id"] == str(user.pk):
            return frame


async def test_ping_pong(open_socket, student):
    socket = await open_socket(student)
    pong = await socket.request({"type": "ping", "ref": "p1"})
    assert pong["type"] == "pong" and pong["ref"] == "p1" and pong["server_time"]
    await socket.close()


# --- Membership changes -----------------------------------------------------------------------


async def test_added_member_receives_live_and_removed_member_stops(
    open_socket, assigned, make_user
):
    mentor, student = assigned
    group = await orm(services.create_conversation)(
        creator=mentor, kind=ConversationType.GROUP, participants=[], title="Study"
    )
    socket = await open_socket(student)
    mentor_socket = await open_socket(mentor)

    await orm(services.add_participants)(actor=mentor, conversation_id=group.pk, users=[student])
    added = await socket.recv_type("conversation.added")
    assert added["conversation"]["id"] == str(group.pk)
    assert str(student.pk) in {p["user"]["id"] for p in added["conversation"]["participants"]}

    await mentor_socket.send(send_frame(group, "welcome"))
    # The "added" system message and conversation.updated may come first,
    # depending on when this socket's group join reached Redis.
    while (await socket.recv_type("message.new", also_skip=("conversation.updated",)))["message"][
        "content"
    ] != "welcome":
        pass

    await orm(services.remove_participant)(actor=mentor, conversation_id=group.pk, user=student)
    while (frame := await socket.recv())["type"] != "conversation.removed":
        pass
    assert frame["conversation_id"] == str(group.pk)
    await mentor_socket.send(send_frame(group, "after you left"))
    # The mentor's socket still holds this conversation's earlier events.
    await mentor_socket.recv_type("ack", also_skip=("message.new", "conversation.updated"))
    assert (
        await socket.nothing(ignore=("presence", "message.new", "conversation.updated", "receipt"))
        is True
    )
    # Nothing of the conversation reaches the removed member any more.
    reply = await socket.request({"type": "history.fetch", "conversation_id": str(group.pk)})
    assert reply["code"] == "not_found"
    await socket.close()
    await mentor_socket.close()


# --- Revocation -----------------------------------------------------------------------------


async def test_logout_closes_that_sessions_sockets(open_socket, student):
    socket = await open_socket(student)
    from django.contrib.auth import logout
    from django.http import HttpRequest

    from accounts.sessions import SessionStore

    def log_out():
        request = HttpRequest()
        request.session = SessionStore(session_key=socket.session_key)
        request.user = student
        logout(request)

    await orm(log_out)()
    closed = await socket.communicator.receive_output(timeout=3)
    while closed["type"] != "websocket.close":
        closed = await socket.communicator.receive_output(timeout=3)
    assert closed["code"] == 4401


async def test_deactivation_closes_sockets(open_socket, student):
    socket = await open_socket(student)
    await orm(account_services.set_active)(user=student, active=False)
    closed = await socket.communicator.receive_output(timeout=3)
    while closed["type"] != "websocket.close":
        closed = await socket.communicator.receive_output(timeout=3)
    assert closed["code"] == 4401


# --- Malformed frames -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "bad_json"),
        ("[1, 2]", "bad_frame"),
        ('{"no": "type"}', "bad_frame"),
        ('{"type": 5}', "bad_frame"),
        ('{"type": "teleport"}', "unknown_type"),
        ('{"type": "ping", "ref": 7}', "invalid"),
        ('{"type": "ping", "ref": "' + "r" * 65 + '"}', "invalid"),
        # Nested deeper than the parser goes: RecursionError, not ValueError.
        ("[" * 60_000, "bad_json"),
        ("[" * 5_000 + "]" * 5_000, "bad_json"),
        ('{"type": "ping", "x": ' + '{"a": ' * 3_000 + "1" + "}" * 3_001, "bad_json"),
        # A number with too many digits to read.
        ('{"type": "ping", "x": ' + "9" * 5_000 + "}", "bad_json"),
        # A lone surrogate that reached the consumer raw, outside a string.
        ("\ud800", "bad_json"),
    ],
)
async def test_malformed_frames_get_clear_errors(open_socket, student, raw, code):
    socket = await open_socket(student)
    await socket.send_text(raw)
    error = await socket.recv_type("error")
    assert error["code"] == code and error["message"]
    assert (await socket.request({"type": "ping"}))["type"] == "pong"
    await socket.close()


@pytest.mark.parametrize(
    ("sent", "code", "echo"),
    [
        ({"ref": "q2", "client_id": "c"}, "bad_frame", {"ref": "q2", "client_id": "c"}),
        ({"type": 5, "ref": "x2"}, "bad_frame", {"ref": "x2"}),
        (
            {"type": "teleport", "ref": "t", "client_id": "c"},
            "unknown_type",
            {"ref": "t", "client_id": "c"},
        ),
        # A bad ref is the fault first, whatever else is wrong: no echo.
        ({"type": "teleport", "ref": 5, "client_id": "c"}, "invalid", {}),
        ({"type": 5, "ref": "r" * 65, "client_id": "c"}, "invalid", {}),
        # Nothing a strict JSON reader refuses is sent back: a ref with a
        # lone surrogate is refused, such a client_id is not echoed.
        ({"type": "ping", "ref": "\ud800", "client_id": "c"}, "invalid", {}),
        ({"type": "teleport", "ref": "t", "client_id": "c\udfff"}, "unknown_type", {"ref": "t"}),
    ],
    ids=[
        "no-type",
        "number-type",
        "unknown",
        "unknown-bad-ref",
        "number-type-long-ref",
        "surrogate-ref",
        "surrogate-client-id",
    ],
)
async def test_an_error_about_an_object_echoes_its_ref_and_client_id(
    open_socket, student, sent, code, echo
):
    socket = await open_socket(student)
    await socket.send_text(json.dumps(sent))
    error = await socket.recv_type("error")
    assert error["code"] == code
    assert {k: error[k] for k in ("ref", "client_id") if k in error} == echo
    assert (await socket.request({"type": "ping"}))["type"] == "pong"
    await socket.close()


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "read", "seq": 2**63},
        {"type": "delivered", "seq": 10**400},
        {"type": "history.fetch", "after_seq": 2**63},
        {"type": "history.fetch", "before_seq": 2**64},
        {"type": "resume", "cursors": "{conversation}"},
    ],
    ids=["read", "delivered", "after", "before", "resume"],
)
async def test_numbers_beyond_a_seq_are_invalid(open_socket, direct, assigned, frame):
    """A seq is a bigint: a larger number is refused, not sent to the
    database to fail there."""
    _, student = assigned
    socket = await open_socket(student)
    frame = {**frame, "conversation_id": str(direct.pk)}
    if frame["type"] == "resume":
        frame["cursors"] = {str(direct.pk): 2**63}
    reply = await socket.request(frame)
    assert reply["type"] == "error" and reply["code"] == "invalid", reply
    assert (await socket.request({"type": "ping"}))["type"] == "pong"
    await socket.close()


async def test_oversize_and_binary_frames(open_socket, direct, assigned):
    _, student = assigned
    socket = await open_socket(student)
    big = json.dumps({**send_frame(direct), "content": "x" * 70_000})
    await socket.send_text(big)
    assert (await socket.recv_type("error"))["code"] == "frame_too_large"
    await socket.communicator.send_to(bytes_data=b"\x00\x01")
    assert (await socket.recv_type("error"))["code"] == "binary_unsupported"
    await socket.send(send_frame(direct, "still works"))
    assert (await socket.recv_type("ack"))["message"]["content"] == "still works"
    assert await orm(Message.objects.count)() == 1
    await socket.close()
