"""On the embedded default (``PARLEY_LIVE_TASKS_IN_PROCESS``, the in-memory
channel layer) an answer posted by the Celery worker would reach no socket:
the assistant answers in the server process instead, beside the send
(``events.run_beside``), and its frames go out on the server's event loop.
Here the real consumer stack serves the socket, tasks go to the broker
(where no worker runs), and the answer must still arrive live."""

import uuid

import pytest
from asgiref.sync import sync_to_async

from messaging.models import Message
from tests.realtime.conftest import _fresh_presence, open_socket  # noqa: F401

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def embedded_live(settings, on_the_broker):
    """The embedded default's live path: live tasks in this process, the
    in-memory channel layer, everything else queued on the broker."""
    on_the_broker.control.purge()
    settings.PARLEY_LIVE_TASKS_IN_PROCESS = True
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    yield
    on_the_broker.control.purge()


async def until(socket, predicate, timeout: float = 30) -> dict:
    """The next frame matching ``predicate``; the others are passed over."""
    while True:
        frame = await socket.recv(timeout)
        if predicate(frame):
            return frame


async def test_the_assistant_answers_live_in_the_server_process(
    embedded_live,
    fake_ai,
    group,
    people,
    bot,
    open_socket,  # noqa: F811
):
    _mentor, sam, _sofia = people
    full = "Friday. Start with the outline today."
    fake_ai.control("normal", answer=full)
    socket = await open_socket(sam)
    client_id = str(uuid.uuid4())
    await socket.send(
        {
            "type": "message.send",
            "conversation_id": str(group.pk),
            "client_id": client_id,
            "content": "@Success Partner AI when is the capstone due?",
        }
    )
    ack = await until(socket, lambda f: f["type"] == "ack" and f["client_id"] == client_id)

    def from_the_bot(frame: dict) -> bool:
        sender = frame.get("message", {}).get("sender") or {}
        return sender.get("id") == str(bot.user_id)

    # The answer: posted on its first words, then edited to the whole text.
    answer = await until(socket, lambda f: f["type"] == "message.new" and from_the_bot(f))
    assert answer["message"]["reply_to"]["id"] == ack["message"]["id"]
    final = answer
    while final["message"]["content"] != full:
        final = await until(
            socket,
            lambda f: (
                f["type"] == "message.edited" and f["message"]["id"] == answer["message"]["id"]
            ),
        )
    stored = await sync_to_async(Message.objects.get)(pk=answer["message"]["id"])
    assert stored.content == full
    await socket.close()
