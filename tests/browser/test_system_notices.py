"""System messages ("Maria added Cleo") read in the reader's language: the
inbox's server-drawn preview, the conversation's history and a notice that
arrives live, in Spanish and Arabic; an English reader reads the stored
words (messaging/notices.py, static/js/notices.js)."""

import pytest
from playwright.sync_api import expect

from accounts.models import Role, User
from messaging import services
from messaging.models import ConversationType
from tests.browser.conftest import PASSWORD, off_loop, open_as

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]

SPOKEN = {
    "en": ("Maria Mentor added Cleo Colleague", "Maria Mentor removed Cleo Colleague"),
    "es": ("Maria Mentor añadió a Cleo Colleague", "Maria Mentor quitó a Cleo Colleague"),
    # Names isolated (FSI … PDI) in a right-to-left sentence.
    "ar": (
        "أضاف \u2068Maria Mentor\u2069 \u200f\u2068Cleo Colleague\u2069",
        "أزال \u2068Maria Mentor\u2069 \u200f\u2068Cleo Colleague\u2069",
    ),
}


@pytest.fixture
def group_with_a_newcomer(pair):
    """Sam's group, where Maria has just added Cleo."""
    mentor, student, _ = pair
    colleague = User.objects.create_user(
        email="cleo@example.test",
        password=PASSWORD,
        display_name="Cleo Colleague",
        role=Role.MENTOR,
    )
    group = services.create_conversation(
        creator=mentor,
        kind=ConversationType.GROUP,
        participants=[student],
        title="Capstone study group",
    )
    services.add_participants(actor=mentor, conversation_id=group.pk, users=[colleague])
    return group, colleague


@pytest.mark.parametrize("language", ["en", "es", "ar"])
def test_who_joined_and_left_is_told_in_the_readers_language(
    language, pair, group_with_a_newcomer, browser, server, console
):
    mentor, student, _ = pair
    group, colleague = group_with_a_newcomer
    added, removed = SPOKEN[language]

    context, page = open_as(browser, server, console, student, "/", language=language)
    row = page.locator(".conversation-row").filter(has_text="Capstone study group")
    expect(row.locator(".row-preview")).to_have_text(added)

    page.goto(f"{server.http_url}/c/{group.pk}/")
    expect(page.locator("#connection")).to_have_attribute("data-state", "online")
    lines = page.locator(".message.system .system-text")
    expect(lines).to_have_text([added])

    # Told live: the browser words it, from the same notice.
    off_loop(
        lambda: services.remove_participant(actor=mentor, conversation_id=group.pk, user=colleague)
    )
    expect(lines).to_have_text([added, removed])
    context.close()
