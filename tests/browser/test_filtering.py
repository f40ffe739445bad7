"""A message a content rule refuses stays the sender's draft: back in the
composer with the reason, never retried as it is, never shown to the other
person; changed, it is sent as usual."""

import pytest
from playwright.sync_api import expect

from messaging.models import FilterAction, FilterKind, FilterRule, Message
from tests.browser.conftest import off_loop, open_as

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]

REFUSAL = "Please keep it friendly: that word isn't allowed here."


@pytest.fixture
def blocked_word(db):
    """Made before the browser starts (its event loop refuses the ORM)."""
    return FilterRule.objects.create(
        name="No darn",
        kind=FilterKind.TERM,
        action=FilterAction.BLOCK,
        pattern="darn",
        message=REFUSAL,
    )


def test_a_blocked_message_stays_in_the_composer(pair, blocked_word, browser, server, console):
    mentor, student, conversation = pair
    path = f"/c/{conversation.pk}/"
    _, mentor_page = open_as(browser, server, console, mentor, path)
    _, page = open_as(browser, server, console, student, path)

    box = page.get_by_label("Message Maria Mentor")
    box.fill("Well, d4rn it, the build failed again")
    box.press("Enter")

    expect(page.locator("#composer-notice")).to_have_text(REFUSAL)
    expect(box).to_have_value("Well, d4rn it, the build failed again")
    expect(box).to_be_focused()
    # Not waiting in the outbox to be retried, and not in the list.
    expect(page.locator("#outbox-list li.outbox")).to_have_count(0)
    assert page.evaluate("window.parley.outbox.all().length") == 0
    expect(page.locator("#message-list li.message")).to_have_count(0)

    # Changed, it goes; the reason goes as soon as the text is changed.
    box.fill("Well, the build failed again")
    expect(page.locator("#composer-notice")).to_have_text("")
    box.press("Enter")
    expect(page.locator("#message-list li.message .content")).to_have_text(
        ["Well, the build failed again"]
    )
    expect(box).to_have_value("")
    expect(mentor_page.locator("#message-list li.message .content")).to_have_text(
        ["Well, the build failed again"]
    )
    contents = off_loop(lambda: list(Message.objects.values_list("content", flat=True)))
    assert contents == ["Well, the build failed again"]
