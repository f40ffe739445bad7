"""Each kind of content rule, blocking and flagging, on the socket's
``message.send`` and ``message.edit``: a refusal is an error frame (the
socket lives on, nothing is broadcast), a flagged message is delivered to
everyone as usual."""

import uuid

import pytest
from asgiref.sync import sync_to_async

from messaging import services
from messaging.models import FilterAction, FilterHit, FilterRule, Message, ModerationCase
from tests.moderation.test_filtering_api import CASES, SCENARIOS
from tests.realtime import conftest as realtime

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

orm = sync_to_async

# The socket tests' fixtures (tests/realtime/conftest.py).
open_socket = realtime.open_socket
_fresh_presence = realtime._fresh_presence


def send_frame(conversation, content):
    return {
        "type": "message.send",
        "conversation_id": str(conversation.pk),
        "client_id": str(uuid.uuid4()),
        "content": content,
    }


def _prime(user, conversation, text, times):
    for _ in range(times):
        services.send_message(
            sender=user, conversation_id=conversation.pk, content=text, client_id=uuid.uuid4()
        )


def _setup(kind, action, mentor, student):
    fields, hits, passes, earlier = SCENARIOS[kind]
    group = services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Study group"
    )
    elsewhere = services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Elsewhere"
    )
    FilterRule.objects.create(name="rule", kind=kind, action=action, **fields)
    _prime(student, elsewhere, hits, earlier)
    return group, hits, passes


@pytest.mark.parametrize(("kind", "action"), CASES)
async def test_send(kind, action, open_socket, assigned):
    mentor, student = assigned
    group, hits, passes = await orm(_setup)(kind, action, mentor, student)
    sender = await open_socket(student)
    watcher = await open_socket(mentor)

    reply = await sender.request(send_frame(group, hits))
    if action == FilterAction.BLOCK:
        assert reply["type"] == "error"
        assert reply["code"] == "content_blocked"
        assert reply["rule"] == kind
        assert reply["conversation_id"] == str(group.pk)
        assert await watcher.nothing()
        assert not await orm(Message.objects.filter(conversation=group).exists)()
        hit = await orm(FilterHit.objects.get)()
        assert hit.message_id is None
        # The socket lives on: the next, acceptable message goes through.
        assert (await sender.request(send_frame(group, passes)))["type"] == "ack"
        assert (await watcher.recv_type("message.new"))["message"]["content"] == passes
    else:
        assert reply["type"] == "ack"
        assert (await watcher.recv_type("message.new"))["message"]["content"] == hits
        hit = await orm(FilterHit.objects.get)()
        assert str(hit.message_id) == reply["message"]["id"]
        assert await orm(ModerationCase.objects.filter(message_id=hit.message_id).exists)()
    await sender.close()
    await watcher.close()


@pytest.mark.parametrize(("kind", "action"), CASES)
async def test_edit(kind, action, open_socket, assigned):
    mentor, student = assigned
    group = await orm(services.create_conversation)(
        creator=mentor, kind="group", participants=[student], title="Drafts"
    )
    message = (
        await orm(services.send_message)(
            sender=student, conversation_id=group.pk, content="first draft", client_id=uuid.uuid4()
        )
    ).message
    _, hits, _, _ = SCENARIOS[kind]
    await orm(_setup)(kind, action, mentor, student)
    sender = await open_socket(student)
    watcher = await open_socket(mentor)

    reply = await sender.request(
        {"type": "message.edit", "message_id": str(message.pk), "content": hits}
    )
    await orm(message.refresh_from_db)()
    if action == FilterAction.BLOCK:
        assert reply["type"] == "error" and reply["code"] == "content_blocked"
        assert reply["rule"] == kind
        assert message.content == "first draft"
        assert await watcher.nothing()
    else:
        assert reply["type"] == "ok"
        assert (await watcher.recv_type("message.edited"))["message"]["content"] == hits
        assert await orm(ModerationCase.objects.filter(message=message).exists)()
    assert await orm(FilterHit.objects.count)() == 1
    await sender.close()
    await watcher.close()
