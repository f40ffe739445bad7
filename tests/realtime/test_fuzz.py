"""Hypothesis throws malformed, oversize and wrongly typed frames at the
consumer: every one gets a documented error or a valid reply, nothing is
unhandled, and the socket still answers afterwards."""

import json
import re
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings as django_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from messaging import services
from messaging.models import ConversationType, Message

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

PROTOCOL = (
    __import__("pathlib").Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
).read_text()
DOCUMENTED_CODES = set(re.findall(r"^\| `([a-z_]+)` \|", PROTOCOL, re.M))
COMMAND_TYPES = [
    "message.send",
    "message.edit",
    "message.delete",
    "typing.start",
    "typing.stop",
    "read",
    "delivered",
    "resume",
    "history.fetch",
    "presence.set",
    "presence.query",
    "ping",
]
FIELDS = [
    "conversation_id",
    "client_id",
    "content",
    "message_id",
    "seq",
    "cursors",
    "after_seq",
    "before_seq",
    "limit",
    "status",
    "user_ids",
    "attachments",
    "ref",
]

# Text with what the text rule refuses: lone surrogates, controls, noncharacters.
lone_surrogates = st.integers(0xD800, 0xDFFF).map(chr)
awkward_text = st.lists(
    st.characters() | lone_surrogates | st.sampled_from(["\x00", "\x1b", "\ufffe", "\u202e"]),
    max_size=30,
).map("".join)
# Numbers past a bigint seq, and past what int() reads from text at all.
huge_integers = st.integers(2**63 - 2, 2**64) | st.integers(10**300, 10**4000)

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | huge_integers
    | st.floats(allow_nan=False)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=50)
    | awkward_text,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=10,
)


# Nested deeper than the parser goes (RecursionError): open, closed, inside
# a command, in arrays and objects; all under the frame size limit.
nested = st.one_of(
    st.integers(1_000, 60_000).map(lambda n: "[" * n),
    st.integers(1_000, 12_000).map(lambda n: '{"a":' * n),
    st.builds(
        lambda kind, field, n: (
            json.dumps({"type": kind, field: None})[:-5] + "[" * n + "]" * n + "}"
        ),
        st.sampled_from(COMMAND_TYPES),
        st.sampled_from(FIELDS),
        st.integers(900, 30_000),
    ),
)


def frames(conversation_id: str):
    field_values = (
        json_values
        | st.just(conversation_id)
        | st.uuids().map(str)
        | st.just({conversation_id: 0})
        | st.integers(60_000, 70_000).map(lambda n: "x" * n)
    )
    command = st.fixed_dictionaries(
        {"type": st.sampled_from(COMMAND_TYPES) | st.text(max_size=20)},
        optional={name: field_values for name in FIELDS},
    ).map(json.dumps)
    garbage = (
        st.text(min_size=1, max_size=200)
        | json_values.map(json.dumps)
        | st.binary(min_size=1, max_size=50).map(lambda b: b.decode("latin-1"))
        # Raw text with lone surrogates, as only an in-process client can send.
        | awkward_text.filter(bool)
        | lone_surrogates.map(lambda t: '{"type": "message.send", "content": "' + t + '"}')
        | nested
        | st.integers(4_301, 6_000).map(lambda n: '{"type": "ping", "n": ' + "9" * n + "}")
    )
    return st.lists(command | garbage, min_size=1, max_size=8)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
async def test_fuzzed_frames_get_clear_errors_and_the_socket_survives(
    data, open_socket, assigned, monkeypatch
):
    # The examples share one sender; the rate limit is tested elsewhere.
    monkeypatch.setitem(django_settings.PARLEY, "SEND_BURST", 10_000)
    mentor, student = assigned
    conversation = await sync_to_async(services.create_conversation)(
        creator=mentor, kind=ConversationType.DIRECT, participants=[student]
    )
    raw_frames = data.draw(frames(str(conversation.pk)))
    socket = await open_socket(student)
    try:
        for raw in raw_frames:
            await socket.send_text(raw)
        ping_ref = uuid.uuid4().hex[:8]
        await socket.send({"type": "ping", "ref": ping_ref})
        while True:
            frame = await socket.recv(timeout=10)
            assert isinstance(frame.get("type"), str)
            if frame["type"] == "error":
                assert frame["code"] in DOCUMENTED_CODES, frame
                assert frame["code"] != "internal", frame
                assert frame["message"]
            if frame["type"] == "pong" and frame.get("ref") == ping_ref:
                break
        assert not socket.communicator.future.done(), "the consumer must still be running"
        # And it still does real work. (A message.new of an earlier example,
        # read from Redis after this socket joined, may come first.)
        client_id = str(uuid.uuid4())
        await socket.send(
            {
                "type": "message.send",
                "conversation_id": str(conversation.pk),
                "client_id": client_id,
                "content": "after the storm",
            }
        )
        while (frame := await socket.recv(timeout=10))["type"] != "ack":
            assert frame["type"] in ("message.new", "presence", "receipt"), frame
        assert frame["client_id"] == client_id
        assert frame["message"]["content"] == "after the storm"
        assert await sync_to_async(Message.objects.filter(client_id=client_id).exists)()
    finally:
        await socket.close()


def test_documented_codes_are_parsed():
    assert {
        "bad_json",
        "bad_frame",
        "unknown_type",
        "forbidden",
        "rate_limited",
    } <= DOCUMENTED_CODES
