"""Support requests in real headless Chromium: a student files a complaint
and watches an admin, in another browser context, assign and resolve it,
live; the admins' queue closes several requests at once."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role, User
from messaging.support import services
from messaging.support.models import (
    SupportCategory,
    SupportPriority,
    SupportRequest,
    SupportStatus,
)
from tests.browser.conftest import PASSWORD, off_loop, open_as, screenshot

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]

# docs/screenshots/support-queue.png and support-request.png are these
# (written to test-artifacts/ on every run).


@pytest.fixture
def categories(db):
    """The default categories. Migration 0007 makes them, but a transactional
    test before this one flushed them away."""
    services.ensure_default_categories()


@pytest.fixture
def people(categories):
    student = User.objects.create_user(
        email="sam@example.test", password=PASSWORD, display_name="Sam Student", role=Role.STUDENT
    )
    admin = User.objects.create_user(
        email="ada@example.test", password=PASSWORD, display_name="Ada Admin", role=Role.ADMIN
    )
    return student, admin


def no_reload_marker(page):
    """Mark the page's window; a reload would lose the mark."""
    page.evaluate("window.__sameDocument = true")


def assert_not_reloaded(page):
    assert page.evaluate("window.__sameDocument === true")


def test_a_student_files_a_complaint_and_sees_it_worked_live(people, browser, server, console):
    student, admin = people
    student_context, student_page = open_as(browser, server, console, student, "/support/new/")
    student_page.get_by_label("Category").select_option(label="Complaint")
    student_page.get_by_label("Subject").fill("My grade for essay 2 is missing")
    student_page.get_by_label("Your message").fill("The gradebook shows nothing since Monday.")
    student_page.get_by_role("button", name="Send request").click()
    student_page.wait_for_url(f"{server.http_url}/c/**")
    banner = student_page.locator("#support-banner")
    expect(banner.locator("#support-status")).to_have_text("Open")
    expect(banner.locator("#support-assignee")).to_have_text("Unassigned")
    expect(banner).to_contain_text("Complaint")
    expect(student_page.locator("#message-list")).to_contain_text(
        "The gradebook shows nothing since Monday."
    )
    # The banner's script is ready (it listens for support.updated).
    student_page.wait_for_function("() => !!(window.parley.view && window.parley.view.support)")
    no_reload_marker(student_page)

    admin_context, admin_page = open_as(browser, server, console, admin, "/support/")
    admin_page.get_by_label("Category").select_option(label="Complaint")
    admin_page.get_by_label("Status").select_option(label="Open")
    admin_page.get_by_role("button", name="Filter").click()
    admin_page.wait_for_url("**/support/?**category=complaint**")
    row = admin_page.locator("tbody tr", has_text="My grade for essay 2 is missing")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Sam Student")
    admin_page.get_by_role("link", name="My grade for essay 2 is missing").click()
    admin_page.wait_for_url(f"{server.http_url}/c/**")
    admin_page.wait_for_function("() => !!(window.parley.view && window.parley.view.support)")
    no_reload_marker(admin_page)
    admin_page.get_by_role("button", name="Assign to me").click()
    expect(admin_page.locator("#support-assignee")).to_have_text("Ada Admin")
    expect(student_page.locator("#support-assignee")).to_have_text("Ada Admin")
    admin_page.get_by_role("button", name="Mark resolved").click()
    expect(admin_page.locator("#support-status")).to_have_text("Resolved")
    # The button pressed is gone: the keyboard is on the next one shown.
    expect(admin_page.locator("#support-status-form button:focus")).to_be_visible()
    assert_not_reloaded(admin_page)

    expect(student_page.locator("#support-status")).to_have_text("Resolved")
    expect(student_page.locator("#live-region")).to_contain_text("Support request status: Resolved")
    assert_not_reloaded(student_page)
    # The system messages of both changes reached the conversation too.
    expect(student_page.locator("#message-list")).to_contain_text("Ada Admin")

    rating = student_page.locator("#support-rating-form")
    expect(rating).to_be_visible()
    # One line of choices until one is made: the banner stays short.
    expect(rating.get_by_label("Comment")).to_be_hidden()
    assert rating.bounding_box()["height"] < 100
    rating.get_by_label("Satisfied", exact=True).check()
    rating.get_by_label("Comment").fill("Fixed within the hour, thanks.")
    rating.get_by_role("button", name="Send rating").click()
    expect(student_page.locator("#support-rating")).to_contain_text("Satisfied")
    expect(rating).to_be_hidden()
    # Its form gone, the keyboard is on the request's status, not the page's top.
    expect(student_page.locator("#support-status")).to_be_focused()
    # Reopen is offered to the requester once it is resolved.
    expect(student_page.get_by_role("button", name="Reopen")).to_be_visible()
    assert_not_reloaded(student_page)
    screenshot(student_page, "support-request.png")

    def stored():
        return SupportRequest.objects.select_related("assignee").get()

    support_request = off_loop(stored)
    assert support_request.status == SupportStatus.RESOLVED
    assert support_request.assignee_id == admin.pk
    assert support_request.satisfied is True
    assert support_request.rating_comment == "Fixed within the hour, thanks."
    student_context.close()
    admin_context.close()


