"""A non-member can neither read, send, type, mark read nor resume in a
conversation, by socket or by API; each attempt is refused as if the
conversation (or the message) did not exist, reveals nothing of it, and is
in the audit log."""

import random
import uuid

import pytest
from asgiref.sync import sync_to_async
from rest_framework.test import APIClient

from accounts.models import Role
from messaging import audit, services, validation
from messaging.models import AuditAction, AuditLog, ConversationType, Message

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

orm = sync_to_async
SECRET = "the secret plan"


@pytest.fixture
def private_conversation(assigned):
    mentor, student = assigned
    conversation = services.create_conversation(
        creator=mentor, kind=ConversationType.DIRECT, participants=[student]
    )
    result = services.send_message(
        sender=mentor, conversation_id=conversation.pk, content=SECRET, client_id=uuid.uuid4()
    )
    return conversation, result.message


@pytest.fixture
def outsider(make_user):
    # A mentor: allowed to talk to many people, but not a member here.
    return make_user(Role.MENTOR)


def denial_count(user) -> int:
    return AuditLog.objects.filter(actor=user, action=AuditAction.ACCESS_DENIED).count()


SOCKET_ATTEMPTS = {
    "send": lambda c, m: {
        "type": "message.send",
        "conversation_id": str(c.pk),
        "client_id": str(uuid.uuid4()),
        "content": "hi",
    },
    "type": lambda c, m: {"type": "typing.start", "conversation_id": str(c.pk)},
    "mark read": lambda c, m: {"type": "read", "conversation_id": str(c.pk), "seq": 1},
    "mark delivered": lambda c, m: {"type": "delivered", "conversation_id": str(c.pk), "seq": 1},
    "read history": lambda c, m: {"type": "history.fetch", "conversation_id": str(c.pk)},
    "resume": lambda c, m: {"type": "resume", "cursors": {str(c.pk): 0}},
    "edit": lambda c, m: {"type": "message.edit", "message_id": str(m.pk), "content": "x"},
    "delete": lambda c, m: {"type": "message.delete", "message_id": str(m.pk)},
}

# What the same attempt on an id that does not exist is told.
MISSING = {"edit": "No such message.", "delete": "No such message."}


@pytest.mark.parametrize("attempt", SOCKET_ATTEMPTS)
async def test_socket_refuses_non_members(attempt, open_socket, private_conversation, outsider):
    conversation, message = private_conversation
    before = await orm(denial_count)(outsider)
    socket = await open_socket(outsider)
    assert socket.hello["conversations"] == []
    frame = SOCKET_ATTEMPTS[attempt](conversation, message)
    frame["ref"] = "attempt"
    await socket.send(frame)
    replies = []
    while True:
        reply = await socket.recv()
        replies.append(reply)
        answered = reply["type"] in ("error", "ok", "ack", "history")
        if answered and reply.get("ref") == "attempt" and frame["type"] != "resume":
            break
        if reply["type"] == "resume.done":
            break
    errors = [r for r in replies if r["type"] == "error"]
    assert errors and errors[0]["code"] == "not_found", replies
    assert errors[0]["message"] == MISSING.get(attempt, "No such conversation.")
    assert SECRET not in str(replies)
    assert await orm(denial_count)(outsider) == before + 1
    # Nothing changed and the socket still works.
    stored = await orm(Message.objects.get)(pk=message.pk)
    assert stored.content == SECRET and stored.deleted_at is None
    assert await orm(Message.objects.count)() == 1
    assert (await socket.request({"type": "ping"}))["type"] == "pong"
    await socket.close()


API_ATTEMPTS = {
    "read history": ("get", "/api/conversations/{c}/messages/", None),
    "detail": ("get", "/api/conversations/{c}/", None),
    "send": (
        "post",
        "/api/conversations/{c}/messages/",
        {"client_id": "00000000-0000-4000-8000-000000000001", "content": "hi"},
    ),
    "mark read": ("post", "/api/conversations/{c}/read/", {"seq": 1}),
    "edit": ("patch", "/api/messages/{m}/", {"content": "x"}),
    "delete": ("delete", "/api/messages/{m}/", None),
}


@pytest.mark.parametrize("attempt", API_ATTEMPTS)
def test_api_refuses_non_members(attempt, private_conversation, outsider):
    conversation, message = private_conversation
    method, path, body = API_ATTEMPTS[attempt]
    client = APIClient()
    client.force_authenticate(outsider)
    before = denial_count(outsider)
    response = getattr(client, method)(
        path.format(c=conversation.pk, m=message.pk), body, format="json"
    )
    assert response.status_code == 404, response.content
    assert response.json()["error"] == {
        "code": "not_found",
        "message": MISSING.get(attempt, "No such conversation."),
    }
    assert SECRET.encode() not in response.content
    assert denial_count(outsider) == before + 1
    stored = Message.objects.get(pk=message.pk)
    assert stored.content == SECRET and stored.deleted_at is None
    assert Message.objects.count() == 1


