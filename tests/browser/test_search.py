"""Search in real headless Chromium against a real daphne process on
PostgreSQL and Redis: a search from the header's box, its hits grouped by
conversation with the words marked, a hit followed into its conversation
far back in history (the message with its neighbours, in view and marked;
older and newer history paged by scrolling; a live message still
arriving), and a query the parser refuses."""

import re
import uuid

import pytest
from playwright.sync_api import expect

from accounts.models import MentorAssignment, Role, User
from messaging import services
from messaging.models import ConversationType
from tests.browser.conftest import PASSWORD, TIMEOUT_MS, off_loop, open_as, screenshot

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]

BEFORE = 80  # messages before the one searched for
AFTER = 260  # and after it: more than a page, and more than a resume brings
TARGET_TEXT = "The lab budget for spring is 420 euros"


def say(sender, conversation, content):
    return services.send_message(
        sender=sender, conversation_id=conversation.pk, content=content, client_id=uuid.uuid4()
    ).message


def seed(mentor, student, direct):
    """The direct conversation's long history around the message to find,
    and a group with another hit. Returns the message searched for and the
    group."""
    for n in range(1, BEFORE + 1):
        say(mentor if n % 2 else student, direct, f"Before {n}: notes on the reading")
    target = say(mentor, direct, TARGET_TEXT)
    for n in range(1, AFTER + 1):
        say(student if n % 2 else mentor, direct, f"After {n}: more notes on the reading")
    classmate = User.objects.create_user(
        email="lea@example.test", password=PASSWORD, display_name="Lea Learner", role=Role.STUDENT
    )
    MentorAssignment.objects.create(mentor=mentor, student=classmate)
    group = services.create_conversation(
        creator=mentor,
        kind=ConversationType.GROUP,
        participants=[student, classmate],
        title="Physics lab",
    )
    say(classmate, group, "Is the budget meeting still on Thursday?")
    return target, group


def shown_seqs(page) -> list[int]:
    return page.eval_on_selector_all(
        "#message-list li.message", "nodes => nodes.map((n) => Number(n.dataset.seq))"
    )


def scroll_until_shown(page, text: str, *, to: str) -> None:
    """Scroll the messages to their top or bottom, again at each poll, until
    a message with ``text`` is in the list (the page loads a page of
    history each time it nears an end)."""
    page.wait_for_function(
        """([text, to]) => {
            const scroller = document.getElementById("messages");
            scroller.scrollTop = to === "top" ? 0 : scroller.scrollHeight;
            return [...document.querySelectorAll("#message-list li.message .content")]
              .some((node) => node.textContent.includes(text));
        }""",
        arg=[text, to],
        polling=250,
        timeout=TIMEOUT_MS,
    )


def test_a_search_from_the_header_finds_the_message_and_opens_it_in_context(
    pair, browser, server, console
):
    mentor, student, direct = pair
    target, group = off_loop(seed, mentor=mentor, student=student, direct=direct)
    context, page = open_as(browser, server, console, student, "/")

    header = page.get_by_role("search", name="Search messages")
    header.get_by_role("searchbox", name="Search messages").fill("budget")
    header.get_by_role("searchbox", name="Search messages").press("Enter")
    page.wait_for_url(f"{server.http_url}/search/?q=budget")

    # Grouped by conversation: a heading each, the hits a list under it,
    # the word marked.
    results = page.get_by_role("list", name="Results, by conversation")
    expect(results.get_by_role("heading", level=2)).to_have_count(2)
    in_direct = results.locator(".search-group").filter(
        has=page.get_by_role("heading", name="Maria Mentor")
    )
    hit = in_direct.locator("a.search-hit-link")
    expect(in_direct.locator(".search-hit")).to_have_count(1)
    expect(in_direct.locator(".search-snippet mark")).to_have_text("budget")
    expect(in_direct.locator(".search-hit-meta .sender")).to_have_text("Maria Mentor")
    in_group = results.locator(".search-group").filter(
        has=page.get_by_role("heading", name="Physics lab")
    )
    expect(in_group.locator(".search-snippet")).to_contain_text("budget meeting")
    screenshot(page, "search.png")

    hit.click()
    page.wait_for_url(f"**/c/{direct.pk}/?around={target.seq}#m-{target.seq}")
    found = page.locator("#message-list li.message.jump-target")
    expect(found).to_have_count(1)
    expect(found.locator(".content")).to_have_text(TARGET_TEXT)
    expect(found).to_be_in_viewport()
    expect(found).to_be_focused()
    # Its neighbours on both sides are there; nothing older than the pages
    # around it was loaded.
    expect(page.locator("#message-list li.message", has_text=f"Before {BEFORE}:")).to_have_count(1)
    expect(page.locator("#message-list li.message", has_text="After 1:")).to_have_count(1)
    assert min(shown_seqs(page)) > 1
    expect(page.locator("#jump-newer")).to_be_visible()
    screenshot(page, "search-jump.png")

    # A live message arrives while the newest history is not loaded.
    off_loop(say, sender=mentor, conversation=direct, content="Live: see you at the lab")
    expect(page.locator("#message-list li.message", has_text="Live: see you")).to_have_count(1)

    # Scrolling up pages older history back to the first message...
    scroll_until_shown(page, "Before 1:", to="top")
    # ...and scrolling down pages newer history until it meets the live one.
    scroll_until_shown(page, f"After {AFTER}:", to="bottom")
    expect(page.locator("#jump-newer")).to_have_count(0)
    seqs = shown_seqs(page)
    assert seqs == list(range(1, BEFORE + AFTER + 3)), "every message once, in order"
    context.close()


