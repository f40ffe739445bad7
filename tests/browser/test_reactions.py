"""Reactions, pins, saved messages and link cards in real headless Chromium
(static/js/reactions.js, emoji-picker.js, pins.js, saved.js): two people,
each in their own browser context, against a real daphne process on
PostgreSQL and Redis. What one does reaches the other live."""

import re
import uuid

import pytest
from django.db import transaction
from playwright.sync_api import expect

from accounts.models import MentorAssignment, Role, User
from messaging import events, services
from messaging.models import ConversationType
from messaging.threads.models import LinkPreview, Pin, PreviewState, Reaction, SavedMessage
from messaging.threads.services import reactions
from tests.browser.conftest import PASSWORD, off_loop, open_as, screenshot

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]

THUMBS_UP = "👍"


def say(sender, conversation, content):
    """A message sent through the service, off Playwright's event loop."""
    return off_loop(
        lambda: (
            services.send_message(
                sender=sender,
                conversation_id=conversation.pk,
                content=content,
                client_id=uuid.uuid4(),
            ).message
        )
    )


def path_of(conversation):
    return f"/c/{conversation.pk}/"


def item(page, message):
    return page.locator(f"#m-{message.pk}")


def tool(page, message, action):
    """A quick action of a message, as a person reaches it: the pointer
    over the message first (the row shows, and takes clicks, only then)."""
    item(page, message).hover()
    return item(page, message).locator(f"button[data-extra='{action}']")


def chip(page, message, emoji=THUMBS_UP):
    return item(page, message).locator(f".reaction-chip[data-emoji='{emoji}']")


def picker(page):
    return page.get_by_role("dialog", name="Choose a reaction")


@pytest.fixture
def study_group(pair):
    """A group of the mentor and two of her students."""
    mentor, student, _ = pair
    classmate = User.objects.create_user(
        email="lea@example.test", password=PASSWORD, display_name="Lea Learner", role=Role.STUDENT
    )
    MentorAssignment.objects.create(mentor=mentor, student=classmate)
    group = services.create_conversation(
        creator=mentor,
        kind=ConversationType.GROUP,
        participants=[student, classmate],
        title="Capstone study group",
    )
    return group, classmate


def test_the_picker_opened_at_the_bottom_stays_in_the_window(pair, browser, server, console):
    """The picker is placed beside its button; once the emoji list has come
    (it grows the picker) it is placed again, so opened from the last
    message it does not run off the bottom of the window."""
    mentor, student, conversation = pair
    for n in range(12):
        last = say(student, conversation, f"Note {n} about the report.")
    viewport = {"width": 1280, "height": 700}
    _, page = open_as(browser, server, console, mentor, path_of(conversation), viewport)
    tool(page, last, "react").click()
    dialog = picker(page)
    expect(dialog.locator("button[data-emoji]").nth(200)).to_be_attached()
    page.wait_for_function(
        "() => { const d = document.querySelector('dialog.emoji-picker[open]');"
        " return d && d.getBoundingClientRect().bottom <= window.innerHeight; }"
    )
    box = dialog.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]