async def test_presence_query_leaves_out_people_one_may_not_see(
    open_socket, private_conversation, outsider, assigned
):
    """As the API's presence endpoint: oneself, people one shares a
    conversation with, people one may message; nobody else."""
    mentor, student = assigned
    socket = await open_socket(student)
    asked = [str(mentor.pk), str(outsider.pk), str(student.pk)]
    reply = await socket.request({"type": "presence.query", "user_ids": asked})
    assert reply["type"] == "presence.state"
    assert {u["user_id"] for u in reply["users"]} == {str(mentor.pk), str(student.pk)}
    nobody = await socket.request({"type": "presence.query", "user_ids": [str(outsider.pk)]})
    assert nobody["users"] == []
    await socket.close()


def spellings(conversation_id: uuid.UUID, count: int) -> list[str]:
    """``count`` different texts that all read as ``conversation_id``: upper
    and lower case hex digits, dashes anywhere or none, braces, ``urn:uuid:``.
    Dashes at any of the 31 places between digits make enough spellings even
    for an id with no letter to change the case of."""
    rng = random.Random(10)
    forms = [str, lambda u: f"{{{u}}}", lambda u: f"urn:uuid:{u}"]
    found: dict[str, None] = {}
    while len(found) < count:
        digits = [c.upper() if rng.random() < 0.5 else c for c in conversation_id.hex]
        dashed = "".join(
            d + ("-" if i < 31 and rng.random() < 0.2 else "") for i, d in enumerate(digits)
        )
        text = rng.choice(forms)(dashed)
        assert uuid.UUID(text) == conversation_id
        found[text] = None
    return list(found)


async def test_resume_of_one_foreign_conversation_however_spelled_is_refused_once(
    open_socket, private_conversation, outsider, fake_clock
):
    """One resume frame listing a foreign conversation under many spellings
    is one refusal and, repeated, one audit row per window with a count."""
    conversation, _ = private_conversation
    socket = await open_socket(outsider)

    # More cursors than a frame may hold: invalid, nothing looked up.
    many = {text: 0 for text in spellings(conversation.pk, 1_000)}
    reply = await socket.request({"type": "resume", "cursors": many})
    assert reply["type"] == "error" and reply["code"] == "invalid"
    assert str(validation.MAX_RESUME_CURSORS) in reply["message"]
    assert await orm(denial_count)(outsider) == 0

    cap = {text: 0 for text in spellings(conversation.pk, validation.MAX_RESUME_CURSORS)}
    for _ in range(3):
        await socket.send({"type": "resume", "ref": "r", "cursors": cap})
        error = await socket.recv_type("error")
        assert error["code"] == "not_found" and error["ref"] == "r"
        assert error["conversation_id"] == str(conversation.pk)  # canonical
        await socket.recv_type("resume.done")  # and no second error before it
    rows = await orm(lambda: list(AuditLog.objects.filter(actor=outsider)))()
    assert len(rows) == 1 and rows[0].action == AuditAction.ACCESS_DENIED
    assert await orm(audit.repeats)(rows[0]) == 3

    fake_clock.advance(rows[0].details["window_seconds"])
    await socket.send({"type": "resume", "cursors": cap})
    await socket.recv_type("error")
    await socket.recv_type("resume.done")
    assert await orm(denial_count)(outsider) == 2
    await socket.close()


async def test_resume_spellings_of_ones_own_conversation_are_one_cursor(
    open_socket, private_conversation, assigned
):
    """Every spelling of a conversation's id is that conversation, resumed
    once from the lowest cursor given; an entry that is no id is refused
    alone."""
    conversation, message = private_conversation
    _, student = assigned
    socket = await open_socket(student)
    texts = spellings(conversation.pk, 4)
    cursors = {texts[0]: 1, texts[1]: 0, texts[2]: 1, "not-an-id": 0, texts[3]: -1}
    await socket.send({"type": "resume", "ref": "r", "cursors": cursors})
    errors = [await socket.recv_type("error"), await socket.recv_type("error")]
    assert {(e["code"], e["conversation_id"]) for e in errors} == {
        ("invalid", "not-an-id"),
        ("invalid", str(conversation.pk)),
    }
    page = await socket.recv_type("history")
    assert page["conversation_id"] == str(conversation.pk)
    assert [m["id"] for m in page["messages"]] == [str(message.pk)]  # from seq 0
    await socket.recv_type("resume.done")
    assert await socket.nothing()
    await socket.close()
