"""The conversation page for people using a screen reader or a keyboard
alone, in real headless Chromium: axe finds nothing in its states, what the
live regions say (and do not say), the messages reached, edited and deleted
with the keyboard only (in English and in Spanish), right-to-left messages in
a left-to-right page.

The keyboard tests never use the mouse: focus moves with Tab (``tab_to``)
and the documented shortcuts."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import MentorAssignment, Role, User
from messaging import services
from messaging.models import ConversationType
from messaging.threads.services.pins import pin_message
from tests.browser.accessibility import assert_accessible, tab_to
from tests.browser.conftest import off_loop, open_as, send_as

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]


def path_of(conversation):
    return f"/c/{conversation.pk}/"


def announced(page):
    """What the polite live region has said, oldest first."""
    return page.locator("#live-region p").all_text_contents()


def items(page):
    return page.locator("#message-list li.message")


@pytest.fixture
def group(pair):
    mentor, student, _ = pair
    other = User.objects.create_user(
        email="sofia@example.test",
        password="x" * 16,
        display_name="Sofia Student",
        role=Role.STUDENT,
    )
    MentorAssignment.objects.create(mentor=mentor, student=other)
    return services.create_conversation(
        creator=mentor,
        kind=ConversationType.GROUP,
        participants=[student, other],
        title="Capstone study group",
    )


# --- axe ----------------------------------------------------------------------


def test_conversation_states_have_no_violations(pair, group, browser, server, console):
    mentor, student, conversation = pair
    send_as(mentor, conversation, "Welcome! **Bold** and a link: https://example.test/plan")
    draft = send_as(student, conversation, "Due Friday")
    off_loop(services.edit_message, editor=student, message_id=draft.pk, content="Due Monday")
    gone = send_as(student, conversation, "meant for another chat")
    off_loop(services.delete_message, actor=student, message_id=gone.pk)
    send_as(mentor, group, "Hi all, introduce yourselves.")
    send_as(student, group, "Sam here.")

    context, page = open_as(browser, server, console, student, path_of(conversation))
    expect(items(page)).to_have_count(3)
    expect(items(page).nth(1).locator(".edited")).to_have_text("(edited)")
    assert_accessible(page, "direct conversation with messages, edited and deleted")

    # A focused message shows its controls, which must pass too.
    tab_to(page, items(page).last)
    assert_accessible(page, "a message focused")

    # The other person comes online: the header says so in green text.
    open_as(browser, server, console, mentor, path_of(conversation))
    expect(page.locator("#header-presence")).to_have_attribute("data-status", "online")
    assert_accessible(page, "the other person online")

    # A send refused for good: the failed message with Retry and Discard.
    context.set_offline(True)
    expect(page.locator("#connection")).to_have_attribute("data-state", "offline")
    assert_accessible(page, "offline")
    box = page.get_by_label("Message Maria Mentor")
    box.fill("into an archived conversation")
    box.press("Enter")
    off_loop(services.set_archived, actor=mentor, conversation_id=conversation.pk, archived=True)
    context.set_offline(False)
    expect(page.locator("#outbox-list li.outbox.failed")).to_have_count(1)
    expect(page.locator("#alert-region")).to_contain_text("Your message was not sent")
    assert_accessible(page, "a send refused, with its error")

    page.goto(f"{server.http_url}{path_of(group)}")
    expect(items(page)).to_have_count(2)
    assert_accessible(page, "group conversation")


# --- Live regions ---------------------------------------------------------------


def test_arrivals_are_announced_but_not_my_own_sends(pair, browser, server, console):
    mentor, student, conversation = pair
    _, page = open_as(browser, server, console, student, path_of(conversation))
    assert announced(page) == []

    send_as(mentor, conversation, "  Are you\nfree   at three?  ")
    expect(items(page)).to_have_count(1)
    assert announced(page) == ["Maria Mentor: Are you free at three?"]

    box = page.get_by_label("Message Maria Mentor")
    box.fill("Yes, see you then")
    box.press("Enter")
    expect(items(page).last).to_have_class(re.compile(r"\bmine\b"))
    expect(items(page).last.locator(".content")).to_have_text("Yes, see you then")
    # Also not once it came back from the server as stored (its ack).
    expect(page.locator("#outbox-list li")).to_have_count(0)
    assert announced(page) == ["Maria Mentor: Are you free at three?"]

    # The whole list is never read out: the log is not a live region.
    expect(page.locator("#messages")).to_have_attribute("role", "log")
    expect(page.locator("#messages")).to_have_attribute("aria-live", "off")


def test_typing_is_announced_once_per_burst(pair, browser, server, console):
    mentor, student, conversation = pair
    path = path_of(conversation)
    _, student_page = open_as(browser, server, console, student, path)
    _, mentor_page = open_as(browser, server, console, mentor, path)
    student_page.evaluate(
        """() => {
            window.typingFrames = 0;
            window.parley.conn.on("typing", (frame) => {
                if (frame.is_typing) window.typingFrames += 1;
            });
        }"""
    )
    typing = "Maria Mentor is typing…"
    box = mentor_page.get_by_label("Message Sam Student")
    tab_to(mentor_page, box)
    # Typing for over four seconds renews the typing state twice at least.
    mentor_page.keyboard.type("Let me check the schedule", delay=200)
    student_page.wait_for_function("window.typingFrames >= 3")
    assert announced(student_page) == [typing]
    expect(student_page.locator("#typing-line")).to_have_text(typing)

    mentor_page.keyboard.press("Enter")
    expect(items(student_page)).to_have_count(1)
    expect(student_page.locator("#typing-line")).to_have_text("")
    assert announced(student_page) == [typing, "Maria Mentor: Let me check the schedule"]

    # A new burst is said again.
    mentor_page.keyboard.type("Found it")
    expect(student_page.locator("#typing-line")).to_have_text(typing)
    assert announced(student_page) == [typing, "Maria Mentor: Let me check the schedule", typing]


# --- Keyboard only ----------------------------------------------------------------

ENGLISH = {
    "composer": "Message Maria Mentor",
    "edit": "Edit message",
    "edited": "(edited)",
    "dialog": "Delete this message?",
    "cancel": "Cancel",
    "delete": "Delete",
    "deleted": "This message was deleted.",
    "sender": "Sam Student",
}
SPANISH = {
    "composer": "Mensaje para Maria Mentor",
    "edit": "Editar mensaje",
    "edited": "(editado)",
    "dialog": "¿Eliminar este mensaje?",
    "cancel": "Cancelar",
    "delete": "Eliminar",
    "deleted": "Este mensaje se eliminó.",
    "sender": "Sam Student",
}


@pytest.mark.parametrize("language, words", [("en", ENGLISH), ("es", SPANISH)])
def test_write_edit_and_delete_with_the_keyboard_only(
    pair, browser, server, console, language, words
):
    mentor, student, conversation = pair
    send_as(mentor, conversation, "Send me your draft")
    # His own choice of language (the profile page's), whatever the browser's.
    student.language = language
    off_loop(student.save, update_fields=["language"])
    _, page = open_as(browser, server, console, student, path_of(conversation))
    keyboard = page.keyboard

    # Write and send with Enter.
    box = page.get_by_label(words["composer"])
    tab_to(page, box)
    keyboard.type("Here it is")
    keyboard.press("Enter")
    mine = items(page).last
    expect(mine.locator(".content")).to_have_text("Here it is")
    expect(box).to_have_value("")
    expect(box).to_be_focused()

    # Up in the empty box edits my last message; Enter saves, and the focus
    # comes back to the box.
    keyboard.press("ArrowUp")
    field = mine.get_by_role("textbox", name=words["edit"])
    expect(field).to_be_focused()
    keyboard.press("ControlOrMeta+A")
    keyboard.type("Here it is, revised")
    keyboard.press("Enter")
    expect(mine.locator(".content")).to_have_text("Here it is, revised")
    expect(mine.locator(".edited")).to_have_text(words["edited"])
    expect(box).to_be_focused()
    # Its name says who, that it was edited, and its receipt.
    name = re.compile(rf"^{words['sender']}, .*{re.escape(words['edited'].strip('()'))}")
    expect(mine).to_have_accessible_name(name)

    # Escape gives up an edit, back to the box too.
    keyboard.press("ArrowUp")
    expect(field).to_be_focused()
    keyboard.type(" and more")
    keyboard.press("Escape")
    expect(box).to_be_focused()
    expect(mine.locator(".content")).to_have_text("Here it is, revised")

    # Back into the list: Shift+Tab reaches the newest message (and its own
    # controls); the arrows move between messages.
    tab_to(page, mine, backwards=True)
    expect(mine).to_be_focused()
    keyboard.press("ArrowUp")
    expect(items(page).first).to_be_focused()
    keyboard.press("End")
    expect(mine).to_be_focused()

    # Delete asks first: Cancel has the focus, Escape keeps the message.
    keyboard.press("Delete")
    dialog = page.get_by_role("dialog", name=words["dialog"])
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name=words["cancel"])).to_be_focused()
    keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(mine).to_be_focused()

    keyboard.press("Delete")
    expect(dialog).to_be_visible()
    keyboard.press("Tab")
    expect(dialog.get_by_role("button", name=words["delete"])).to_be_focused()
    keyboard.press("Enter")
    expect(dialog).to_be_hidden()
    expect(mine.locator(".content")).to_have_text(words["deleted"])
    expect(mine).to_be_focused()

    # Escape on a message goes back to the composer.
    keyboard.press("Escape")
    expect(box).to_be_focused()
    assert_accessible(page, f"after the keyboard flow ({language})")


def test_a_move_made_before_the_delete_dialog_has_closed_stands(pair, browser, server, console):
    """The dialog's close event comes a task after it closes, and the person
    can act in between (Escape on the message goes to the composer): the
    close must not take the focus back to the message then."""
    mentor, student, conversation = pair
    send_as(student, conversation, "Mine to delete")
    _, page = open_as(browser, server, console, student, path_of(conversation))
    mine = items(page).last
    mine.focus()
    page.keyboard.press("Delete")
    expect(page.get_by_role("dialog", name=ENGLISH["dialog"])).to_be_visible()
    # The close and the move in one task, so the close event surely comes
    # after the move; this listener runs after the page's own.
    focused = page.evaluate(
        """() => new Promise((resolve) => {
            const dialog = document.getElementById("delete-dialog");
            const focused = () => resolve(document.activeElement.id);
            dialog.addEventListener("close", focused, { once: true });
            dialog.close();
            document.getElementById("composer-input").focus();
        })"""
    )
    assert focused == "composer-input"
    expect(page.get_by_label(ENGLISH["composer"])).to_be_focused()
    expect(mine.locator(".content")).to_have_text("Mine to delete")


# --- Right to left --------------------------------------------------------------


def test_right_to_left_messages_read_right_to_left_in_an_english_page(
    pair, browser, server, console
):
    mentor, student, conversation = pair
    send_as(mentor, conversation, "مرحبا، كيف حالك اليوم؟")
    send_as(mentor, conversation, "And in English.")
    _, page = open_as(browser, server, console, student, path_of(conversation))
    expect(page.locator("html")).to_have_attribute("dir", "ltr")
    contents = items(page).locator(".content")
    expect(contents).to_have_count(2)
    directions = contents.evaluate_all("nodes => nodes.map((n) => getComputedStyle(n).direction)")
    assert directions == ["rtl", "ltr"]
    assert (
        page.locator("#message-list .sender").first.evaluate("node => node.getAttribute('dir')")
        == "auto"
    )


def test_conversation_reflows_at_320_css_pixels(pair, browser, server, console):
    """WCAG 1.4.10: at 320 CSS pixels wide nothing in the conversation (its
    header, messages and composer) needs scrolling sideways."""
    mentor, student, conversation = pair
    send_as(mentor, conversation, "A long line " * 20 + "https://example.test/" + "x" * 80)
    _, page = open_as(
        browser,
        server,
        console,
        student,
        path_of(conversation),
        viewport={"width": 320, "height": 640},
    )
    expect(items(page)).to_have_count(1)
    chat = page.locator("#chat")
    assert chat.evaluate("node => node.scrollWidth <= node.clientWidth")
    expect(page.get_by_label("Message Maria Mentor")).to_be_visible()


def test_on_a_phone_the_header_folds_behind_more_and_a_tapped_message_shows_its_tools(
    pair, group, browser, server, console
):
    """390 px: the header is the back link, the name and "More", whose
    panel holds the actions (the mute choices inside it, not cut off by
    its edge; Escape closes it). A message's tools take no room until the
    message is tapped. Wide, there is no "More" and the actions show."""
    mentor, student, _ = pair
    # One long line: the reply bar quotes it, cut to the screen's width.
    tapped = send_as(mentor, group, "Tap me, " + "then read all of this long line " * 8)
    off_loop(pin_message, user=mentor, message_id=tapped.pk)
    context, page = open_as(
        browser, server, console, student, path_of(group), {"width": 390, "height": 800}
    )
    more = page.get_by_role("button", name="More", exact=True)
    details = page.locator("#chat-actions").get_by_role("link", name="Details")
    expect(more).to_be_visible()
    expect(details).to_be_hidden()
    header = page.locator(".chat-header").bounding_box()
    assert header["height"] < 90, "one row: the actions are not in it"

    more.click()
    expect(more).to_have_attribute("aria-expanded", "true")
    expect(details).to_be_in_viewport()
    page.locator("#mute-toggle").click()
    choice = page.get_by_role("button", name="Mute for 1 week")
    expect(choice).to_be_visible()
    assert choice.evaluate(
        "n => { const r = n.getBoundingClientRect();"
        " return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === n; }"
    ), "the mute choices are not cut off by the panel"
    page.keyboard.press("Escape")
    expect(more).to_have_attribute("aria-expanded", "false")
    expect(details).to_be_hidden()
    # A dialog opened from the panel gives the focus back to its button.
    more.click()
    pinned = page.locator("#pins-button")
    pinned.click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(pinned).to_be_focused()
    page.keyboard.press("Escape")
    expect(more).to_have_attribute("aria-expanded", "false")

    item = items(page).last
    reply = item.get_by_role("button", name=re.compile("^Reply in thread"))
    tools = item.locator(".message-tools")
    assert tools.bounding_box()["height"] <= 1, "the tools take no room before the tap"
    item.locator(".bubble").click()
    expect(reply).to_be_in_viewport()
    assert tools.bounding_box()["height"] > 10
    reply_box = reply.bounding_box()
    assert reply_box["y"] > item.locator(".bubble").bounding_box()["y"], "under the message"
    # Replying: the bar over the box fits the screen, its cancel in reach.
    item.get_by_role("button", name=re.compile("^Reply to")).click()
    cancel = page.locator("#composer .reply-bar-cancel")
    expect(cancel).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    cancel.click()
    expect(page.locator("#composer .reply-bar")).to_be_hidden()

    page.set_viewport_size({"width": 1280, "height": 800})
    expect(more).to_be_hidden()
    expect(details).to_be_visible()
    context.close()


def test_the_second_skip_link_goes_straight_to_the_message_box(pair, browser, server, console):
    """From the top of a conversation, two Tabs and Enter put the focus in
    the message box, past the top bar, the inbox and the header's buttons."""
    mentor, student, conversation = pair
    _, page = open_as(browser, server, console, student, path_of(conversation))
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the message box")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    box = page.get_by_label("Message Maria Mentor")
    expect(box).to_be_focused()
    page.keyboard.type("Straight to it")
    page.keyboard.press("Enter")
    expect(items(page).last.locator(".content")).to_have_text("Straight to it")