def test_react_from_the_picker_live_and_one_click_removal(pair, browser, server, console):
    mentor, student, conversation = pair
    message = say(student, conversation, "I pushed the first draft of the report.")
    later = say(student, conversation, "And the slides are in the shared folder.")
    _, mentor_page = open_as(browser, server, console, mentor, path_of(conversation))
    _, student_page = open_as(browser, server, console, student, path_of(conversation))

    # Maria opens the picker from the message's quick actions and searches.
    opener = tool(mentor_page, message, "react")
    opener.click()
    dialog = picker(mentor_page)
    expect(dialog).to_be_visible()
    search = dialog.get_by_label("Search emoji")
    expect(search).to_be_focused()
    search.fill("thumbs")
    first = dialog.locator("button[data-emoji]").first
    expect(first).to_have_attribute("data-emoji", THUMBS_UP)
    expect(first).to_have_accessible_name("thumbs up")
    first.click()
    expect(dialog).to_be_hidden()

    # Her chip, pressed; and live on Sam's page with her name on it.
    mine = chip(mentor_page, message)
    expect(mine).to_have_attribute("aria-pressed", "true")
    expect(mine.locator(".reaction-count")).to_have_text("1")
    theirs = chip(student_page, message)
    expect(theirs).to_have_attribute("aria-pressed", "false")
    expect(theirs.locator(".reaction-count")).to_have_text("1")
    expect(theirs).to_have_attribute("title", "thumbs up, 1 reaction, by Maria Mentor")
    expect(theirs).to_have_accessible_name("thumbs up, 1 reaction, by Maria Mentor")

    # Sam adds his with one click on the chip: two, both names.
    theirs.click()
    expect(theirs).to_have_attribute("aria-pressed", "true")
    expect(theirs.locator(".reaction-count")).to_have_text("2")
    expect(theirs).to_have_attribute("title", "thumbs up, 2 reactions, by Maria Mentor and you")
    expect(mine.locator(".reaction-count")).to_have_text("2")
    expect(mine).to_have_attribute("title", "thumbs up, 2 reactions, by Sam Student and you")

    # Maria takes hers back with one click; then Sam: the chip goes everywhere.
    mine.click()
    expect(mine).to_have_attribute("aria-pressed", "false")
    expect(theirs.locator(".reaction-count")).to_have_text("1")
    expect(theirs).to_have_attribute("title", "thumbs up, 1 reaction, by you")
    theirs.click()
    expect(chip(student_page, message)).to_have_count(0)
    expect(chip(mentor_page, message)).to_have_count(0)

    # The picker remembers it: first in "Recently used". Escape closes it
    # and gives focus back to the button that opened it.
    item(mentor_page, message).hover()
    opener.click()
    recent = dialog.get_by_role("group", name="Recently used")
    expect(recent.locator("button[data-emoji]").first).to_have_attribute("data-emoji", THUMBS_UP)
    screenshot(mentor_page, "reactions-picker.png")
    mentor_page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(opener).to_be_focused()

    # The keyboard alone: search, ArrowDown into the results, arrows move,
    # Enter picks.
    later_opener = tool(mentor_page, later, "react")
    later_opener.focus()
    mentor_page.keyboard.press("Enter")
    expect(search).to_be_focused()
    mentor_page.keyboard.type("heart")
    mentor_page.keyboard.press("ArrowDown")
    results = dialog.locator("button[data-emoji]")
    expect(results.first).to_be_focused()
    mentor_page.keyboard.press("ArrowRight")
    expect(results.nth(1)).to_be_focused()
    picked = results.nth(1).get_attribute("data-emoji")
    mentor_page.keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(chip(student_page, later, picked).locator(".reaction-count")).to_have_text("1")
    rows = off_loop(lambda: list(Reaction.objects.values_list("message_id", "user_id", "emoji")))
    assert rows == [(later.pk, mentor.pk, picked)]


def test_a_refused_reaction_is_said_and_the_page_keeps_working(pair, browser, server, console):
    mentor, student, conversation = pair
    message = say(student, conversation, "Thanks for the feedback!")
    _, mentor_page = open_as(browser, server, console, mentor, path_of(conversation))
    # The server refuses what is not one emoji; the page says why, briefly,
    # and the next reaction works.
    mentor_page.evaluate(
        """async (id) => {
          try {
            await window.parley.view.extras.react(id, "not an emoji");
          } catch (error) { /* shown on the page */ }
        }""",
        str(message.pk),
    )
    notice = item(mentor_page, message).locator(".extras-notice")
    expect(notice).to_contain_text("Reaction not added")
    expect(mentor_page.locator("#alert-region")).to_contain_text("Reaction not added")
    expect(notice).to_have_count(0)
    tool(mentor_page, message, "react").click()
    picker(mentor_page).get_by_label("Search emoji").fill("thumbs up")
    picker(mentor_page).locator("button[data-emoji]").first.click()
    expect(chip(mentor_page, message)).to_have_attribute("aria-pressed", "true")


