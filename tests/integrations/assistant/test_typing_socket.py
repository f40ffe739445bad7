"""Members' sockets (the real ASGI stack, PostgreSQL, Redis) see the
assistant typing while it answers, then its answer, then the typing stop."""

import uuid

import pytest
from asgiref.sync import sync_to_async

from messaging import services as messaging_services
from messaging.integrations.assistant import services
from tests.realtime.conftest import open_socket  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


async def test_members_see_the_bot_typing_around_its_streamed_answer(
    fake_ai,
    group,
    people,
    bot,
    open_socket,  # noqa: F811
):
    mentor, sam, _sofia = people
    fake_ai.control("normal", answer="Typing, then this answer, then done.")
    socket = await open_socket(mentor)
    question = await sync_to_async(messaging_services.send_message)(
        sender=sam, conversation_id=group.pk, content="Help?", client_id=uuid.uuid4()
    )

    result = await sync_to_async(services.answer)(
        bot_id=bot.user_id, message_id=question.message.pk
    )
    assert result.outcome == "answered"

    bot_id = str(bot.user_id)
    typing: list[bool] = []
    answers: list[str] = []
    final = "Typing, then this answer, then done."
    # docs/protocol.md orders the answer's frames and the typing stop no
    # way against each other: read until both have come.
    while not typing or typing[-1] or final not in answers:
        frame = await socket.recv(timeout=5)
        if frame["type"] == "typing" and frame["user"]["id"] == bot_id:
            assert frame["conversation_id"] == str(group.pk)
            assert frame["expires_in"] > 0
            typing.append(frame["is_typing"])
        elif (
            frame["type"] in ("message.new", "message.edited")
            and frame["message"]["sender"]["id"] == bot_id
        ):
            answers.append(frame["message"]["content"])
    assert typing[0] is True and typing[-1] is False
    assert answers[-1] == final
    await socket.close()
