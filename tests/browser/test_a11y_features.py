"""The message features with a keyboard alone and under axe-core: threads,
reactions and the emoji picker, pins, the Saved page, uploads and a file's
preview page (static/js/threads.js, reactions.js, emoji-picker.js, pins.js,
saved.js, uploads.js; docs/accessibility.md, "Threads, reactions and files").

The keyboard tests never use the mouse: controls are reached with Tab
(``tab_to``) and worked with Enter, Space, the arrows and Escape. One flow
runs in Spanish and checks the names a screen reader hears there."""

import re
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from playwright.sync_api import expect

from messaging import services
from messaging.files.services.uploads import create_upload
from messaging.threads.services.pins import pin_message
from messaging.threads.services.saved import save_message
from tests.browser.accessibility import assert_accessible, choose_files_by_keyboard, tab_to
from tests.browser.conftest import off_loop, open_as, send_as

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]

THUMBS_UP = "👍"


def conversation_path(conversation):
    return f"/c/{conversation.pk}/"


def main_item(page, message):
    return page.locator(f"#message-list li.message[data-id='{message.pk}']")


def focused(page):
    return page.locator(":focus")


# --- Threads ---------------------------------------------------------------------


def test_a_thread_by_keyboard_opens_takes_a_reply_and_closes_back_to_its_opener(
    pair, browser, server, console
):
    mentor, student, conversation = pair
    root = send_as(mentor, conversation, "Who reviews the pull request?")
    send_as(mentor, conversation, "I can look at it tonight", parent_id=root.pk)
    _, page = open_as(browser, server, console, student, conversation_path(conversation))

    # The summary under the root says what the thread holds, and opens it.
    summary = main_item(page, root).locator(".thread-summary")
    expect(summary).to_have_accessible_name(
        re.compile(r"^1 reply, last reply .+, from Maria Mentor\. Open the thread$")
    )
    tab_to(page, summary)
    page.keyboard.press("Enter")

    panel = page.get_by_role("complementary", name="Thread")
    expect(panel).to_be_visible()
    expect(panel.get_by_role("heading", name="Thread")).to_be_visible()
    reply_box = panel.get_by_label("Reply in the thread")
    expect(reply_box).to_be_focused()
    replies = panel.get_by_role("list", name="Replies", exact=True)
    expect(replies.locator("li.message")).to_have_count(1)
    expect(replies.locator("li.message .content")).to_have_text(["I can look at it tonight"])
    assert_accessible(page, "thread panel open")

    page.keyboard.type("Thanks, I'll wait")
    page.keyboard.press("Enter")
    expect(replies.locator("li.message .content")).to_have_text(
        ["I can look at it tonight", "Thanks, I'll wait"]
    )
    expect(reply_box).to_be_focused()

    # Escape closes the panel and gives focus back to the summary that
    # opened it (drawn again meanwhile: it now counts two replies).
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(focused(page)).to_have_class("thread-summary")
    expect(focused(page).locator(".thread-count")).to_have_text("2 replies")


def test_the_thread_button_of_a_message_opens_it_from_the_keyboard(pair, browser, server, console):
    mentor, student, conversation = pair
    root = send_as(mentor, conversation, "Questions about chapter 3 go here")
    _, page = open_as(browser, server, console, student, conversation_path(conversation))
    opener = main_item(page, root).get_by_role("button", name="Reply in thread to Maria Mentor")
    tab_to(page, opener)
    page.keyboard.press("Enter")
    expect(page.get_by_label("Reply in the thread")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.get_by_role("complementary", name="Thread")).to_be_hidden()
    expect(opener).to_be_focused()