def test_pins_mentor_pins_student_sees_the_list_and_may_not_pin(
    pair, study_group, browser, server, console
):
    mentor, student, _ = pair
    group, classmate = study_group
    first = say(mentor, group, "Deadline for the capstone proposal: Friday 18:00.")
    for n in range(1, 4):
        say(classmate, group, f"Question {n} about the proposal template")
    question = say(student, group, "Can we work in pairs?")
    _, mentor_page = open_as(browser, server, console, mentor, path_of(group))
    _, student_page = open_as(browser, server, console, student, path_of(group))
    for page in (mentor_page, student_page):
        expect(page.locator("#pins-button")).to_have_attribute("data-loaded", "true")
        expect(page.locator("#pins-button")).to_be_hidden()

    # Maria (a mentor) pins her deadline.
    pin = tool(mentor_page, first, "pin")
    expect(pin).to_have_text("Pin")
    pin.click()
    expect(item(mentor_page, first).locator(".pin-label")).to_have_text("📌 Pinned by you")
    expect(tool(mentor_page, first, "pin")).to_have_text("Unpin")

    # Sam sees it live.
    expect(item(student_page, first).locator(".pin-label")).to_have_text(
        "📌 Pinned by Maria Mentor"
    )
    # Sam, a student in a group, has no effective Pin: the action is not
    # offered, or (the server being the judge) refused and then withdrawn.
    student_pin = tool(student_page, question, "pin")
    if student_pin.is_visible():
        student_pin.click()
        expect(item(student_page, question).locator(".extras-notice")).to_contain_text("Not pinned")
    expect(student_pin).to_be_hidden()
    expect(item(student_page, question).locator(".pin-label")).to_have_count(0)
    assert off_loop(lambda: list(Pin.objects.values_list("message_id", flat=True))) == [first.pk]

    # The header's Pinned list, on Sam's page.
    button = student_page.locator("#pins-button")
    expect(button).to_have_text("📌 Pinned (1)")
    button.click()
    dialog = student_page.get_by_role("dialog", name="Pinned messages")
    expect(dialog).to_be_visible()
    links = dialog.locator("a.pin-link")
    expect(links).to_have_count(1)
    expect(links.first).to_contain_text("Maria Mentor")
    expect(links.first).to_contain_text("Deadline for the capstone proposal: Friday 18:00.")
    expect(links.first).to_be_focused()
    screenshot(student_page, "pinned-list.png")
    # Its link jumps to the message in the conversation.
    links.first.click()
    expect(dialog).to_be_hidden()
    expect(item(student_page, first)).to_have_class(re.compile(r"\btarget\b"))

    # Maria unpins it: gone from Sam's page and header.
    tool(mentor_page, first, "pin").click()
    expect(item(student_page, first).locator(".pin-label")).to_have_count(0)
    expect(button).to_be_hidden()
    assert not off_loop(lambda: Pin.objects.exists())


