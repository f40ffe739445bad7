import uuid

import pytest
from rest_framework.authtoken.models import Token

from messaging.models import Message

pytestmark = [pytest.mark.services, pytest.mark.django_db]

CID = "00000000-0000-4000-8000-000000000001"
ENDPOINTS = [
    ("get", "/api/conversations/"),
    ("post", "/api/conversations/"),
    ("get", f"/api/conversations/{CID}/"),
    ("patch", f"/api/conversations/{CID}/"),
    ("post", f"/api/conversations/{CID}/archive/"),
    ("post", f"/api/conversations/{CID}/unarchive/"),
    ("post", f"/api/conversations/{CID}/participants/"),
    ("delete", f"/api/conversations/{CID}/participants/{CID}/"),
    ("get", f"/api/conversations/{CID}/messages/"),
    ("post", f"/api/conversations/{CID}/messages/"),
    ("post", f"/api/conversations/{CID}/read/"),
    ("patch", f"/api/messages/{CID}/"),
    ("delete", f"/api/messages/{CID}/"),
    ("get", f"/api/presence/?user_ids={CID}"),
    ("get", "/api/me/"),
    ("get", "/api/users/messageable/"),
]


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_every_endpoint_refuses_anonymous_requests(api, method, url):
    response = getattr(api(), method)(url, {}, format="json")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["error"]["code"] == "not_authenticated"


def test_a_bad_token_is_refused(api):
    client = api()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    response = client.get("/api/me/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


def test_token_from_email_and_password_authenticates_api_calls(api, student):
    response = api().post(
        "/api/auth/token/",
        {"email": student.email.upper(), "password": "pw-" + "x" * 12},
        format="json",
        REMOTE_ADDR="10.1.0.1",
    )
    assert response.status_code == 200
    token = response.json()["token"]
    assert Token.objects.get(user=student).key == token
    # A credential: kept by no browser or proxy, though the request had none.
    assert response["Cache-Control"] == "private, no-store"

    client = api()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    me = client.get("/api/me/")
    assert me.status_code == 200
    assert me.json()["id"] == str(student.pk)


def test_token_auth_needs_no_csrf_token(api, group, mentor):
    token = Token.objects.create(user=mentor)
    client = api(enforce_csrf=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = client.post(
        f"/api/conversations/{group.pk}/messages/",
        {"client_id": str(uuid.uuid4()), "content": "via token"},
        format="json",
    )
    assert response.status_code == 201


def test_wrong_password_gets_no_token(api, student):
    response = api().post(
        "/api/auth/token/",
        {"email": student.email, "password": "wrong"},
        format="json",
        REMOTE_ADDR="10.1.0.2",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert not Token.objects.filter(user=student).exists()


def test_token_requests_are_throttled_per_address(api, student):
    address = f"10.2.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    client = api()
    # A new account each time: one account is locked out sooner than the
    # throttle fires (tests/security/test_login_lockout.py).
    codes = [
        client.post(
            "/api/auth/token/",
            {"email": f"guess{n}@example.test", "password": "wrong"},
            format="json",
            REMOTE_ADDR=address,
        ).status_code
        for n in range(11)
    ]
    assert codes[:10] == [400] * 10
    assert codes[10] == 429
    last = client.post(
        "/api/auth/token/",
        {"email": student.email, "password": "pw-" + "x" * 12},
        format="json",
        REMOTE_ADDR=address,
    )
    assert last.status_code == 429
    assert last.json()["error"]["code"] == "rate_limited"
    assert last["Cache-Control"] == "private, no-store"
    assert int(last["Retry-After"]) >= 1


def test_session_post_without_csrf_token_is_refused(api, group, mentor):
    client = api(mentor, enforce_csrf=True)
    response = client.post(
        f"/api/conversations/{group.pk}/messages/",
        {"client_id": str(uuid.uuid4()), "content": "no csrf"},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert "CSRF" in response.json()["error"]["message"]
    assert not Message.objects.filter(content="no csrf").exists()


def test_session_post_with_csrf_token_is_accepted(api, group, mentor):
    client = api(mentor, enforce_csrf=True)
    # Any page that renders the token sets the cookie; reading it is what
    # the browser client does.
    from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret

    secret = _get_new_csrf_string()
    client.cookies["csrftoken"] = secret
    response = client.post(
        f"/api/conversations/{group.pk}/messages/",
        {"client_id": str(uuid.uuid4()), "content": "with csrf"},
        format="json",
        HTTP_X_CSRFTOKEN=_mask_cipher_secret(secret),
    )
    assert response.status_code == 201
    assert Message.objects.filter(content="with csrf").count() == 1


def test_session_reads_need_no_csrf_token(api, mentor):
    response = api(mentor, enforce_csrf=True).get("/api/conversations/")
    assert response.status_code == 200


def test_unknown_api_paths_answer_json_404(api, mentor):
    client = api(mentor)
    for url in ("/api/nothing-here/", "/api/conversations/not-a-uuid/"):
        response = client.get(url)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


def test_malformed_json_body_is_invalid(api, group, mentor):
    response = api(mentor).generic(
        "POST",
        f"/api/conversations/{group.pk}/messages/",
        "{not json",
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_token_is_issued_while_the_throttles_redis_is_away(api, student, monkeypatch):
    """The throttle's count is in Redis; a Redis that refuses connections
    (a real client on a port nothing listens on) lets the request through
    rather than answering 500. The login lockout still applies."""
    from config.cache import ProcessRedisCache
    from messaging.api.views import TokenThrottle
    from tests.servers import free_port

    away = ProcessRedisCache(
        f"redis://127.0.0.1:{free_port()}/0",
        {"OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1}},
    )
    monkeypatch.setattr(TokenThrottle, "cache", away)
    response = api().post(
        "/api/auth/token/",
        {"email": student.email, "password": "pw-" + "x" * 12},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["token"] == Token.objects.get(user=student).key
