"""The support pages: a requester's own requests, the admins' queue with its
filters and bulk actions, the new request form, and the conversation page's
request banner with the form posts behind it. Every refusal is a clear
message (or a 404 for a request one may not see) that changes nothing."""

import datetime as dt
import json
import re
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Role
from messaging import notices
from messaging import services as messaging_services
from messaging.models import Conversation, ConversationType, Message, MessageType
from messaging.support import services
from messaging.support.models import (
    SupportCategory,
    SupportPriority,
    SupportRequest,
    SupportStatus,
)

pytestmark = pytest.mark.django_db

PAGE_DATA = re.compile(r'<script id="page-data" type="application/json">(.*?)</script>', re.S)


def category(slug: str) -> SupportCategory:
    return SupportCategory.objects.get(slug=slug)


def open_request(requester, subject="Upload broken", slug="technical", body="It fails at 99%."):
    return services.open_request(
        requester=requester,
        category_id=category(slug).pk,
        subject=subject,
        body=body,
        client_id=uuid.uuid4(),
    )


def refreshed(support_request: SupportRequest) -> SupportRequest:
    return SupportRequest.objects.select_related("assignee").get(pk=support_request.pk)


def flashed(response) -> str:
    """The messages the page shows after a redirect was followed."""
    return " ".join(str(m) for m in response.context["messages"])


def rows_of(body: str) -> list[str]:
    """The request ids listed in a page's table, in order."""
    return re.findall(r'<tr data-request-id="([0-9a-f-]+)"', body)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


# --- Who gets what ---------------------------------------------------------------


