"""The shell of every page (top bar, inbox, login, profile, error pages, the
bell and the jump-to dialog) in headless Chromium: axe-core finds no WCAG 2.2
A/AA violation in any state, the page reflows at 320 CSS px and at 200% text
without sideways scrolling, and every flow here runs on the keyboard alone
(no click, hover or mouse: `tab_to` and key presses), in English, Spanish
and Arabic (right to left)."""

import re
import uuid

import pytest
from django.test import RequestFactory
from django.utils import translation
from playwright.sync_api import expect

from messaging import services
from messaging.models import ConversationType
from tests.browser.accessibility import assert_accessible, tab_to
from tests.browser.conftest import PASSWORD, TIMEOUT_MS, off_loop, open_as, send_as

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]

PHONE = {"width": 320, "height": 640}


@pytest.fixture
def server(eager_server):
    """Notifications fan out at once, so the bell rings without a worker."""
    return eager_server


@pytest.fixture
def group(pair):
    mentor, student, _ = pair
    return services.create_conversation(
        creator=mentor,
        kind=ConversationType.GROUP,
        participants=[student],
        title="Capstone study group",
    )


def assert_no_sideways_scroll(page, state):
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{state}: the page is {widths[0]} px wide in {widths[1]}"


def test_logging_in_with_the_keyboard_alone(pair, browser, server, console):
    _, student, _ = pair
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    console.attach(page)
    page.goto(f"{server.http_url}/login/")
    assert_accessible(page, "login")
    email = page.get_by_label("Email")
    expect(email).to_be_focused()  # autofocus: the first thing to type
    page.keyboard.type(student.email)
    page.keyboard.press("Tab")
    page.keyboard.type("not the password")
    page.keyboard.press("Enter")
    expect(page.locator("#login-error")).to_contain_text("didn't match")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    assert_accessible(page, "login with an error")
    tab_to(page, page.get_by_label("Password"))
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.http_url}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Inbox")
    context.close()


def test_the_inbox_is_accessible_wide_narrow_and_at_twice_the_text_size(
    pair, group, browser, server, console
):
    mentor, student, direct = pair
    send_as(mentor, direct, "Shall we meet on Friday?")
    context, page = open_as(browser, server, console, student, "/")
    conversations = page.get_by_role("list", name="Conversations")
    expect(conversations.get_by_role("listitem")).to_have_count(2)
    # Everything a row shows is in its link's name, the unread count and
    # presence in words.
    row = conversations.get_by_role("link", name="Maria Mentor")
    expect(row).to_have_accessible_name(
        re.compile(
            r"^Maria Mentor \((Online|Away|Offline)\) .+ : "
            r"Shall we meet on Friday\? , 1 unread message\s*$"
        )
    )
    assert_accessible(page, "inbox, 1280 px")
    assert_no_sideways_scroll(page, "inbox, 1280 px")

    page.set_viewport_size(PHONE)
    assert_no_sideways_scroll(page, "inbox, 320 px")
    assert_accessible(page, "inbox, 320 px")
    menu_button = page.get_by_role("button", name="Menu")
    nav = page.get_by_role("navigation", name="Main")
    expect(nav).to_be_hidden()
    tab_to(page, menu_button)
    page.keyboard.press("Enter")
    expect(menu_button).to_have_attribute("aria-expanded", "true")
    expect(nav).to_be_visible()
    assert_accessible(page, "inbox, 320 px, menu open")
    assert_no_sideways_scroll(page, "inbox, 320 px, menu open")
    page.keyboard.press("Tab")
    expect(nav.get_by_role("link", name="Inbox")).to_be_focused()
    page.keyboard.press("Escape")
    expect(nav).to_be_hidden()
    expect(menu_button).to_be_focused()

    page.set_viewport_size({"width": 1280, "height": 800})
    # Text at 200%, as a reader's font size setting does (the CSP forbids a <style> tag).
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    assert_no_sideways_scroll(page, "inbox, 200% text")
    assert_accessible(page, "inbox, 200% text")
    context.close()


def test_opening_a_conversation_from_the_inbox_with_tab_and_enter(
    pair, group, browser, server, console
):
    _, student, _ = pair
    context, page = open_as(browser, server, console, student, "/")
    link = page.get_by_role("list", name="Conversations").get_by_role(
        "link", name="Capstone study group"
    )
    tab_to(page, link)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.http_url}/c/{group.pk}/")
    context.close()


