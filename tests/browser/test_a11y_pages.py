"""Accessibility of the pages around the chat: search, support, notification
settings, members, new group and new direct, unsubscribe, and the admin
pages Parley customised. axe-core finds no WCAG 2.2 A/AA violation on any
of them, and the keyboard-only flows (search and open a hit, change a
notification setting and save, file a support request, one of them in
Spanish) never touch the mouse."""

import re
import uuid

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import User
from messaging import services
from messaging.models import ConversationType, Report, ReportReason
from messaging.moderation.services import cases
from messaging.support import services as support
from messaging.support.models import SupportCategory
from notifications.selectors.preferences import preferences_for
from notifications.tokens import unsubscribe_token
from tests.browser.accessibility import assert_accessible, tab_to
from tests.browser.conftest import PASSWORD, TIMEOUT_MS, off_loop, open_as, send_as

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]


@pytest.fixture
def admin(db):
    return User.objects.create_superuser(
        email="ada@example.test", password=PASSWORD, display_name="Ada Admin"
    )


@pytest.fixture
def group(pair):
    mentor, student, _ = pair
    return services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student], title="Physics lab"
    )


@pytest.fixture
def support_request(pair, admin):
    _, student, _ = pair
    support.ensure_default_categories()
    return support.open_request(
        requester=student,
        category_id=SupportCategory.objects.get(slug="technical").pk,
        subject="The upload button does nothing",
        body="Since Monday.",
        client_id=uuid.uuid4(),
    )


@pytest.fixture
def searchable(pair, group):
    """A hit for "budget" in the direct conversation and one in the group."""
    mentor, student, direct = pair
    send_as(mentor, direct, "The lab budget for spring is 420 euros")
    send_as(student, group, "Is the budget meeting still on Thursday?")


def test_search_pages_are_accessible(pair, searchable, browser, server, console):
    _, student, _ = pair
    context, page = open_as(browser, server, console, student, "/search/")
    try:
        assert_accessible(page, "search, no query")
        page.goto(f"{server.http_url}/search/?q=budget")
        expect(page.locator(".search-hit")).to_have_count(2)
        assert_accessible(page, "search, with results")
        page.goto(f"{server.http_url}/search/?q=pineapple")
        expect(page.locator("#search-empty")).to_be_visible()
        assert_accessible(page, "search, no results")
        page.goto(f"{server.http_url}/search/?q=from%3A")
        assert_accessible(page, "search, refused query")
    finally:
        context.close()


def test_support_pages_are_accessible(pair, admin, support_request, browser, server, console):
    _, student, _ = pair
    context, page = open_as(browser, server, console, student, "/support/")
    try:
        assert_accessible(page, "support, my requests")
        page.goto(f"{server.http_url}/support/new/")
        assert_accessible(page, "support, new request")
        page.get_by_role("button", name="Send request").press("Enter")
        expect(page.locator("[aria-invalid='true']").first).to_be_visible()
        assert_accessible(page, "support, new request with errors")
    finally:
        context.close()
    context, page = open_as(browser, server, console, admin, "/support/")
    try:
        expect(page.locator("tr[data-request-id]")).to_have_count(1)
        assert_accessible(page, "support queue, as an admin")
        page.goto(f"{server.http_url}/c/{support_request.conversation_id}/")
        expect(page.locator("#support-banner")).to_be_visible()
        assert_accessible(page, within="#support-banner", state="support banner, as an admin")
    finally:
        context.close()


def test_settings_and_people_pages_are_accessible(pair, group, browser, server, console):
    mentor, _, _ = pair
    context, page = open_as(browser, server, console, mentor, "/settings/notifications/")
    try:
        assert_accessible(page, "notification settings")
        for path, state in [
            (f"/c/{group.pk}/members/", "members, as the group's creator"),
            ("/new/group/", "new group"),
            ("/new/direct/", "new direct message"),
        ]:
            page.goto(f"{server.http_url}{path}")
            assert_accessible(page, state)
    finally:
        context.close()


def test_unsubscribe_pages_are_accessible(pair, browser, server, console):
    _, student, _ = pair
    path = f"/notifications/unsubscribe/{unsubscribe_token(student.pk)}/"
    context = browser.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    console.attach(page)
    try:
        page.goto(f"{server.http_url}{path}")
        assert_accessible(page, "unsubscribe, asking")
        tab_to(page, page.get_by_role("button", name="Stop email"))
        page.keyboard.press("Enter")
        expect(page.get_by_role("heading", name="Email stopped")).to_be_visible()
        assert_accessible(page, "unsubscribe, done")
        page.goto(f"{server.http_url}{path[:-3]}x/")
        assert_accessible(page, "unsubscribe, damaged link")
    finally:
        context.close()


