"""Accessibility of the pages around the chat: search, support, notification
settings, members, new group and new direct, unsubscribe, and the admin
pages Parley customised. axe-core finds no WCAG 2.2 A/AA violation on any
of them, and the keyboard-only flows (search and open a hit, change a
notification setting and save, file a support request, one of them in
Spanish) never touch the mouse."""

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
from notifications.tokens import unsubscribe_token
from tests.browser.accessibility import assert_accessible, tab_to
from tests.browser.conftest import PASSWORD, TIMEOUT_MS, open_as

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]

def say(sender, conversation, content):
    return services.send_message(
        sender=sender, conversation_id=conversation.pk, content=content, client_id=uuid.uuid4()
    ).message


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
    say(mentor, direct, "The lab budget for spring is 420 euros")
    say(student, group, "Is the budget meeting still on Thursday?")


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
        assert_accessible(page, "support request's conversation, as an admin")
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
    message = say(student, group, "Everyone here is a pineapple")
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
