"""One-click unsubscribe in a real Chromium: the link from an email, opened
without logging in, asks to confirm; the button switches email off."""

import pytest
from playwright.sync_api import expect

from notifications.selectors.preferences import preferences_for
from notifications.tokens import unsubscribe_token
from tests.browser.conftest import TIMEOUT_MS, off_loop, screenshot

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]


def test_the_unsubscribe_link_switches_email_off(pair, server, browser, console):
    _, student, _ = pair
    path = f"/notifications/unsubscribe/{unsubscribe_token(student.pk)}/"
    context = browser.new_context(viewport={"width": 900, "height": 640})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    console.attach(page)
    try:
        page.goto(f"{server.http_url}{path}")
        expect(page.get_by_role("heading", name="Stop email from Parley?")).to_be_visible()
        expect(page.get_by_text(student.email)).to_be_visible()
        screenshot(page, "unsubscribe.png")
        assert off_loop(lambda: preferences_for(student).email_enabled) is True

        page.get_by_role("button", name="Stop email").click()
        expect(page.get_by_role("heading", name="Email stopped")).to_be_visible()
        screenshot(page, "unsubscribed.png")
        assert off_loop(lambda: preferences_for(student).email_enabled) is False

        # An altered link says so, and changes nothing.
        answer = page.goto(f"{server.http_url}{path[:-3]}x/")
        assert answer.status == 400
        expect(page.get_by_role("heading", name="This link is not valid")).to_be_visible()
    finally:
        context.close()