@pytest.fixture
def reported_case(pair, group):
    mentor, student, _ = pair
    message = send_as(student, group, "Everyone here is a pineapple")
    case = cases.open_case(message, reports=1)
    Report.objects.create(
        case=case, message=message, reporter=mentor, reason=ReportReason.HARASSMENT
    )
    return case


def test_admin_pages_parley_customised_are_accessible(
    group, admin, reported_case, browser, server, console
):
    case = reported_case
    context, page = open_as(browser, server, console, admin, "/")
    try:
        page.goto(f"{server.http_url}{reverse('admin:messaging_auditlog_changelist')}")
        assert_accessible(page, "admin, audit log list")
        review = reverse("admin:messaging_moderationcase_review", args=[group.pk])
        page.goto(f"{server.http_url}{review}")
        assert_accessible(page, "admin, conversation review")
        page.goto(f"{server.http_url}{reverse('admin:messaging_moderationcase_changelist')}")
        page.locator(f"input[name='_selected_action'][value='{case.pk}']").check()
        page.locator("select[name='action']").select_option("hide")
        page.locator("button[name='index']").click()
        expect(page.locator("#moderation-action-form")).to_be_visible()
        assert_accessible(page, "admin, moderation action's note")
        page.get_by_label("Note").fill("  ")
        page.locator("#moderation-action-form input[type=submit]").click()
        expect(page.locator("#moderation-action-form .errorlist")).to_be_visible()
        assert_accessible(page, "admin, moderation action's note refused")
    finally:
        context.close()


# --- Keyboard only: never the mouse ----------------------------------------------


def search_and_open_a_hit(page, server, *, box_label, query, direct, target_text):
    """From the search page: type the words, Enter, Tab to the first hit,
    Enter; the conversation opens on that message, focused."""
    box = page.get_by_role("searchbox", name=box_label)
    expect(box).to_be_focused()  # the empty search page starts in its box
    page.keyboard.type(query)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{server.http_url}/search/?q={query}")
    expect(page.locator("#search-count")).to_be_visible()
    # The outcome is announced (the count region was filled before load).
    expect(page.locator("#live-region")).to_contain_text(page.locator("#search-count").inner_text())
    hit = page.locator("a.search-hit-link").first
    tab_to(page, hit)
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/c/{direct.pk}/?around=*")
    found = page.locator("#message-list li.message.jump-target")
    expect(found.locator(".content")).to_have_text(target_text)
    expect(found).to_be_focused()


def test_keyboard_only_search_and_open_a_hit(pair, searchable, browser, server, console):
    _, student, direct = pair
    context, page = open_as(browser, server, console, student, "/search/")
    try:
        search_and_open_a_hit(
            page,
            server,
            box_label="Search your messages",
            query="euros",
            direct=direct,
            target_text="The lab budget for spring is 420 euros",
        )
    finally:
        context.close()


def test_keyboard_only_search_in_spanish(pair, searchable, browser, server, console):
    _, student, direct = pair
    context, page = open_as(
        browser, server, console, student, "/search/", language="es", login_form=True
    )
    try:
        expect(page.locator("html")).to_have_attribute("lang", "es")
        expect(page.get_by_role("heading", level=1)).to_have_text("Buscar")
        search_and_open_a_hit(
            page,
            server,
            box_label="Busca en tus mensajes",
            query="euros",
            direct=direct,
            target_text="The lab budget for spring is 420 euros",
        )
        page.goto(f"{server.http_url}/search/?q=budget")
        expect(page.locator("#search-count")).to_have_text("Resultados 1–2")
        assert_accessible(page, "search in Spanish, with results")
    finally:
        context.close()


def test_keyboard_only_change_a_notification_setting_and_save(pair, browser, server, console):
    _, student, _ = pair
    context, page = open_as(browser, server, console, student, "/settings/notifications/")
    try:
        email = page.get_by_role("checkbox", name="Email notifications")
        expect(email).to_be_checked()
        tab_to(page, email)
        page.keyboard.press("Space")
        expect(email).not_to_be_checked()
        tab_to(page, page.get_by_role("button", name="Save settings"))
        page.keyboard.press("Enter")
        expect(page.locator("#live-region")).to_contain_text("Saved.")
        expect(page.get_by_role("checkbox", name="Email notifications")).not_to_be_checked()
        assert off_loop(lambda: preferences_for(student).email_enabled) is False
    finally:
        context.close()


