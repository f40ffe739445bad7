"""In Chromium: a student mentions a webhook bot in a group; the bot's
receiver (the guide's code) answers in its response body, and the answer
arrives live in the student's page. The server runs its Celery tasks
itself (routing, the delivery, the answer's send)."""

import pytest
from playwright.sync_api import expect

from messaging import services
from messaging.integrations.bots import services as bot_services
from messaging.models import ConversationType
from tests.browser.conftest import open_as
from tests.integrations.receivers import serve_receiver

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]


@pytest.fixture
def helper_bot(pair, settings):
    """The mentor's webhook bot, its URL the guide's receiver, in a group
    with the student; made before the browser starts (its event loop
    forbids queries in the test's thread)."""
    mentor, student, _ = pair
    settings.PARLEY_OUTGOING_WEBHOOK_ALLOW = ["127.0.0.1"]
    holder = {}
    far, stop = serve_receiver(lambda: holder["bot"].signing_secret)
    bot = bot_services.create_bot(owner=mentor, display_name="Helper Bot", outgoing_url=far.url).bot
    holder["bot"] = bot
    group = services.create_conversation(
        creator=mentor,
        kind=ConversationType.GROUP,
        participants=[student, bot.user],
        title="Exam prep",
    )
    yield group, far
    stop()


def test_a_bots_answer_to_a_mention_arrives_live(pair, helper_bot, browser, asgi_server, console):
    _, student, _ = pair
    group, far = helper_bot
    server = asgi_server(
        extra_env={"CELERY_TASK_ALWAYS_EAGER": "true", "PARLEY_OUTGOING_WEBHOOK_ALLOW": "127.0.0.1"}
    )
    _, page = open_as(browser, server, console, student, f"/c/{group.pk}/")
    box = page.get_by_label("Message Exam prep")
    box.fill("@Helper Bot when is the exam?")
    box.press("Enter")
    answer = page.locator("#message-list li.message").filter(
        has_text=f"Hello, {student.display_name}!"
    )
    expect(answer).to_be_visible()
    expect(answer).to_contain_text("Helper Bot")
    assert [r["verified"] for r in far.requests] == [True]