def test_save_a_message_and_find_it_on_the_saved_page(pair, browser, server, console):
    mentor, student, conversation = pair
    say(mentor, conversation, "Welcome! Read chapter one first.")
    tip = say(mentor, conversation, "The **reading list** is on the course page.")
    context, page = open_as(browser, server, console, student, path_of(conversation))
    # The Saved page in another tab of the same person: it follows live.
    saved_page = context.new_page()
    console.attach(saved_page)
    saved_page.goto(f"{server.http_url}/saved/")
    expect(saved_page.locator("#saved-empty")).to_be_visible()
    # Below 1440 px the top bar's links are behind its menu.
    saved_page.get_by_role("button", name="Menu").click()
    expect(saved_page.get_by_role("link", name="Saved", exact=True)).to_have_attribute(
        "aria-current", "page"
    )
    saved_page.keyboard.press("Escape")  # the menu closes

    save = tool(page, tip, "save")
    expect(save).to_have_attribute("aria-pressed", "false")
    save.click()
    expect(save).to_have_attribute("aria-pressed", "true")
    expect(save).to_have_text("Saved")
    assert off_loop(lambda: list(SavedMessage.objects.values_list("user_id", "message_id"))) == [
        (student.pk, tip.pk)
    ]

    entry = saved_page.locator(f"li.saved-item[data-message-id='{tip.pk}']")
    expect(entry).to_be_visible()
    expect(entry.locator(".saved-conversation")).to_have_text("Maria Mentor")
    expect(entry.locator(".sender")).to_have_text("Maria Mentor")
    expect(entry.locator(".saved-content")).to_contain_text("reading list")
    expect(entry.get_by_role("link", name="Show in conversation")).to_have_attribute(
        "href", f"/c/{conversation.pk}/#seq-{tip.seq}"
    )
    expect(saved_page.locator("#saved-empty")).to_be_hidden()

    # A reload of the conversation still knows it is saved.
    page.reload()
    expect(tool(page, tip, "save")).to_have_attribute("aria-pressed", "true")

    # Unsave on the Saved page: gone there, and live on the conversation.
    entry.get_by_role("button", name="Unsave").click()
    expect(entry).to_have_count(0)
    expect(saved_page.locator("#saved-empty")).to_be_visible()
    expect(tool(page, tip, "save")).to_have_attribute("aria-pressed", "false")
    assert not off_loop(lambda: SavedMessage.objects.exists())


def _ready_preview(message, **fields):
    with transaction.atomic():
        preview = LinkPreview.objects.create(
            message=message,
            url="https://docs.example.test/guide",
            state=PreviewState.READY,
            title="The capstone guide",
            description="Everything about the capstone: milestones, grading and the templates. "
            * 4,
            site_name="Example Docs",
            **fields,
        )
        message.refresh_from_db()
        events.publish_on_commit(
            events.conversation_group(message.conversation_id),
            events.link_preview_updated(message),
        )
    return preview


def test_link_card_from_the_payload_and_live(pair, browser, server, console):
    mentor, student, conversation = pair
    shown = say(mentor, conversation, "The guide: https://docs.example.test/guide")
    off_loop(_ready_preview, message=shown)
    later = say(mentor, conversation, "And the rubric: https://docs.example.test/rubric")
    _, student_page = open_as(browser, server, console, student, path_of(conversation))
    _, mentor_page = open_as(browser, server, console, mentor, path_of(conversation))

    card = item(student_page, shown).locator(".link-card")
    expect(card).to_be_visible()
    expect(card.locator(".link-card-site")).to_have_text("Example Docs")
    title = card.get_by_role("link", name="The capstone guide")
    expect(title).to_have_attribute("href", "https://docs.example.test/guide")
    expect(title).to_have_attribute("rel", "noopener noreferrer nofollow")
    expect(title).to_have_attribute("target", "_blank")
    expect(card.locator(".link-card-description")).to_contain_text("milestones, grading")
    # Only the sender may remove it.
    expect(card.get_by_role("button", name="Remove preview")).to_have_count(0)
    expect(
        item(mentor_page, shown).locator(".link-card").get_by_role("button", name="Remove preview")
    ).to_be_visible()

    # A card that becomes ready later arrives live (link_preview.updated).
    expect(item(student_page, later).locator(".link-card")).to_have_count(0)
    off_loop(_ready_preview, message=later)
    expect(item(student_page, later).locator(".link-card .link-card-title")).to_have_text(
        "The capstone guide"
    )


def test_sender_removes_a_link_card(pair, browser, server, console):
    mentor, student, conversation = pair
    shown = say(mentor, conversation, "The guide: https://docs.example.test/guide")
    off_loop(_ready_preview, message=shown)
    _, student_page = open_as(browser, server, console, student, path_of(conversation))
    _, mentor_page = open_as(browser, server, console, mentor, path_of(conversation))
    expect(item(student_page, shown).locator(".link-card")).to_be_visible()

    item(mentor_page, shown).get_by_role("button", name="Remove preview").click()
    expect(item(mentor_page, shown).locator(".link-card")).to_have_count(0)
    expect(item(student_page, shown).locator(".link-card")).to_have_count(0)
    state = off_loop(lambda: LinkPreview.objects.get(message=shown).state)
    assert state == PreviewState.REMOVED