def test_keyboard_only_file_a_support_request(pair, support_request, browser, server, console):
    _, student, _ = pair
    context, page = open_as(browser, server, console, student, "/support/")
    try:
        tab_to(page, page.get_by_role("link", name="New request"))
        page.keyboard.press("Enter")
        page.wait_for_url(f"{server.http_url}/support/new/")
        # Sent empty: each field says what is wrong, tied to it.
        tab_to(page, page.get_by_role("button", name="Send request"))
        page.keyboard.press("Enter")
        subject = page.get_by_role("textbox", name="Subject")
        expect(subject).to_have_attribute("aria-invalid", "true")
        expect(subject).to_have_accessible_description(re.compile(r"\S"))
        category = page.get_by_role("combobox", name="Category")
        tab_to(page, category)
        page.keyboard.type("Complaint")
        expect(category.locator("option:checked")).to_have_text("Complaint")
        page.keyboard.press("Tab")
        expect(subject).to_be_focused()
        page.keyboard.type("My grade for essay 2 is missing")
        page.keyboard.press("Tab")
        expect(page.get_by_role("textbox", name="Your message")).to_be_focused()
        page.keyboard.type("The gradebook shows nothing since Monday.")
        tab_to(page, page.get_by_role("button", name="Send request"))
        page.keyboard.press("Enter")
        page.wait_for_url(f"{server.http_url}/c/**")
        expect(page.get_by_role("heading", level=1)).to_have_text("My grade for essay 2 is missing")
        expect(page.locator("#support-status")).to_have_text("Open")
        assert_accessible(page, within="#support-banner", state="support banner, as its requester")
    finally:
        context.close()


@pytest.fixture
def reads_arabic(pair):
    """The student chose Arabic on their profile."""
    _, student, _ = pair
    student.language = "ar"
    student.save(update_fields=["language"])


def test_search_in_arabic_reads_right_to_left(
    pair, searchable, reads_arabic, browser, server, console
):
    _, student, _ = pair
    context, page = open_as(browser, server, console, student, "/search/")
    try:
        page.goto(f"{server.http_url}/search/?q=budget")
        expect(page.locator("html")).to_have_attribute("dir", "rtl")
        expect(page.get_by_role("heading", level=1)).to_have_text("بحث")
        expect(page.locator("#search-count")).to_have_text("النتائج 1–2")
        expect(page.locator(".search-hit")).to_have_count(2)
        assert_accessible(page, "search in Arabic, with results")
    finally:
        context.close()


def test_keyboard_only_mute_a_conversation(pair, browser, server, console):
    _, student, direct = pair
    context, page = open_as(browser, server, console, student, f"/c/{direct.pk}/")
    try:
        toggle = page.locator("#mute-toggle")
        tab_to(page, toggle)
        page.keyboard.press("Enter")
        expect(page.locator("#mute-control details")).to_have_attribute("open", "")
        assert_accessible(page, within="#mute-control", state="mute menu, open")
        page.keyboard.press("Tab")
        expect(page.get_by_role("button", name="Mute for 1 hour")).to_be_focused()
        page.keyboard.press("Enter")
        expect(page.locator("#mute-state")).to_contain_text("Muted until")
        expect(toggle).to_have_text("Muted")
        assert_accessible(page, within="#mute-control", state="mute control, muted")
    finally:
        context.close()


def test_the_periodic_task_page_says_its_crontab_in_words(admin, browser, server, console):
    """django-celery-beat's page runs its script from a file (the site's
    policy refuses inline scripts: the console fixture fails on a refusal),
    and choosing a crontab says it in words under the field."""
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    def make():
        nightly = CrontabSchedule.objects.create(minute="30", hour="2")
        return PeriodicTask.objects.create(
            name="nightly report", task="messaging.tasks.sweep_presence", crontab=nightly
        ), nightly

    task, nightly = off_loop(make)
    context, page = open_as(browser, server, console, admin, "/")
    try:
        change = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
        page.goto(f"{server.http_url}{change}")
        page.locator("#id_crontab").select_option(str(nightly.pk))
        expect(page.locator(".field-crontab .help")).to_contain_text("At 02:30")
        assert console.csp_violations() == []
    finally:
        context.close()


def test_a_case_with_a_long_unbroken_link_fits_its_page(
    pair, group, admin, browser, server, console
):
    """A reported message of one long URL wraps in the case's quote and
    context table; the page does not scroll sideways (its Files column was
    cut off)."""
    mentor, student, _ = pair
    link = "https://example.test/" + "abcdefghij" * 30
    message = send_as(student, group, f"look {link}")
    case = off_loop(cases.open_case, message=message, reports=1)
    context, page = open_as(
        browser, server, console, admin, "/", viewport={"width": 1280, "height": 800}
    )
    try:
        page.goto(
            f"{server.http_url}{reverse('admin:messaging_moderationcase_change', args=[case.pk])}"
        )
        expect(page.locator("#case-actions")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        # Nothing of the case is cut off by the form's rows: each row's
        # content fits in it (Django's .form-row hides what overflows).
        cut = page.evaluate(
            "() => [...document.querySelectorAll('.form-row')]"
            ".filter((row) => row.scrollWidth > row.clientWidth + 1).length"
        )
        assert cut == 0
    finally:
        context.close()