def test_edit_a_reply_in_the_thread_panel_by_keyboard_keeps_the_focus_in_the_panel(
    pair, browser, server, console
):
    mentor, student, conversation = pair
    root = send_as(mentor, conversation, "Who reviews the pull request?")
    reply = send_as(student, conversation, "I can look at it tomorow", parent_id=root.pk)
    _, page = open_as(browser, server, console, student, conversation_path(conversation))
    tab_to(page, main_item(page, root).locator(".thread-summary"))
    page.keyboard.press("Enter")
    panel = page.get_by_role("complementary", name="Thread")
    expect(panel.get_by_label("Reply in the thread")).to_be_focused()

    mine = panel.locator(f"#t-{reply.pk}")
    tab_to(page, mine.get_by_role("button", name="Edit message"))
    page.keyboard.press("Enter")
    field = mine.get_by_role("textbox", name="Edit message")
    expect(field).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("I can look at it tomorrow")
    page.keyboard.press("Enter")

    expect(panel.locator(f"#t-{reply.pk} .content")).to_have_text("I can look at it tomorrow")
    expect(field).to_be_hidden()
    # The focus stays where the edit was opened, never on the page's body
    # nor out in the conversation's list.
    expect(panel.locator(":focus")).to_have_count(1)


# --- Reactions and the emoji picker ---------------------------------------------


def test_react_with_the_picker_by_keyboard_and_take_it_back_with_the_chip(
    pair, browser, server, console
):
    mentor, student, conversation = pair
    message = send_as(mentor, conversation, "The rubric is in the shared folder.")
    _, page = open_as(browser, server, console, student, conversation_path(conversation))

    opener = main_item(page, message).locator("button.tool-react")
    expect(opener).to_have_accessible_name("Add reaction")
    tab_to(page, opener)
    page.keyboard.press("Enter")

    picker = page.get_by_role("dialog", name="Choose a reaction")
    expect(picker).to_be_visible()
    search = picker.get_by_label("Search emoji")
    expect(search).to_be_focused()
    # Every emoji is a button named by its name, not only its glyph.
    expect(picker.get_by_role("button", name="thumbs up").first).to_be_attached()
    assert_accessible(page, "emoji picker open")

    page.keyboard.type("thumbs")
    page.keyboard.press("ArrowDown")
    expect(focused(page)).to_have_attribute("data-emoji", THUMBS_UP)
    expect(focused(page)).to_have_accessible_name("thumbs up")
    # The arrows move in the grid and come back.
    page.keyboard.press("ArrowRight")
    expect(focused(page)).not_to_have_attribute("data-emoji", THUMBS_UP)
    page.keyboard.press("ArrowLeft")
    expect(focused(page)).to_have_attribute("data-emoji", THUMBS_UP)
    page.keyboard.press("Enter")

    expect(picker).to_be_hidden()
    expect(opener).to_be_focused()
    chip = main_item(page, message).locator(f".reaction-chip[data-emoji='{THUMBS_UP}']")
    expect(chip).to_have_attribute("aria-pressed", "true")
    expect(chip).to_have_accessible_name("thumbs up, 1 reaction, by you")
    assert_accessible(page, "a message with a reaction")

    # The chip is a toggle: Space on it takes the reaction back.
    tab_to(page, chip)
    page.keyboard.press("Space")
    expect(chip).to_have_count(0)


def test_escape_closes_the_picker_and_returns_focus(pair, browser, server, console):
    mentor, student, conversation = pair
    message = send_as(mentor, conversation, "Deadline moved to Friday.")
    _, page = open_as(browser, server, console, student, conversation_path(conversation))
    opener = main_item(page, message).locator("button.tool-react")
    tab_to(page, opener)
    page.keyboard.press("Enter")
    picker = page.get_by_role("dialog", name="Choose a reaction")
    expect(picker).to_be_visible()
    page.keyboard.press("Escape")
    expect(picker).to_be_hidden()
    expect(opener).to_be_focused()


