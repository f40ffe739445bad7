"""A video call in real headless Chromium: Maria clicks the call button in
her conversation with Sam; the call's card appears live on Sam's page (a
second browser context), and its Join link leads to Sam's own link on the
Jitsi server (followed here only as far as the redirect: the external site
is never loaded)."""

from urllib.parse import parse_qsl, urljoin, urlsplit

import jwt
import pytest
from playwright.sync_api import expect

from tests.browser.accessibility import assert_accessible
from tests.browser.conftest import (  # noqa: F401 - fixtures
    browser,
    console,
    open_as,
    pair,
)

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]

SECRET = "browser-meetings-secret-0123456789abcdef"


@pytest.fixture
def jitsi_server(asgi_server):
    return asgi_server(
        extra_env={
            "PARLEY_MEETING_PROVIDER": "jitsi",
            "PARLEY_JITSI_URL": "https://meet.example.org",
            "PARLEY_JITSI_APP_ID": "parley-browser",
            "PARLEY_JITSI_SECRET": SECRET,
        }
    )


def test_a_call_started_by_one_member_reaches_the_other_with_their_own_link(
    pair,  # noqa: F811 - made before the browser starts (conftest)
    jitsi_server,
    browser,  # noqa: F811
    console,  # noqa: F811
):
    maria, sam, conversation = pair
    path = f"/c/{conversation.pk}/"
    maria_context, maria_page = open_as(browser, jitsi_server, console, maria, path)
    sam_context, sam_page = open_as(browser, jitsi_server, console, sam, path)

    maria_page.get_by_role("button", name="Start a video call").click()

    card = sam_page.locator(".meeting-card")
    expect(card).to_be_visible()
    expect(card).to_contain_text("Maria Mentor started a video call")
    join = card.get_by_role("link", name="Join the video call (opens in a new tab)")
    expect(join).to_have_attribute("target", "_blank")
    href = join.get_attribute("href")
    assert href.startswith("/meetings/") and href.endswith("/join/")
    # Maria sees her own card too, said as hers, without an Edit action.
    mine = maria_page.locator(".meeting-card")
    expect(mine).to_contain_text("You started a video call")
    expect(maria_page.locator("li.message.meeting [data-action=edit]")).to_have_count(0)
    assert_accessible(sam_page, "a call's card", within=".meeting-card")
    assert_accessible(maria_page, "my call's card", within=".meeting-card")
    assert_accessible(maria_page, "the call button", within=".chat-actions")

    # Sam's session follows the link as far as the redirect only.
    answer = sam_context.request.get(urljoin(jitsi_server.http_url, href), max_redirects=0)
    assert answer.status == 302
    location = answer.headers["location"]
    assert location.startswith("https://meet.example.org/parley")
    token = dict(parse_qsl(urlsplit(location).query))["jwt"]
    claims = jwt.decode(
        token, SECRET, algorithms=["HS256"], audience="jitsi", issuer="parley-browser"
    )
    assert claims["context"]["user"]["name"] == "Sam Student"
    assert claims["context"]["user"]["moderator"] == "false"
    assert claims["room"] == urlsplit(location).path.strip("/")
    maria_context.close()
    sam_context.close()
