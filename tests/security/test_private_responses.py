"""What is made for a signed-in person is not kept by the browser: a page
or an API answer is ``Cache-Control: private, no-store`` (the Back button
on a shared computer after logging out shows nothing of it), unless the
view chose its own caching."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from accounts import services as accounts
from accounts.models import Role
from messaging import services
from tests.security.conftest import session_of

pytestmark = pytest.mark.django_db


def kept_by_nobody(response) -> bool:
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    return {"private", "no-store"} <= directives


def test_pages_and_api_answers_for_a_signed_in_person_are_not_stored(mentor, student, assigned):
    group = services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Study group"
    )
    browser = session_of(student)
    for url in (
        reverse("inbox"),
        reverse("conversation", args=[group.pk]),
        reverse("saved"),
        reverse("profile"),
        "/api/conversations/",
    ):
        response = browser.get(url)
        assert response.status_code == 200, url
        assert kept_by_nobody(response), (url, response.get("Cache-Control"))

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {accounts.issue_api_token(user=student)}")
    response = api.get(f"/api/conversations/{group.pk}/messages/")
    assert response.status_code == 200
    assert kept_by_nobody(response)


def test_a_view_that_chose_its_caching_keeps_it(make_user):
    response = session_of(make_user(Role.STUDENT)).get("/api/emoji/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, max-age=86400"