def test_reactions_and_pins_missed_while_offline_are_caught_up(pair, browser, server, console):
    from messaging.threads.services import pins, reactions

    mentor, student, conversation = pair
    message = say(mentor, conversation, "Office hours moved to Wednesday.")
    student_context, student_page = open_as(
        browser, server, console, student, path_of(conversation)
    )
    student_context.set_offline(True)
    expect(student_page.locator("#connection")).to_have_attribute("data-state", "offline")
    # While Sam is offline Maria reacts and pins: the frames never reach him.
    off_loop(reactions.add_reaction, user=mentor, message_id=message.pk, emoji=THUMBS_UP)
    off_loop(pins.pin_message, user=mentor, message_id=message.pk)
    expect(chip(student_page, message)).to_have_count(0)
    student_context.set_offline(False)
    expect(student_page.locator("#connection")).to_have_attribute("data-state", "online")
    expect(chip(student_page, message).locator(".reaction-count")).to_have_text("1")
    expect(item(student_page, message).locator(".pin-label")).to_have_text(
        "📌 Pinned by Maria Mentor"
    )
    expect(student_page.locator("#pins-button")).to_have_text("📌 Pinned (1)")


def test_saved_page_pages_with_show_more(pair, browser, server, console):
    mentor, student, conversation = pair

    def seed():
        for n in range(1, 56):
            message = services.send_message(
                sender=mentor,
                conversation_id=conversation.pk,
                content=f"Tip {n}",
                client_id=uuid.uuid4(),
            ).message
            SavedMessage.objects.create(user=student, message=message)

    off_loop(seed)
    _, page = open_as(browser, server, console, student, "/saved/")
    items = page.locator("li.saved-item")
    # Newest save first, one page of 50, then the rest on "Show more".
    expect(items).to_have_count(50)
    expect(items.first.locator(".saved-content")).to_have_text("Tip 55")
    more = page.get_by_role("button", name="Show more")
    more.click()
    expect(items).to_have_count(55)
    expect(items.last.locator(".saved-content")).to_have_text("Tip 1")
    expect(more).to_be_hidden()


def test_the_keyboard_stays_on_pin_save_and_a_reaction_it_pressed(
    pair, study_group, browser, server, console
):
    """Pin, Save and a reaction chip are drawn again once done: the focus
    moves to the new control (Unpin, Saved, the chip), not to the page's top."""
    mentor, student, _ = pair
    group, _ = study_group
    message = say(student, group, "Notes for Friday")
    _, page = open_as(browser, server, console, mentor, path_of(group))
    expect(page.locator("#pins-button")).to_have_attribute("data-loaded", "true")
    focused_text = "() => document.activeElement && document.activeElement.textContent.trim()"

    for action, before, after in (("pin", "Pin", "Unpin"), ("save", "Save", "Saved")):
        button = tool(page, message, action)
        expect(button).to_have_text(before)
        button.focus()
        page.keyboard.press("Enter")
        expect(tool(page, message, action)).to_have_text(re.compile(after))
        expect(tool(page, message, action)).to_be_focused()
        assert re.search(after, page.evaluate(focused_text))

    off_loop(reactions.add_reaction, user=student, message_id=message.pk, emoji=THUMBS_UP)
    the_chip = chip(page, message)
    expect(the_chip).to_contain_text("1")
    the_chip.focus()
    page.keyboard.press("Enter")  # mine too: 2
    expect(chip(page, message)).to_contain_text("2")
    expect(chip(page, message)).to_be_focused()
    page.keyboard.press("Enter")  # mine taken back: 1
    expect(chip(page, message)).to_contain_text("1")
    expect(chip(page, message)).to_be_focused()
    # The last one taken back (by its author): the row goes, the keyboard
    # lands on the message's own reaction button.
    off_loop(reactions.remove_reaction, user=student, message_id=message.pk, emoji=THUMBS_UP)
    expect(chip(page, message)).to_have_count(0)
    expect(item(page, message).locator(".message-tools .tool-react")).to_be_focused()