def test_pages_need_a_login(client, student):
    support_request = open_request(student)
    for url in (
        reverse("support"),
        reverse("support_new"),
        reverse("support_status", args=[support_request.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_a_student_sees_their_own_requests_with_status(client, student, make_user, admin_user):
    mine = open_request(student, subject="Cannot submit my essay")
    other = open_request(make_user(Role.STUDENT), subject="Someone else's trouble")
    services.change_status(actor=admin_user, request_id=mine.pk, status=SupportStatus.PENDING)
    client.force_login(student)
    response = client.get(reverse("support"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "My requests" in body and "Support queue" not in body
    assert rows_of(body) == [str(mine.pk)]
    assert "Cannot submit my essay" in body and other.subject not in body
    assert ">Pending<" in body
    assert f'href="{reverse("conversation", args=[mine.conversation_id])}"' in body
    assert f'href="{reverse("support_new")}"' in body


def test_the_header_links_to_support(client, student):
    client.force_login(student)
    body = client.get(reverse("inbox")).content.decode()
    assert f'href="{reverse("support")}"' in body


def test_the_old_support_form_leads_to_the_new_request_page(client, student):
    client.force_login(student)
    response = client.post(reverse("new_support"), {"title": "Upload broken"})
    assert response.status_code == 302
    assert response.url == reverse("support_new") + "?subject=Upload+broken"
    page = client.get(response.url).content.decode()
    assert 'value="Upload broken"' in page
    assert client.get(reverse("new_support")).url == reverse("support_new")
    # A link to the old form (GET) carries its title as well.
    linked = client.get(reverse("new_support"), {"title": "Upload broken"})
    assert linked.url == reverse("support_new") + "?subject=Upload+broken"
    assert not Conversation.objects.filter(type=ConversationType.SUPPORT).exists()
    new_direct = client.get(reverse("new_direct")).content.decode()
    assert f'href="{reverse("support_new")}"' in new_direct


# --- A new request -------------------------------------------------------------------


def test_the_form_offers_the_active_categories(client, student):
    SupportCategory.objects.filter(slug="feedback").update(is_active=False)
    client.force_login(student)
    body = client.get(reverse("support_new")).content.decode()
    assert 'value="technical"' in body and 'value="complaint"' in body
    assert 'value="feedback"' not in body


def test_filing_a_request_lands_in_its_conversation(client, student, admin_user):
    client.force_login(student)
    client_id = uuid.uuid4()
    form = {
        "category": "complaint",
        "subject": "  The grader marked me down twice  ",
        "body": "Assignment 3 was graded twice.",
        "client_id": str(client_id),
    }
    response = client.post(reverse("support_new"), form)
    support_request = SupportRequest.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("conversation", args=[support_request.conversation_id])
    assert support_request.subject == "The grader marked me down twice"
    assert support_request.category.slug == "complaint"
    assert support_request.requester == student
    assert support_request.status == SupportStatus.OPEN
    assert Message.objects.filter(
        conversation_id=support_request.conversation_id,
        content="Assignment 3 was graded twice.",
        sender=student,
    ).exists()
    # A second click on Send (same client_id) opens nothing more.
    again = client.post(reverse("support_new"), form)
    assert again.url == response.url
    assert SupportRequest.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"subject": "   "}, "A subject is required."),
        ({"subject": "x" * 201}, "A subject has at most 200 characters."),
        ({"subject": "Tab\there"}, "subject must not contain"),
        ({"body": "   "}, "A message cannot be empty."),
        ({"category": "nonsense"}, "Select a valid choice."),
        ({"category": ""}, "This field is required."),
        ({"client_id": "not-a-uuid"}, "Enter a valid UUID."),
    ],
)
def test_a_refused_request_shows_why_and_keeps_what_was_typed(client, student, change, error):
    client.force_login(student)
    form = {
        "category": "technical",
        "subject": "Upload broken",
        "body": "Details that should survive the refusal.",
        "client_id": str(uuid.uuid4()),
        **change,
    }
    response = client.post(reverse("support_new"), form)
    body = response.content.decode()
    assert response.status_code == 400
    assert error in body
    if "body" not in change:
        assert "Details that should survive the refusal." in body
    assert not SupportRequest.objects.exists()


def test_filing_spends_from_the_send_rate_limit(client, student, settings):
    settings.PARLEY = {**settings.PARLEY, "SEND_BURST": 1, "SEND_RATE_PER_SECOND": 0.01}
    client.force_login(student)

    def file(subject, client_id):
        form = {"category": "technical", "subject": subject, "body": "Help."}
        return client.post(reverse("support_new"), {**form, "client_id": str(client_id)})

    first_id = uuid.uuid4()
    assert file("First", first_id).status_code == 302
    # Sending the same form again spends nothing: it is the same request.
    assert file("First", first_id).status_code == 302
    refused = file("Second", uuid.uuid4())
    assert refused.status_code == 429
    assert "Second" in refused.content.decode()  # the form keeps what was typed
    assert SupportRequest.objects.count() == 1


def test_an_inactive_category_is_refused(client, student):
    SupportCategory.objects.filter(slug="feedback").update(is_active=False)
    client.force_login(student)
    response = client.post(
        reverse("support_new"),
        {
            "category": "feedback",
            "subject": "Hi",
            "body": "Hello",
            "client_id": str(uuid.uuid4()),
        },
    )
    assert response.status_code == 400
    assert not SupportRequest.objects.exists()


def test_admins_do_not_open_requests(admin_client):
    response = admin_client.get(reverse("support_new"), follow=True)
    assert "Admins answer support requests" in flashed(response)
    assert response.redirect_chain[-1][0] == reverse("support")


# --- The queue -------------------------------------------------------------------------


@pytest.fixture
def queue(student, mentor, admin_user, make_user):
    """Four requests: an old overdue complaint, an assigned urgent one, a
    pending one and a closed one."""
    other_admin = make_user(Role.ADMIN, name="Olga Admin")
    old = open_request(student, subject="Old complaint", slug="complaint")
    SupportRequest.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - dt.timedelta(days=10)
    )
    urgent = open_request(mentor, subject="Urgent outage")
    services.assign(actor=admin_user, request_id=urgent.pk, assignee_id=admin_user.pk)
    services.set_priority(actor=admin_user, request_id=urgent.pk, priority=SupportPriority.URGENT)
    pending = open_request(student, subject="Waiting on you", slug="feedback")
    services.assign(actor=admin_user, request_id=pending.pk, assignee_id=other_admin.pk)
    services.change_status(actor=admin_user, request_id=pending.pk, status=SupportStatus.PENDING)
    closed = open_request(mentor, subject="Done and dusted")
    services.change_status(actor=admin_user, request_id=closed.pk, status=SupportStatus.CLOSED)
    return {"old": old, "urgent": urgent, "pending": pending, "closed": closed}


def listed(client, **filters) -> set[str]:
    response = client.get(reverse("support"), filters)
    assert response.status_code == 200, response.content.decode()
    return set(rows_of(response.content.decode()))


def ids(queue, *names) -> set[str]:
    return {str(queue[name].pk) for name in names}