def test_an_invalid_query_shows_its_error(pair, browser, server, console):
    _, student, _ = pair
    context, page = open_as(browser, server, console, student, "/search/")
    box = page.get_by_role("search", name="Search").get_by_role("searchbox")
    box.fill("before:2026-13-45 budget")
    box.press("Enter")
    page.wait_for_url("**/search/?q=before*")
    expect(page.locator("#search-error[role=alert]")).to_contain_text("before: takes a date")
    expect(box).to_have_value("before:2026-13-45 budget")
    expect(box).to_have_attribute("aria-invalid", "true")
    expect(box).to_have_accessible_description(re.compile("before: takes a date"))
    context.close()


def test_slash_focuses_the_header_search_box(pair, browser, server, console):
    _, student, _ = pair
    context, page = open_as(browser, server, console, student, "/")
    box = page.get_by_role("search", name="Search messages").get_by_role("searchbox")
    expect(box).not_to_be_focused()
    page.locator("body").press("/")
    expect(box).to_be_focused()
    context.close()


def test_on_a_phone_the_header_offers_search_as_a_button(pair, browser, server, console):
    """A phone's bar has no room for a box: the button alone, which opens
    the search page with its box focused."""
    _, student, _ = pair
    context, page = open_as(
        browser, server, console, student, "/", viewport={"width": 390, "height": 844}
    )
    header = page.get_by_role("search", name="Search messages")
    expect(header.get_by_role("searchbox")).to_be_hidden()
    header.get_by_role("button", name="Search").click()
    page.wait_for_url("**/search/?q=")
    expect(page.get_by_role("search", name="Search").get_by_role("searchbox")).to_be_focused()
    screenshot(page, "search-phone.png")
    context.close()


def test_without_javascript_the_header_box_and_the_page_still_search(
    pair, browser, server, console
):
    mentor, student, direct = pair
    target = off_loop(say, sender=mentor, conversation=direct, content=TARGET_TEXT)
    context, page = open_as(browser, server, console, student, "/", javascript=False)
    box = page.get_by_role("search", name="Search messages").get_by_role("searchbox")
    box.fill("budget")
    box.press("Enter")
    page.wait_for_url(f"{server.http_url}/search/?q=budget")
    hit = page.locator("a.search-hit-link")
    expect(hit).to_have_count(1)
    expect(hit).to_have_attribute("href", f"/c/{direct.pk}/?around={target.seq}#m-{target.seq}")
    expect(hit.locator("mark")).to_have_text("budget")
    context.close()


def test_more_results_are_added_below_without_leaving_the_page(pair, browser, server, console):
    mentor, student, direct = pair

    def seed_many():
        return [say(mentor, direct, f"Budget line {n}") for n in range(1, 26)]

    sent = off_loop(seed_many)
    context, page = open_as(browser, server, console, student, "/search/?q=budget")
    hits = page.locator("a.search-hit-link")
    expect(hits).to_have_count(20)  # SEARCH_PAGE_SIZE
    page.get_by_role("link", name="More results").click()
    expect(hits).to_have_count(25)
    # Still this page; the next page's hits went on in the same group.
    assert page.url == f"{server.http_url}/search/?q=budget"
    expect(page.locator(".search-group")).to_have_count(1)
    expect(page.get_by_role("link", name="More results")).to_have_count(0)
    expect(page.locator("#search-count")).to_have_text("Results 1–25")
    expect(hits.nth(20)).to_be_focused()
    shown = {
        h.split("around=")[1].split("#")[0]
        for h in hits.evaluate_all("links => links.map((a) => a.getAttribute('href'))")
    }
    assert shown == {str(m.seq) for m in sent}
    context.close()


def test_a_recent_message_is_marked_in_place_and_an_unknown_one_leaves_the_latest(
    pair, browser, server, console
):
    mentor, student, direct = pair

    def seed_few():
        return [say(mentor, direct, f"Recent {n}") for n in range(1, 4)]

    first, middle, last = off_loop(seed_few)
    path = f"/c/{direct.pk}/"
    context, page = open_as(browser, server, console, student, f"{path}?around={middle.seq}")
    found = page.locator("#message-list li.message.jump-target")
    expect(found.locator(".content")).to_have_text("Recent 2")
    expect(page.locator("#message-list li.message")).to_have_count(3)
    expect(page.locator("#jump-newer")).to_have_count(0)

    page.goto(f"{server.http_url}{path}?around={last.seq + 50}")
    expect(page.locator("#live-region")).to_contain_text("That message could not be shown")
    expect(page.locator("#message-list li.message")).to_have_count(3)
    expect(page.locator("#message-list li.message.jump-target")).to_have_count(0)
    context.close()
