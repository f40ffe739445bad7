"""Steps the encrypted-conversation browser tests share."""

import json
import re

from playwright.sync_api import expect

from tests.browser.conftest import TIMEOUT_MS, open_as, wait_synced


def person(browser, server, console, user, path="/"):
    """A browser context of ``user`` (a device of theirs), signed in."""
    return open_as(browser, server, console, user, path)


def open_conversation(page, server, conversation_id):
    page.goto(f"{server.http_url}/c/{conversation_id}/")
    wait_synced(page)
    return page


def device_ready(page, status="active"):
    """This browser's device for encryption is in ``status``."""
    expect(page.locator("body")).to_have_attribute("data-e2e-device", status, timeout=TIMEOUT_MS)


def send(page, text):
    box = page.locator("#composer-input")
    box.fill(text)
    box.press("Enter")
    # Stored (acknowledged): it left the outbox and is in the list.
    expect(page.locator("#message-list li.message .content", has_text=text)).to_be_visible()
    expect(page.locator("#outbox-list li")).to_have_count(0)


def message(page, text):
    return page.locator("#message-list li.message", has=page.locator(".content", has_text=text))


def shows(page, text):
    expect(message(page, text)).to_be_visible()


def conversation_id_of(page):
    match = re.search(r"/c/([0-9a-f-]{36})/", page.url)
    assert match, page.url
    return match.group(1)


def api_call(context, server, method, path, body=None):
    """A REST request with ``context``'s session and CSRF token: (status,
    JSON body or None)."""
    token = next((c["value"] for c in context.cookies() if c["name"] == "csrftoken"), "")
    response = context.request.fetch(
        f"{server.http_url}/api/{path}", method=method, data=body, headers={"X-CSRFToken": token}
    )
    text = response.text()
    return response.status, (json.loads(text) if text else None)


def set_up_device(browser, server, console, user):
    """``user``'s browser with its device made on the Devices page."""
    context, page = person(browser, server, console, user, "/devices/")
    page.get_by_role("button", name="Set up this browser").click()
    expect(page.locator("#e2e-devices")).to_have_attribute("data-this-device", "active")
    return context, page


def start_encrypted_direct(browser, server, console, user, other_name):
    """``user``'s browser opens a new encrypted direct conversation with
    ``other_name``: (context, page, conversation id), the device ready."""
    context, page = person(browser, server, console, user, "/new/direct/")
    page.get_by_label("End-to-end encrypted").check()
    page.get_by_role("button", name=f"Message {other_name}").click()
    page.wait_for_url("**/c/*/")
    device_ready(page)
    return context, page, conversation_id_of(page)