def test_admins_get_the_queue_with_every_request(admin_client, queue):
    response = admin_client.get(reverse("support"))
    body = response.content.decode()
    assert "Support queue" in body and "My requests" not in body
    assert set(rows_of(body)) == ids(queue, "old", "urgent", "pending", "closed")
    # Overdue is said in words, not only by colour.
    (old_row,) = re.findall(rf'<tr data-request-id="{queue["old"].pk}".*?</tr>', body, re.S)
    assert "Overdue" in old_row
    (urgent_row,) = re.findall(rf'<tr data-request-id="{queue["urgent"].pk}".*?</tr>', body, re.S)
    assert "Overdue" not in urgent_row and "Urgent" in urgent_row


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"status": "pending"}, ("pending",)),
        ({"status": "open"}, ("old", "urgent")),
        ({"category": "complaint"}, ("old",)),
        ({"assignee": "me"}, ("urgent",)),
        ({"assignee": "none"}, ("old", "closed")),
        ({"assignee": ""}, ("old", "urgent", "pending", "closed")),
        ({"priority": "urgent"}, ("urgent",)),
        ({"overdue": "on"}, ("old",)),
        ({"older_than_hours": "168"}, ("old",)),
        ({"status": "open", "assignee": "none"}, ("old",)),
    ],
)
def test_the_queue_filters(admin_client, queue, filters, expected):
    assert listed(admin_client, **filters) == ids(queue, *expected)


def test_a_bad_filter_is_shown_and_the_queue_stays_usable(admin_client, queue):
    response = admin_client.get(reverse("support"), {"status": "lost", "priority": "urgent"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Select a valid choice. lost is not one of the available choices." in body
    # The valid filter still applies.
    assert set(rows_of(body)) == ids(queue, "urgent")


def test_bulk_assign_and_close(admin_client, admin_user, queue):
    back = reverse("support") + "?status=open"
    response = admin_client.post(
        reverse("support_bulk"),
        {"ids": [queue["old"].pk, queue["pending"].pk], "action": "assign", "next": back},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == back
    assert "2 requests assigned to you." in flashed(response)
    assert refreshed(queue["old"]).assignee == admin_user
    assert refreshed(queue["pending"]).assignee == admin_user
    response = admin_client.post(
        reverse("support_bulk"), {"ids": [queue["old"].pk], "action": "close"}, follow=True
    )
    assert "1 request closed." in flashed(response)
    assert refreshed(queue["old"]).status == SupportStatus.CLOSED


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"action": "close"}, "Choose at least one request."),
        ({"action": "explode", "ids": ["00000000-0000-0000-0000-000000000001"]}, "action must be"),
        ({"action": "close", "ids": ["not-a-uuid"]}, "ids[] must be a UUID."),
    ],
)
def test_bulk_refusals_change_nothing(admin_client, queue, form, error):
    response = admin_client.post(reverse("support_bulk"), form, follow=True)
    assert error in flashed(response)
    assert SupportRequest.objects.filter(status=SupportStatus.CLOSED).count() == 1


def test_students_may_not_work_the_queue(client, student, queue):
    client.force_login(student)
    response = client.post(
        reverse("support_bulk"), {"ids": [queue["old"].pk], "action": "close"}, follow=True
    )
    assert flashed(response)
    assert refreshed(queue["old"]).status == SupportStatus.OPEN
    # Filters mean nothing on a student's page: it lists their own.
    assert set(rows_of(client.get(reverse("support"), {"status": "closed"}).content.decode())) == (
        ids(queue, "old", "pending")
    )


# --- The conversation page's banner ----------------------------------------------------


def banner_of(body: str) -> str:
    (banner,) = re.findall(r'<section class="support-banner".*?</section>', body, re.S)
    return banner


def page_support(body: str) -> dict:
    (data,) = PAGE_DATA.findall(body)
    return json.loads(data)["support"]


def test_the_requester_sees_the_status_and_no_staff_controls(client, student):
    support_request = open_request(student, subject="Broken upload")
    client.force_login(student)
    body = client.get(reverse("conversation", args=[support_request.conversation_id])).content
    banner = banner_of(body.decode())
    assert "Support request" in banner and ">Open<" in banner and "Unassigned" in banner
    assert "Assign to me" not in banner and 'name="priority"' not in banner
    data = page_support(body.decode())
    assert data["id"] == str(support_request.pk)
    # The requester may withdraw (close) an open request, nothing else.
    assert data["allowed_statuses"] == ["closed"]
    assert 'id="support-rating-form"' in banner  # hidden until resolved
    assert re.search(r'id="support-rating-form"[^>]*hidden', banner)


def test_admins_get_the_controls(admin_client, student, admin_user):
    support_request = open_request(student)
    body = admin_client.get(reverse("conversation", args=[support_request.conversation_id]))
    banner = banner_of(body.content.decode())
    assert "Assign to me" in banner and 'name="priority"' in banner
    assert f'<option value="{admin_user.pk}">{admin_user.display_name}</option>' in banner
    assert page_support(body.content.decode())["allowed_statuses"] == [
        "pending",
        "resolved",
        "closed",
    ]
    assert "rating" not in banner.lower() or 'id="support-rating-form"' not in banner


