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


def test_a_refused_request_with_credentials_is_not_stored_either(student):
    """A session write without its CSRF token, a bad token: the refusal
    answers a request that carried credentials, so it is not kept either
    (DRF leaves the user anonymous on such a refusal)."""
    browser = session_of(student)
    browser.handler.enforce_csrf_checks = True
    refused = browser.post("/api/conversations/", {}, content_type="application/json")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert kept_by_nobody(refused)

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    bad_token = api.get("/api/conversations/")
    assert bad_token.status_code == 401
    assert kept_by_nobody(bad_token)