def test_ctrl_k_jumps_to_a_conversation(pair, group, browser, server, console):
    _, student, direct = pair
    context, page = open_as(browser, server, console, student, f"/c/{group.pk}/")
    composer = page.locator("#composer-input")
    composer.focus()
    page.keyboard.press("Control+k")
    dialog = page.get_by_role("dialog", name="Jump to a conversation")
    expect(dialog).to_be_visible()
    field = dialog.get_by_role("combobox", name="Conversation name")
    expect(field).to_be_focused()
    expect(dialog.get_by_role("option")).to_have_count(2)
    assert_accessible(page, "jump-to dialog open")
    # Escape closes it and gives the focus back to the composer.
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(composer).to_be_focused()

    page.keyboard.press("Control+k")
    expect(field).to_be_focused()
    page.keyboard.type("mar")  # accent- and case-blind: finds "Maria Mentor"
    options = dialog.get_by_role("option")
    expect(options).to_have_count(1)
    expect(options.first).to_have_attribute("aria-selected", "true")
    expect(field).to_have_attribute("aria-activedescendant", options.first.get_attribute("id"))
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    page.keyboard.press("Backspace")
    expect(options).to_have_count(2)
    page.keyboard.press("ArrowDown")
    chosen = dialog.locator("[role=option][aria-selected=true]")
    expect(chosen).to_have_count(1)
    target = chosen.get_attribute("data-conversation-id")
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.http_url}/c/{target}/")
    assert target in {str(direct.pk), str(group.pk)}
    context.close()


def test_the_bell_is_read_and_closed_with_the_keyboard(pair, browser, server, console):
    mentor, student, direct = pair
    context, page = open_as(browser, server, console, student, "/")
    send_as(mentor, direct, "Can we move our call to 4?")
    count = page.locator("#bell-count")
    expect(count).to_have_text("1 unread")
    bell = page.get_by_role("button", name="Notifications, 1 unread")
    tab_to(page, bell)
    page.keyboard.press("Enter")
    panel = page.get_by_role("region", name="Notifications")
    expect(panel).to_be_visible()
    expect(bell).to_have_attribute("aria-expanded", "true")
    assert_accessible(page, "bell panel open")
    tab_to(page, panel.get_by_role("button", name="Mark all read"))
    page.keyboard.press("Enter")
    expect(count).to_have_text("0 unread")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(page.locator("#bell-button")).to_be_focused()
    context.close()


def test_the_profile_page_changes_the_language_by_keyboard(pair, browser, server, console):
    _, student, _ = pair
    context, page = open_as(browser, server, console, student, "/profile/")
    assert_accessible(page, "profile")
    language = page.get_by_label("Language")
    tab_to(page, language)
    page.keyboard.press("ArrowDown")  # English
    page.keyboard.press("ArrowDown")  # Español
    expect(language).to_have_value("es")
    tab_to(page, page.get_by_role("button", name="Save"))
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("button", name="Guardar")).to_be_visible()
    # Named in Spanish, whether the top bar shows it or folds it behind
    # "Menú" (it folds when the longer Spanish labels do not fit).
    main_nav = page.get_by_role("navigation", name="Principal", include_hidden=True)
    expect(main_nav).to_be_attached()
    assert_accessible(page, "profile in Spanish")
    context.close()


def test_the_inbox_in_spanish(pair, group, browser, server, console):
    _, student, _ = pair
    context, page = open_as(browser, server, console, student, "/", language="es")
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", level=1)).to_have_text("Bandeja de entrada")
    expect(page.locator("#bell-count")).to_have_text(re.compile(r"^\d+ sin leer$"))
    assert_accessible(page, "inbox in Spanish")
    # Ctrl+K, the same dialog, in Spanish.
    page.keyboard.press("Control+k")
    expect(page.get_by_role("dialog", name="Ir a una conversación")).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="2 conversaciones")).to_be_attached()
    assert_accessible(page, "jump-to dialog in Spanish")
    context.close()


def test_the_inbox_in_arabic_is_mirrored(pair, group, browser, server, console):
    _, student, _ = pair
    context, page = open_as(browser, server, console, student, "/", language="ar")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator("html")).to_have_attribute("lang", "ar")
    brand = page.locator(".topbar .brand").bounding_box()
    search = page.locator(".topbar-search").bounding_box()
    assert brand["x"] > search["x"], "right to left: the brand stands at the right"
    row = page.locator(".conversation-row a").first.bounding_box()
    avatar = page.locator(".conversation-row .avatar").first.bounding_box()
    assert avatar["x"] + avatar["width"] > row["x"] + row["width"] - 80, "avatars at the right"
    assert_accessible(page, "inbox in Arabic")
    assert_no_sideways_scroll(page, "inbox in Arabic")
    page.set_viewport_size(PHONE)
    assert_no_sideways_scroll(page, "inbox in Arabic, 320 px")
    context.close()


def test_an_english_title_on_an_arabic_page_stays_beside_its_avatar(
    pair, group, browser, server, console
):
    """The title reads in its own direction (dir="auto") but is aligned as
    the page is: at the right, next to the avatar, not across the header."""
    _, student, _ = pair
    context, page = open_as(browser, server, console, student, f"/c/{group.pk}/", language="ar")
    title = page.locator("#chat-title")
    expect(title).to_have_text("Capstone study group")
    words = page.evaluate(
        """() => { const range = document.createRange();
                   range.selectNodeContents(document.getElementById('chat-title'));
                   const box = range.getBoundingClientRect();
                   return {left: box.left, right: box.right}; }"""
    )
    heading = title.bounding_box()
    assert abs(heading["x"] + heading["width"] - words["right"]) <= 2, (heading, words)
    context.close()