def test_other_conversations_have_no_banner(client, direct, assigned):
    mentor, _ = assigned
    client.force_login(mentor)
    body = client.get(reverse("conversation", args=[direct.pk])).content.decode()
    assert "support-banner" not in body
    assert "support" not in json.loads(PAGE_DATA.findall(body)[0])


def test_an_admin_works_a_request_from_its_page(admin_client, admin_user, student):
    support_request = open_request(student)
    page = reverse("conversation", args=[support_request.conversation_id])
    response = admin_client.post(
        reverse("support_assign", args=[support_request.pk]),
        {"assignee_id": str(admin_user.pk)},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == page
    assert f"Assigned to {admin_user.display_name}." in flashed(response)
    # The banner's "Assignee" names them (not "Assignee: Assigned to …").
    assignee = f'<dd id="support-assignee" dir="auto">{admin_user.display_name}</dd>'
    assert assignee in banner_of(response.content.decode())
    response = admin_client.post(
        reverse("support_priority", args=[support_request.pk]), {"priority": "high"}, follow=True
    )
    assert "Priority set to High." in flashed(response)
    response = admin_client.post(
        reverse("support_status", args=[support_request.pk]), {"status": "resolved"}, follow=True
    )
    assert "Status changed to Resolved." in flashed(response)
    assert ">Resolved<" in banner_of(response.content.decode())
    response = admin_client.post(
        reverse("support_assign", args=[support_request.pk]), {"assignee_id": ""}, follow=True
    )
    assert "The request is unassigned." in flashed(response)
    changed = refreshed(support_request)
    assert (changed.status, changed.priority, changed.assignee) == ("resolved", "high", None)
    # Each change is a system message in the conversation.
    assert (
        Message.objects.filter(
            conversation_id=support_request.conversation_id, message_type=MessageType.SYSTEM
        ).count()
        >= 4
    )


@pytest.mark.parametrize(
    ("view", "form", "error"),
    [
        ("support_status", {"status": "lost"}, "status must be one of"),
        ("support_priority", {"priority": "meh"}, "priority must be one of"),
        ("support_assign", {"assignee_id": "nobody"}, "assignee_id must be a UUID."),
    ],
)
def test_bad_values_are_refused_with_a_message(admin_client, student, view, form, error):
    support_request = open_request(student)
    response = admin_client.post(reverse(view, args=[support_request.pk]), form, follow=True)
    assert error in flashed(response)
    changed = refreshed(support_request)
    assert (changed.status, changed.priority, changed.assignee) == ("open", "normal", None)


def test_the_requester_may_not_make_staff_moves(client, student, make_user):
    support_request = open_request(student)
    client.force_login(student)
    response = client.post(
        reverse("support_status", args=[support_request.pk]), {"status": "resolved"}, follow=True
    )
    assert flashed(response)
    response = client.post(
        reverse("support_priority", args=[support_request.pk]), {"priority": "urgent"}, follow=True
    )
    assert flashed(response)
    changed = refreshed(support_request)
    assert (changed.status, changed.priority) == ("open", "normal")


def test_a_request_one_may_not_see_is_not_found(client, student, make_user):
    support_request = open_request(student)
    client.force_login(make_user(Role.STUDENT))
    for view, form in [
        ("support_status", {"status": "closed"}),
        ("support_assign", {"assignee_id": ""}),
        ("support_priority", {"priority": "low"}),
        ("support_rating", {"satisfied": "yes"}),
    ]:
        response = client.post(reverse(view, args=[support_request.pk]), form)
        assert response.status_code == 404
    assert client.post(reverse("support_status", args=[uuid.uuid4()]), {}).status_code == 404
    assert client.get(reverse("support_status", args=[support_request.pk])).status_code == 405
    assert refreshed(support_request).status == SupportStatus.OPEN


def test_the_requester_rates_a_resolved_request_once(client, student, admin_user):
    support_request = open_request(student)
    client.force_login(student)
    rating = reverse("support_rating", args=[support_request.pk])
    early = client.post(rating, {"satisfied": "yes"}, follow=True)
    assert flashed(early)
    assert refreshed(support_request).rated_at is None
    services.change_status(
        actor=admin_user, request_id=support_request.pk, status=SupportStatus.RESOLVED
    )
    page = client.get(reverse("conversation", args=[support_request.conversation_id]))
    assert not re.search(r'id="support-rating-form"[^>]*hidden', page.content.decode())
    response = client.post(rating, {"satisfied": "no", "comment": "Took a week."}, follow=True)
    assert "Thank you for your rating." in flashed(response)
    banner = banner_of(response.content.decode())
    assert "Not satisfied" in banner and "Took a week." in banner
    changed = refreshed(support_request)
    assert (changed.satisfied, changed.rating_comment) == (False, "Took a week.")
    again = client.post(rating, {"satisfied": "yes"}, follow=True)
    assert flashed(again) and refreshed(support_request).satisfied is False
    # The admins see it too.
    client.force_login(admin_user)
    page = client.get(reverse("conversation", args=[support_request.conversation_id]))
    banner = banner_of(page.content.decode())
    assert f"{student.display_name} rated this request" in banner and "Took a week." in banner
    assert 'id="support-rating-form"' not in banner


def test_a_rating_needs_a_verdict(client, student, admin_user):
    support_request = open_request(student)
    services.change_status(
        actor=admin_user, request_id=support_request.pk, status=SupportStatus.RESOLVED
    )
    client.force_login(student)
    response = client.post(
        reverse("support_rating", args=[support_request.pk]), {"comment": "hm"}, follow=True
    )
    assert "This field is required." in flashed(response)
    assert refreshed(support_request).rated_at is None


# --- The conversation list -------------------------------------------------------------


def test_the_inbox_shows_a_support_conversations_status(client, student, admin_user):
    support_request = open_request(student, subject="Where is my certificate?")
    services.change_status(
        actor=admin_user, request_id=support_request.pk, status=SupportStatus.PENDING
    )
    # A support conversation from before requests existed has no status.
    messaging_services.create_conversation(
        creator=student, kind=ConversationType.SUPPORT, title="Legacy"
    )
    client.force_login(student)
    body = client.get(reverse("inbox")).content.decode()
    assert re.search(
        rf'data-support-status-for="{support_request.conversation_id}"[^>]*>'
        r"(?:<span[^>]*>[^<]*</span>)?Pending<",
        body,
    )
    assert body.count("data-support-status-for=") == 1


def test_the_queue_comes_in_pages_that_keep_the_filters(admin_client, student, monkeypatch):
    from messaging.support import views

    monkeypatch.setattr(views, "QUEUE_PAGE_SIZE", 2)
    opened = [open_request(student, subject=f"Request {n}") for n in range(3)]
    first = admin_client.get(reverse("support"), {"status": "open"}).content.decode()
    assert "3 requests match · page 1 of 2" in first
    assert 'href="?status=open&amp;page=2"' in first
    second = admin_client.get(reverse("support"), {"status": "open", "page": "2"})
    assert rows_of(second.content.decode()) == [str(opened[0].pk)]
    # A page number that is not one is the last page, not an error.
    assert admin_client.get(reverse("support"), {"page": "99"}).status_code == 200


def test_a_default_category_and_times_read_in_the_persons_language(client, student, admin_user):
    """A default category's name (stored in English) in Spanish on the
    banner, the list, the form and the opening notice; one an admin wrote
    as written. A first answer within the minute is "within a minute", not
    "after 0 minutes"."""
    student.language = "es"
    student.save(update_fields=["language"])
    support_request = open_request(student, subject="Subida rota")
    client.force_login(student)
    page = client.get(reverse("conversation", args=[support_request.conversation_id])).content
    banner = banner_of(page.decode())
    assert '<dd id="support-category" data-category="technical">Soporte técnico</dd>' in banner
    opened = Message.objects.get(
        conversation_id=support_request.conversation_id, message_type=MessageType.SYSTEM
    )
    with translation.override("es"):
        assert "una solicitud de soporte (Soporte técnico)" in notices.worded(opened.metadata)
    assert "<td>Soporte técnico</td>" in client.get(reverse("support")).content.decode()
    assert ">Soporte técnico</option>" in client.get(reverse("support_new")).content.decode()
    SupportCategory.objects.filter(slug="feedback").update(name="Ideas for the course")
    assert ">Ideas for the course</option>" in client.get(reverse("support_new")).content.decode()
    SupportRequest.objects.filter(pk=support_request.pk).update(
        first_response_at=support_request.created_at + dt.timedelta(seconds=20)
    )
    banner = banner_of(
        client.get(reverse("conversation", args=[support_request.conversation_id])).content.decode()
    )
    assert '<dd id="support-first-response">en menos de un minuto</dd>' in banner
