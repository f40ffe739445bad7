"""The assistant in the conversation page (real Chromium, a real daphne
process on PostgreSQL and Redis, the fake endpoint process): a mentor
writes to it and its streamed answer arrives live; "Summarise unread"
shows her a summary no one else sees."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role, User
from messaging import services as messaging_services
from messaging.integrations.assistant import services
from messaging.integrations.bots import services as bot_services
from messaging.integrations.models import BotKind
from messaging.models import ConversationType, Message
from tests.browser.conftest import (  # noqa: F401  (the fixtures)
    PASSWORD,
    browser,
    console,
    off_loop,
    open_as,
    screenshot,
    send_as,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]


def person(email, name, role):
    return User.objects.create_user(email=email, password=PASSWORD, display_name=name, role=role)


@pytest.fixture
def scene(transactional_db):
    """Made before the browser starts (its event loop forbids the ORM):
    a group of Ada, Maria, Sam and the assistant, Sam's two messages unread
    by Maria."""
    admin = person("ada@example.test", "Ada Admin", Role.ADMIN)
    maria = person("maria@example.test", "Maria Mentor", Role.MENTOR)
    sam = person("sam@example.test", "Sam Student", Role.STUDENT)
    bot = bot_services.create_bot(
        owner=admin, display_name="Success Partner AI", kind=BotKind.ASSISTANT
    ).bot
    group = messaging_services.create_conversation(
        creator=admin, kind=ConversationType.GROUP, participants=[maria, sam], title="Capstone"
    )
    messaging_services.add_participants(actor=admin, conversation_id=group.pk, users=[bot.user])
    send_as(sam, group, "I finished the survey chapter.")
    send_as(sam, group, "Could someone review my methods section?")
    return maria, bot, group


def test_an_answer_arrives_live_and_a_mentor_reads_a_private_summary(
    scene,
    fake_ai,
    browser,  # noqa: F811
    asgi_server,
    console,  # noqa: F811
):
    maria, bot, group = scene
    server = asgi_server(
        extra_env={
            "AI_BASE_URL": f"{fake_ai.url}/v1",
            "AI_ALLOW": "127.0.0.1",
            "AI_MODEL": "parley-test-model",
            "AI_TIMEOUT_SECONDS": "5",
        }
    )

    context, page = open_as(browser, server, console, maria, f"/c/{group.pk}/")
    expect(page.locator("#assistant-badge")).to_contain_text("Success Partner AI")
    page.locator("#composer-input").fill("What should Sam do next?")
    page.locator("#composer-input").press("Enter")
    question = page.locator("#message-list li.message", has_text="What should Sam do next?")
    expect(question).to_have_attribute("data-id", re.compile(r"^[0-9a-f-]{36}$"))
    question_id = question.get_attribute("data-id")

    fake_ai.control("normal", answer="Sam should ask Maria to review the methods section.")
    result = off_loop(services.answer, bot_id=bot.user_id, message_id=question_id)
    assert result.outcome == "answered"
    answer = page.locator("#message-list li.message", has_text="Sam should ask Maria")
    expect(answer).to_contain_text("Sam should ask Maria to review the methods section.")
    expect(answer).to_contain_text("Success Partner AI")

    fake_ai.control("normal", answer="Sam finished a chapter and wants a review.")
    page.get_by_role("button", name="Summarise unread").click()
    summary = page.locator("#assistant-summary-text")
    expect(summary).to_contain_text("Sam finished a chapter and wants a review.")
    expect(page.locator("#assistant-summary-dialog")).to_contain_text(
        "Only you can see this summary."
    )
    screenshot(page, "assistant-summary.png")
    transcript = fake_ai.requests()[-1]["body"]["messages"][-1]["content"]
    assert "I finished the survey chapter." in transcript
    assert "What should Sam do next?" not in transcript  # her own
    # Shown to her only: nothing was posted for it.
    assert off_loop(lambda: Message.objects.filter(sender=bot.user).count()) == 1
    context.close()