@pytest.fixture
def three_requests(people):
    """Three technical requests of the student, opened before the browser
    starts (services cannot run in Playwright's thread)."""
    student, admin = people
    technical = SupportCategory.objects.get(slug="technical")
    opened = [
        services.open_request(
            requester=student,
            category_id=technical.pk,
            subject=subject,
            body="Details.",
            client_id=uuid.uuid4(),
        )
        for subject in ("Exam portal down", "Projector flickers", "Wifi in room 4")
    ]
    # The oldest waits past its first-response time, urgent.
    SupportRequest.objects.filter(pk=opened[0].pk).update(
        created_at=timezone.now() - dt.timedelta(days=3)
    )
    services.set_priority(actor=admin, request_id=opened[0].pk, priority=SupportPriority.URGENT)
    return opened


def test_the_queue_closes_requests_in_bulk(people, three_requests, browser, server, console):
    _, admin = people
    context, page = open_as(browser, server, console, admin, "/support/")
    expect(page.locator("tbody tr")).to_have_count(3)
    expect(page.locator("tbody tr", has_text="Exam portal down")).to_contain_text("Overdue")
    expect(page.locator("tbody tr", has_text="Wifi in room 4")).not_to_contain_text("Overdue")
    page.get_by_label("Choose Wifi in room 4").check()
    page.get_by_label("Choose Projector flickers").check()
    screenshot(page, "support-queue.png")
    page.get_by_role("button", name="Close", exact=True).click()
    expect(page.locator(".flash-success")).to_have_text("2 requests closed.")
    for subject, status in [
        ("Wifi in room 4", "Closed"),
        ("Projector flickers", "Closed"),
        ("Exam portal down", "Open"),
    ]:
        expect(page.locator("tbody tr", has_text=subject).locator(".support-status")).to_have_text(
            status
        )

    def statuses():
        return dict(SupportRequest.objects.values_list("subject", "status"))

    assert off_loop(statuses) == {
        "Wifi in room 4": SupportStatus.CLOSED,
        "Projector flickers": SupportStatus.CLOSED,
        "Exam portal down": SupportStatus.OPEN,
    }
    context.close()


@pytest.mark.parametrize("language", ["en", "ar"])
def test_on_a_phone_the_request_tables_scroll_in_their_card_not_the_page(
    people, three_requests, browser, server, console, language
):
    """390 px: a table wider than the screen scrolls inside its card. Its
    row links' hidden words (absolutely placed) escaped the card's scroller
    and widened the page: in Arabic it moved 19 px sideways."""
    student, admin = people
    off_loop(User.objects.filter(pk__in=[student.pk, admin.pk]).update, language=language)
    for person in (student, admin):
        context, page = open_as(
            browser, server, console, person, "/support/", {"width": 390, "height": 800}
        )
        expect(page.locator("tbody tr")).to_have_count(3)
        widths = page.evaluate(
            "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
        )
        assert widths[0] <= widths[1], (person.role, language, widths)
        context.close()