def test_react_and_open_a_thread_in_spanish(pair, browser, server, console):
    """The same flows for someone who chose Spanish on their profile: the
    names a screen reader says are Spanish."""
    mentor, student, conversation = pair
    student.language = "es"
    off_loop(student.save, update_fields=["language"])
    root = send_as(mentor, conversation, "¿Quién revisa el pull request?")
    send_as(mentor, conversation, "Yo lo miro esta noche", parent_id=root.pk)
    _, page = open_as(browser, server, console, student, conversation_path(conversation))
    expect(page.locator("html")).to_have_attribute("lang", "es")

    opener = main_item(page, root).get_by_role("button", name="Añadir reacción")
    tab_to(page, opener)
    page.keyboard.press("Enter")
    picker = page.get_by_role("dialog", name="Elige una reacción")
    expect(picker).to_be_visible()
    expect(picker.get_by_label("Buscar emoji")).to_be_focused()
    expect(picker.get_by_role("heading", name="Populares")).to_be_visible()
    assert_accessible(page, "emoji picker open, in Spanish")
    page.keyboard.type("thumbs")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    chip = main_item(page, root).locator(f".reaction-chip[data-emoji='{THUMBS_UP}']")
    expect(chip).to_have_accessible_name("thumbs up, 1 reacción: tú")

    summary = main_item(page, root).locator(".thread-summary")
    expect(summary.locator(".thread-count")).to_have_text("1 respuesta")
    tab_to(page, summary)
    page.keyboard.press("Enter")
    panel = page.get_by_role("complementary", name="Hilo")
    expect(panel).to_be_visible()
    expect(panel.get_by_label("Responder en el hilo")).to_be_focused()
    expect(panel.get_by_role("button", name="Cerrar el hilo")).to_be_visible()
    assert_accessible(page, "thread panel open, in Spanish")
    page.keyboard.type("Gracias")
    page.keyboard.press("Enter")
    replies = panel.get_by_role("list", name="Respuestas", exact=True)
    expect(replies.locator("li.message .content")).to_have_text(
        ["Yo lo miro esta noche", "Gracias"]
    )
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(focused(page).locator(".thread-count")).to_have_text("2 respuestas")


def test_the_picker_in_arabic_reads_right_to_left(pair, browser, server, console):
    """In Arabic the page is mirrored: Left moves to the next emoji, Right
    back, as the grid reads; the names are Arabic."""
    mentor, student, conversation = pair
    student.language = "ar"
    off_loop(student.save, update_fields=["language"])
    message = send_as(mentor, conversation, "مرحبا بالجميع")
    _, page = open_as(browser, server, console, student, conversation_path(conversation))
    expect(page.locator("html")).to_have_attribute("dir", "rtl")

    opener = main_item(page, message).get_by_role("button", name="إضافة تفاعل")
    tab_to(page, opener)
    page.keyboard.press("Enter")
    picker = page.get_by_role("dialog", name="اختر تفاعلًا")
    expect(picker.get_by_label("البحث عن رمز تعبيري")).to_be_focused()
    assert_accessible(page, "emoji picker open, in Arabic")
    page.keyboard.type("thumbs")
    page.keyboard.press("ArrowDown")
    expect(focused(page)).to_have_attribute("data-emoji", THUMBS_UP)
    page.keyboard.press("ArrowLeft")
    expect(focused(page)).not_to_have_attribute("data-emoji", THUMBS_UP)
    page.keyboard.press("ArrowRight")
    expect(focused(page)).to_have_attribute("data-emoji", THUMBS_UP)
    page.keyboard.press("Enter")
    chip = main_item(page, message).locator(f".reaction-chip[data-emoji='{THUMBS_UP}']")
    expect(chip).to_have_accessible_name("thumbs up، تفاعل واحد: أنت")


# --- Pins and saved messages ------------------------------------------------------


def test_the_pinned_list_by_keyboard(pair, browser, server, console):
    mentor, student, conversation = pair
    message = send_as(mentor, conversation, "Deadline for the proposal: Friday 18:00.")
    off_loop(pin_message, user=mentor, message_id=message.pk)
    _, page = open_as(browser, server, console, student, conversation_path(conversation))

    button = page.locator("#pins-button")
    expect(button).to_have_text("📌 Pinned (1)")
    expect(main_item(page, message).locator(".pin-label")).to_have_text("📌 Pinned by Maria Mentor")
    tab_to(page, button)
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Pinned messages")
    expect(dialog).to_be_visible()
    link = dialog.get_by_role("list", name="Pinned messages").get_by_role("link")
    expect(link).to_contain_text("Deadline for the proposal")
    expect(link).to_be_focused()
    assert_accessible(page, "pinned list open")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(button).to_be_focused()


