"""Support in the Django admin: categories edited there, the request list's
filters, and the actions, which go through the services (a system message
and an audit row each), never a raw save."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from messaging.models import AuditAction, AuditLog
from messaging.support.models import SupportCategory, SupportRequest

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:messaging_supportrequest_changelist"


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser(
        email="root@example.test", password="root-password-1", display_name="Root"
    )


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def requests(student, mentor, superuser, open_request, settings):
    settings.PARLEY = {**settings.PARLEY, "SUPPORT_FIRST_RESPONSE_HOURS": 4}
    fresh = open_request(student, subject="Fresh one")
    old = open_request(mentor, subject="Old one")
    SupportRequest.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    return fresh, old


def listed(client, **query):
    response = client.get(reverse(CHANGELIST), query)
    assert response.status_code == 200
    return {r.subject for r in response.context["cl"].result_list}


def test_the_changelist_filters(admin_client, requests, superuser):
    assert listed(admin_client) == {"Fresh one", "Old one"}
    assert listed(admin_client, overdue="yes") == {"Old one"}
    assert listed(admin_client, overdue="no") == {"Fresh one"}
    assert listed(admin_client, older_than_hours="24") == {"Old one"}
    assert listed(admin_client, assignee="none") == {"Fresh one", "Old one"}
    assert listed(admin_client, assignee="me") == set()
    assert listed(admin_client, assignee="not-a-uuid") == set()
    assert listed(admin_client, status__exact="open") == {"Fresh one", "Old one"}
    assert listed(admin_client, priority__exact="urgent") == set()
    assert listed(admin_client, q="Fresh") == {"Fresh one"}
    assert listed(admin_client, q=requests[1].requester.email) == {"Old one"}
    complaint = SupportCategory.objects.get(slug="complaint")
    assert listed(admin_client, category__id__exact=str(complaint.pk)) == {"Fresh one", "Old one"}


def act(client, action, requests, **extra):
    return client.post(
        reverse(CHANGELIST),
        {"action": action, "_selected_action": [str(r.pk) for r in requests], **extra},
        follow=True,
    )


def test_assign_to_me_and_close_go_through_the_services(admin_client, requests, superuser):
    act(admin_client, "assign_to_me", requests)
    assert set(SupportRequest.objects.values_list("assignee_id", flat=True)) == {superuser.pk}
    assert listed(admin_client, assignee="me") == {"Fresh one", "Old one"}
    assert AuditLog.objects.filter(action=AuditAction.SUPPORT_ASSIGN).count() == 2
    act(admin_client, "close", requests)
    assert set(SupportRequest.objects.values_list("status", flat=True)) == {"closed"}
    assert AuditLog.objects.filter(action=AuditAction.SUPPORT_STATUS).count() == 2
    for request in requests:
        notices = request.conversation.messages.filter(message_type="system")
        assert {m.metadata.get("support", {}).get("event") for m in notices} >= {"assign", "status"}


def test_status_and_priority_from_the_action_bar(admin_client, requests):
    act(admin_client, "set_priority", requests, priority="high")
    assert set(SupportRequest.objects.values_list("priority", flat=True)) == {"high"}
    response = act(admin_client, "set_status", requests, status="resolved")
    assert set(SupportRequest.objects.values_list("status", flat=True)) == {"resolved"}
    assert response.status_code == 200
    # A move the table does not allow is reported, and changes nothing.
    response = act(admin_client, "set_status", requests, status="pending")
    assert set(SupportRequest.objects.values_list("status", flat=True)) == {"resolved"}
    assert "cannot be moved" in response.content.decode()


def test_a_moderator_without_the_support_role_cannot_close_requests(client, requests, make_user):
    moderator = make_user(Role.MENTOR, is_staff=True)
    moderator.groups.add(Group.objects.get(name="Moderators"))
    client.force_login(moderator)
    act(client, "close", requests)
    assert set(SupportRequest.objects.values_list("status", flat=True)) == {"open"}


def test_a_support_agent_closes_requests_through_the_group(client, requests, make_user):
    agent = make_user(Role.MENTOR, is_staff=True)
    agent.groups.add(Group.objects.get(name="Support agents"))
    client.force_login(agent)
    act(client, "close", requests)
    assert set(SupportRequest.objects.values_list("status", flat=True)) == {"closed"}


def test_requests_are_read_only_and_not_added_here(admin_client, requests):
    request = requests[0]
    change = reverse("admin:messaging_supportrequest_change", args=[request.pk])
    assert admin_client.get(change).status_code == 200
    admin_client.post(change, {"status": "closed", "subject": "changed"})
    request.refresh_from_db()
    assert request.status == "open" and request.subject == "Fresh one"
    add = reverse("admin:messaging_supportrequest_add")
    assert admin_client.get(add).status_code == 403


def test_categories_are_edited_here(admin_client):
    add = reverse("admin:messaging_supportcategory_add")
    response = admin_client.post(
        add,
        {"name": "Billing", "slug": "billing", "description": "", "position": 4, "is_active": "on"},
    )
    assert response.status_code == 302
    assert SupportCategory.objects.filter(slug="billing", is_active=True).exists()