def test_the_push_devices_page_is_accessible(pair, browser, server, console):
    _, student, _ = pair
    context, page = open_as(browser, server, console, student, "/settings/push/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Push notifications")
    assert_accessible(page, "push devices")
    context.close()


# --- Error pages ---------------------------------------------------------------


@pytest.fixture
def production_errors(asgi_server):
    """A server with DEBUG off: Django renders Parley's error templates, not
    its technical pages."""
    return asgi_server(extra_env={"DEBUG": "false"})


def rendered(view, status, **kwargs):
    """An error view's page, as Django's handler would answer it."""
    request = RequestFactory().get("/anything/")
    response = view(request, **kwargs)
    assert response.status_code == status
    return response.content.decode()


def error_page(view, status, language="en", **kwargs):
    def render():
        with translation.override(language):
            return rendered(view, status, **kwargs)

    return off_loop(render)


def test_a_missing_conversation_answers_the_404_page(pair, browser, production_errors, console):
    _, student, _ = pair
    context, page = open_as(browser, production_errors, console, student, "/")
    response = page.goto(f"{production_errors.http_url}/c/{uuid.uuid4()}/")
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_role("main")).to_be_visible()
    back = page.get_by_role("link", name="Back to your inbox")
    assert_accessible(page, "404")
    tab_to(page, back)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{production_errors.http_url}/")
    context.close()


@pytest.mark.parametrize("language", ["en", "es", "ar"])
def test_every_error_page_is_accessible(language, browser, production_errors, console):
    from django.core.exceptions import BadRequest, PermissionDenied
    from django.views import csrf, defaults

    pages = {
        "400": error_page(defaults.bad_request, 400, language, exception=BadRequest()),
        "403": error_page(defaults.permission_denied, 403, language, exception=PermissionDenied()),
        "404": error_page(defaults.page_not_found, 404, language, exception=None),
        "500": error_page(defaults.server_error, 500, language),
        "403 CSRF": error_page(csrf.csrf_failure, 403, language, reason="CSRF cookie not set."),
    }
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    console.attach(page)
    # A page of the server's first, so the error page's stylesheet comes from there.
    page.goto(f"{production_errors.http_url}/login/")
    for name, html in pages.items():
        page.set_content(html)
        expect(page.locator("html")).to_have_attribute("lang", language)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        expect(page.get_by_role("link")).to_have_attribute("href", "/")
        assert_accessible(page, f"error page {name} ({language})")
        page.set_viewport_size(PHONE)
        assert_no_sideways_scroll(page, f"error page {name} ({language}), 320 px")
        page.set_viewport_size({"width": 1280, "height": 800})
    if language == "ar":
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
    context.close()


def test_a_form_sent_without_its_csrf_cookie_gets_the_translated_page(
    pair, browser, server, console
):
    _, student, _ = pair
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="es")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    console.attach(page)
    page.goto(f"{server.http_url}/login/")
    context.clear_cookies()  # as when the cookie expired or the browser blocks it
    page.keyboard.type(student.email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("El formulario caducó")
    assert_accessible(page, "CSRF failure in Spanish")
    context.close()


def test_at_twice_the_text_size_the_conversation_loses_nothing(pair, browser, server, console):
    """With text at 200% the top bar grows onto more lines instead of
    clipping its labels; the composer is still there, reached by scrolling,
    and nothing needs scrolling sideways."""
    _, student, direct = pair
    context, page = open_as(browser, server, console, student, f"/c/{direct.pk}/")
    page.evaluate("document.documentElement.style.fontSize = '200%'")
    assert page.locator(".topbar").bounding_box()["height"] > 56, "the bar grew with its text"
    composer = page.locator("#composer-input")
    composer.scroll_into_view_if_needed()
    box = composer.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 800
    assert_no_sideways_scroll(page, "conversation, 200% text")
    context.close()


def test_logging_out_of_a_conversation_lands_on_the_plain_login_page(
    pair, browser, server, console
):
    """The session ends, and the conversation's socket is closed 4401 with
    it, before the logout's answer arrives: the page must not send itself
    to /login/?next=<this conversation>, cancelling the logout's own
    navigation and sending whoever signs in next on this browser here."""
    _, student, direct = pair
    context, page = open_as(browser, server, console, student, f"/c/{direct.pk}/")
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{server.http_url}/login/")
    page.wait_for_load_state("load")
    assert "next=" not in page.url
    assert page.evaluate("fetch('/api/me/').then((r) => r.status)") == 401
    context.close()