def test_the_saved_page_is_accessible_and_unsaves_by_keyboard(pair, browser, server, console):
    mentor, student, conversation = pair
    message = send_as(mentor, conversation, "Here is the reading list for the term.")
    off_loop(save_message, user=student, message_id=message.pk)
    _, page = open_as(browser, server, console, student, "/saved/")

    expect(page.get_by_role("heading", level=1)).to_have_text("Saved messages")
    entries = page.get_by_role("list", name="Saved messages").get_by_role("listitem")
    expect(entries).to_have_count(1)
    expect(entries.first).to_contain_text("reading list")
    assert_accessible(page, "the Saved page")

    unsave = entries.first.get_by_role("button", name="Unsave")
    tab_to(page, unsave)
    page.keyboard.press("Enter")
    expect(entries).to_have_count(0)
    expect(page.get_by_text("Nothing saved yet.")).to_be_visible()
    expect(page.locator("#live-region")).to_contain_text("Removed from your saved messages.")
    assert_accessible(page, "the Saved page, empty")


# --- Uploads and the file preview page ---------------------------------------------


def test_upload_by_keyboard_with_progress_said_and_a_file_removed(
    pair, browser, files_server, console
):
    _, student, conversation = pair
    _, page = open_as(browser, files_server, console, student, conversation_path(conversation))

    choose_files_by_keyboard(
        page,
        page.get_by_label("Attach files"),
        [
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"chapter notes\n" * 50},
            {"name": "plan.txt", "mimeType": "text/plain", "buffer": b"the plan\n" * 50},
        ],
        backwards=True,
    )
    uploads = page.get_by_role("list", name="Files to send")
    for name in ("notes.txt", "plan.txt"):
        expect(uploads.locator("li.upload", has_text=name)).to_have_attribute("data-state", "done")
        expect(page.locator("#live-region")).to_contain_text(f"{name} uploaded, ready to send.")
    assert_accessible(page, "uploads ready to send")

    # Remove one with the keyboard: focus stays in the tray, on the next file.
    remove = uploads.get_by_role("button", name="Remove notes.txt")
    tab_to(page, remove)
    page.keyboard.press("Enter")
    expect(uploads.locator("li.upload")).to_have_count(1)
    expect(uploads.get_by_role("button", name="Remove plan.txt")).to_be_focused()
    expect(page.locator("#live-region")).to_contain_text("notes.txt removed.")

    box = page.get_by_label("Message Maria Mentor")
    tab_to(page, box, backwards=True)
    page.keyboard.type("The plan")
    page.keyboard.press("Enter")
    sent = page.locator("#message-list li.message.mine").last
    expect(sent.locator(".content")).to_have_text("The plan")
    expect(sent.locator("li.attachment")).to_have_count(1)
    expect(uploads).to_be_hidden()


def test_a_refused_upload_is_said_at_once(pair, browser, asgi_server, console, media):
    _, student, conversation = pair
    small = asgi_server(extra_env={"MEDIA_ROOT": str(media), "PARLEY_MAX_UPLOAD_BYTES": "2000"})
    _, page = open_as(browser, small, console, student, conversation_path(conversation))
    choose_files_by_keyboard(
        page,
        page.get_by_label("Attach files"),
        [{"name": "big.txt", "mimeType": "text/plain", "buffer": b"x" * 20_000}],
        backwards=True,
    )
    expect(page.locator("#alert-region")).to_contain_text("big.txt not uploaded:")
    row = page.locator("#upload-list li.upload", has_text="big.txt")
    expect(row).to_have_attribute("data-state", "failed")
    assert_accessible(page, "an upload refused")


def test_the_file_preview_page_is_accessible(pair, browser, files_server, console):
    mentor, student, conversation = pair

    def upload_and_send():
        upload = create_upload(
            uploader=mentor,
            conversation_id=conversation.pk,
            upload=SimpleUploadedFile("notes.txt", b"Week 1: read chapter 3.\n" * 20),
        )
        services.send_message(
            sender=mentor,
            conversation_id=conversation.pk,
            content="",
            client_id=uuid.uuid4(),
            attachment_ids=[upload.pk],
        )
        return upload.pk

    attachment_id = off_loop(upload_and_send)
    _, page = open_as(browser, files_server, console, student, f"/files/{attachment_id}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("notes.txt")
    expect(page.get_by_role("link", name="Download notes.txt")).to_be_visible()
    assert_accessible(page, "a file's preview page")
    back = page.get_by_role("link", name="Back to the conversation")
    tab_to(page, back)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**{conversation_path(conversation)}*")