def test_the_forms_work_without_javascript(people, browser, server, console):
    """A student without JavaScript files a request, withdraws it and rates
    it: each form posts and the page comes back with the outcome."""
    student, _ = people
    context, page = open_as(browser, server, console, student, "/support/new/", javascript=False)
    page.get_by_label("Category").select_option(label="Technical support")
    page.get_by_label("Subject").fill("Password reset mail never arrives")
    page.get_by_label("Your message").fill("Tried three times today.")
    page.get_by_role("button", name="Send request").click()
    page.wait_for_url(f"{server.http_url}/c/**")
    expect(page.locator("#support-status")).to_have_text("Open")
    expect(page.locator("#support-rating-form")).to_be_hidden()
    page.get_by_role("button", name="Close", exact=True).click()
    expect(page.locator(".flash-success")).to_have_text("Status changed to Closed.")
    expect(page.locator("#support-status")).to_have_text("Closed")
    rating = page.locator("#support-rating-form")
    rating.get_by_label("Not satisfied").check()
    rating.get_by_label("Comment").fill("Still no mail.")
    rating.get_by_role("button", name="Send rating").click()
    expect(page.locator(".flash-success")).to_have_text("Thank you for your rating.")
    expect(page.locator("#support-rating")).to_contain_text("Not satisfied")
    page.goto(f"{server.http_url}/support/")
    row = page.locator("tbody tr", has_text="Password reset mail never arrives")
    expect(row.locator(".support-status")).to_have_text("Closed")
    context.close()


@pytest.fixture
def complaint_of_student(people):
    student, _ = people
    return services.open_request(
        requester=student,
        category_id=SupportCategory.objects.get(slug="complaint").pk,
        subject="Lost my quiz answers",
        body="They vanished on submit.",
        client_id=uuid.uuid4(),
    )


def test_a_change_made_while_the_socket_was_away_shows_once_it_is_back(
    people, complaint_of_student, browser, server, console
):
    """No frame reaches a socket that is not connected; the banner asks for
    the request again when the socket says hello."""
    student, admin = people
    path = f"/c/{complaint_of_student.conversation_id}/"
    _, page = open_as(browser, server, console, student, path)
    held = []
    let_through = {"yes": False}

    def route(ws):
        if let_through["yes"]:
            ws.connect_to_server()
        else:
            held.append(ws)  # open, but it never says hello

    page.route_web_socket("**/ws/", route)
    page.reload()
    page.wait_for_function("() => !!(window.parley.view && window.parley.view.support)")
    expect(page.locator("#support-status")).to_have_text("Open")
    page.wait_for_timeout(0)
    assert held, "the reloaded page opened no socket"

    off_loop(
        services.change_status,
        actor=admin,
        request_id=complaint_of_student.pk,
        status=SupportStatus.PENDING,
    )
    expect(page.locator("#support-status")).to_have_text("Open")  # nothing reached it
    let_through["yes"] = True
    held[-1].close()  # the client reconnects, now to the server
    expect(page.locator("#support-status")).to_have_text("Pending")
    expect(page.locator("#live-region")).to_contain_text("Support request status: Pending")


def test_the_bell_words_a_status_change_in_the_requesters_language(
    people, browser, server, console
):
    """Not the status's code ("resolved"): its word, in Spanish here; and
    the inbox's row says the new status without a reload."""
    student, admin = people
    student.language = "es"
    off_loop(student.save, update_fields=["language"])
    technical = off_loop(SupportCategory.objects.get, slug="technical")
    request = off_loop(
        services.open_request,
        requester=student,
        category_id=technical.pk,
        subject="La subida falla",
        body="Siempre al 99 %.",
        client_id=uuid.uuid4(),
    )
    _, page = open_as(browser, server, console, student, "/")
    pill = page.locator(f"[data-support-status-for='{request.conversation_id}']")
    expect(pill).to_have_text(", Abierta")  # a visually hidden comma after the title
    off_loop(
        services.change_status, actor=admin, request_id=request.pk, status=SupportStatus.RESOLVED
    )
    expect(pill).to_have_text(", Resuelta")
    expect(pill).to_have_attribute("data-status", "resolved")
    page.locator("#bell-button").click()
    entry = page.locator("#bell-list li[data-kind='support']")
    expect(entry).to_contain_text("Solicitud de soporte actualizada: resuelta")
    expect(entry).not_to_contain_text("resolved")
