"""Every ``next`` the server follows stays on this site: the messaging pages'
forms (after an action and after a refusal), the login page and logout. Any
other target is replaced by the page's usual destination."""

import pytest
from django.urls import reverse

from accounts.models import Role
from messaging import services
from messaging.models import Conversation
from tests.security.conftest import session_of

pytestmark = pytest.mark.django_db

FOREIGN = [
    "https://evil.example/phish",
    "http://evil.example",
    "//evil.example/",
    "///evil.example/",
    "/\\evil.example/",
    "\\\\evil.example",
    "https:evil.example",
    " https://evil.example",
    "https://testserver.evil.example/",
    "javascript:alert(1)",
]


@pytest.fixture
def group(mentor, student, assigned):
    return services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Study group"
    )


@pytest.mark.parametrize("target", FOREIGN)
def test_archive_does_not_follow_a_foreign_next(group, mentor, target):
    response = session_of(mentor).post(
        reverse("archive", args=[group.pk]), {"archived": "1", "next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("conversation", args=[group.pk])
    assert Conversation.objects.get(pk=group.pk).is_archived


def test_archive_follows_a_next_on_this_site(group, mentor):
    response = session_of(mentor).post(
        reverse("archive", args=[group.pk]), {"archived": "1", "next": "/?archived=1"}
    )
    assert response["Location"] == "/?archived=1"


@pytest.mark.parametrize("target", FOREIGN)
def test_a_refused_action_does_not_follow_a_foreign_next(group, student, target):
    # A member who is not the group's admin may not rename it.
    client = session_of(student)
    response = client.post(
        reverse("rename", args=[group.pk]), {"title": "Mine now", "next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("conversation", args=[group.pk])
    assert Conversation.objects.get(pk=group.pk).title == "Study group"


def test_a_refused_action_follows_a_next_on_this_site(group, student):
    target = reverse("members", args=[group.pk])
    response = session_of(student).post(
        reverse("rename", args=[group.pk]), {"title": "Mine now", "next": target}
    )
    assert response["Location"] == target


@pytest.mark.parametrize("target", FOREIGN)
def test_a_refused_action_without_a_conversation_falls_back_to_the_inbox(
    student, make_user, target
):
    # A student may not start a direct conversation with another student.
    stranger = make_user(Role.STUDENT)
    response = session_of(student).post(
        reverse("new_direct"), {"user_id": str(stranger.pk), "next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("inbox")


@pytest.mark.parametrize("target", FOREIGN)
def test_login_does_not_follow_a_foreign_next(client, student, target):
    response = client.post(
        reverse("login"),
        {"username": student.email, "password": "pw-" + "x" * 12, "next": target},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("inbox")


def test_login_follows_a_next_on_this_site(client, student, group):
    target = reverse("conversation", args=[group.pk])
    response = client.post(
        reverse("login"),
        {"username": student.email, "password": "pw-" + "x" * 12, "next": target},
    )
    assert response["Location"] == target


def test_the_login_page_does_not_carry_a_foreign_next_into_its_form(client):
    page = client.get(reverse("login"), {"next": "https://evil.example/"}).content.decode()
    assert "evil.example" not in page


@pytest.mark.parametrize("target", FOREIGN)
def test_logout_does_not_follow_a_foreign_next(student, target):
    response = session_of(student).post(reverse("logout"), {"next": target})
    assert response.status_code == 302
    assert response["Location"] == reverse("login")


def test_logout_follows_a_next_on_this_site(student):
    response = session_of(student).post(reverse("logout"), {"next": "/login/?bye=1"})
    assert response["Location"] == "/login/?bye=1"
