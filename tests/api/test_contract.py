"""Every answer under /api/ is JSON in the one error shape, whatever a client
sends: a body nested too deeply, too large or with too many fields, an
unsupported media type or method, a malformed id with any method, a missing
CSRF token. And the request (or the connection, against a real server)
stays usable afterwards."""

import http.client
import json
import uuid

import pytest
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import Role
from messaging.models import Message, UserBlock

pytestmark = [pytest.mark.services, pytest.mark.django_db]

DEEP = "[" * 60_000


def error_of(response) -> dict:
    """The ``error`` object of a JSON error answer (and that it is one)."""
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message"} <= set(body["error"]), body
    return body["error"]


def messages_url(conversation) -> str:
    return f"/api/conversations/{conversation.pk}/messages/"


@pytest.fixture
def token_client(mentor):
    """A client authenticated by token, CSRF checks on (tokens need none)."""
    client = APIClient(enforce_csrf_checks=True)
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=mentor).key}")
    return client


# --- bodies -------------------------------------------------------------------


def test_deeply_nested_json_body_is_invalid_and_the_next_request_works(api, group, mentor):
    client = api(mentor)
    response = client.generic("POST", messages_url(group), DEEP, content_type="application/json")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert "nested" in error["message"]
    sent = client.post(
        messages_url(group), {"client_id": str(uuid.uuid4()), "content": "after"}, format="json"
    )
    assert sent.status_code == 201


@pytest.mark.parametrize("body", [DEEP, '{"content": ' + DEEP, "[" * 5_000 + "]" * 5_000])
def test_nested_json_is_refused_on_every_body_taking_endpoint(api, group, mentor, body):
    client = api(mentor)
    for method, url in (
        ("POST", "/api/conversations/"),
        ("PATCH", f"/api/conversations/{group.pk}/"),
        ("POST", f"/api/conversations/{group.pk}/read/"),
        ("POST", "/api/auth/token/"),
    ):
        response = client.generic(method, url, body, content_type="application/json")
        assert response.status_code == 400, (method, url)
        assert error_of(response)["code"] == "invalid"


@pytest.mark.parametrize("number", ["1e999", "-1e999", "NaN", "Infinity", "1" * 4_301])
def test_what_the_socket_calls_bad_json_is_invalid_here_and_nothing_is_stored(
    api, group, mentor, number
):
    """The REST API reads a body as the socket reads a frame: a number that
    is no JSON number is malformed JSON, not a stored message."""
    client = api(mentor)
    body = f'{{"client_id": "{uuid.uuid4()}", "content": "x", "n": {number}}}'
    response = client.generic("POST", messages_url(group), body, content_type="application/json")
    assert response.status_code == 400, number
    assert error_of(response)["code"] == "invalid"
    assert not Message.objects.filter(conversation=group, content="x").exists()
    # A large finite number is a number: the body is read (its stray field ignored).
    fine = f'{{"client_id": "{uuid.uuid4()}", "content": "x", "n": 1e300}}'
    sent = client.generic("POST", messages_url(group), fine, content_type="application/json")
    assert sent.status_code == 201


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=10_000)
def test_json_body_over_the_request_size_limit_is_413(api, group, mentor):
    body = json.dumps({"client_id": str(uuid.uuid4()), "content": "x" * 10_001})
    response = api(mentor).generic(
        "POST", messages_url(group), body, content_type="application/json"
    )
    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "too_large"
    assert "10000" in error["message"]
    assert not Message.objects.filter(conversation=group).exists()


@pytest.fixture
def csrf_session(mentor):
    """A session client that sends its CSRF token, as the browser does."""
    from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret

    client = APIClient(enforce_csrf_checks=True)
    client.force_login(mentor)
    secret = _get_new_csrf_string()
    client.cookies["csrftoken"] = secret
    client.defaults["HTTP_X_CSRFTOKEN"] = _mask_cipher_secret(secret)
    return client


def _many_fields() -> dict:
    fields = {f"f{n}": "x" for n in range(1_001)}
    fields.update({"client_id": str(uuid.uuid4()), "content": "not json"})
    return fields


def _form(fields: dict) -> str:
    return "&".join(f"{key}={value}" for key, value in fields.items())


@pytest.mark.parametrize("auth", ["token", "session"])
@pytest.mark.parametrize(
    "content_type, body",
    [
        (
            "multipart/form-data; boundary=b",
            '--b\r\nContent-Disposition: form-data; name="content"\r\n\r\nnot json\r\n--b--\r\n',
        ),
        ("multipart/form-data; boundary=b", "--b\r\nnot a part"),
        ("application/x-www-form-urlencoded", _form({"content": "not json"})),
        # Over Django's 1,000-field limit for forms: never parsed, so never
        # its HTML 400.
        ("application/x-www-form-urlencoded", _form(_many_fields())),
        ("text/plain", "not json"),
    ],
)
def test_bodies_other_than_json_are_415(
    token_client, csrf_session, group, auth, content_type, body
):
    client = token_client if auth == "token" else csrf_session
    response = client.generic("POST", messages_url(group), body, content_type=content_type)
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"
    assert not Message.objects.filter(conversation=group).exists()
    # The same client goes on working.
    sent = client.post(
        messages_url(group), {"client_id": str(uuid.uuid4()), "content": "ok"}, format="json"
    )
    assert sent.status_code == 201


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/notifications/read-all/"),
        ("post", "/api/calendar/feed/rotate/"),
        ("put", "/api/blocks/{stranger}/"),
    ],
)
def test_an_endpoint_that_takes_no_body_refuses_one_it_cannot_read(
    token_client, mentor, make_user, method, path
):
    """docs/api.md: a body that is not JSON is 415, on every endpoint: DRF
    looks at the type only where a view reads the body."""
    url = path.format(stranger=make_user(Role.STUDENT).pk)
    for content_type, body in (
        ("application/x-www-form-urlencoded", "x=1"),
        ("text/plain", "garbage"),
    ):
        response = token_client.generic(method.upper(), url, body, content_type=content_type)
        assert response.status_code == 415, (url, content_type, response.content)
        assert error_of(response)["code"] == "unsupported_media_type"
    assert not UserBlock.objects.filter(blocker=mentor).exists()
    # With no body, or a JSON one, it is done.
    assert getattr(token_client, method)(url).status_code in (200, 201)
    assert getattr(token_client, method)(url, {}, format="json").status_code == 200


@pytest.mark.parametrize("auth", ["token", "session"])
def test_multipart_body_of_too_many_fields_is_415(token_client, csrf_session, group, auth):
    client = token_client if auth == "token" else csrf_session
    response = client.post(messages_url(group), _many_fields(), format="multipart")
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    ("method", "path"), [("get", "/api/conversations/"), ("get", "/api/me/"), ("post", "/api/me/")]
)
def test_query_of_too_many_parameters_is_invalid(token_client, method, path):
    """Django's 1,000-field limit applies to query strings too, on every
    endpoint, whether or not it reads a parameter."""
    query = _form({f"f{n}": "x" for n in range(1_001)})
    response = getattr(token_client, method)(f"{path}?{query}")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert "1000" in error["message"]
    assert token_client.get("/api/conversations/").status_code == 200


# --- methods, ids, negotiation -------------------------------------------------


def test_unsupported_method_is_405_with_allow(api, mentor):
    response = api(mentor).put("/api/me/", {}, format="json")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"
    assert "GET" in response["Allow"]


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "PUT", "DELETE"])
@pytest.mark.parametrize(
    "path",
    [
        "/api/messages/not-a-uuid/",
        "/api/conversations/null,null/archive/",
        "/api/conversations/{group}/participants/nope/",
        "/api/conversations/{GROUP}/",
        "/api/no-such-endpoint/",
    ],
)
def test_malformed_ids_are_json_404_with_any_method_and_token(token_client, group, method, path):
    url = path.format(group=group.pk, GROUP=str(group.pk).upper())
    response = token_client.generic(method, url, "{}", content_type="application/json")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_malformed_id_with_a_session_and_no_csrf_token_is_json_404(api, mentor):
    response = api(mentor, enforce_csrf=True).post("/api/messages/not-a-uuid/")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def api_patterns() -> list[URLPattern]:
    """Every route under /api/, each app's (messaging's catch-all last)."""
    found: list[URLPattern] = []

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                found.append(pattern)

    walk(
        p
        for p in get_resolver().url_patterns
        if isinstance(p, URLResolver) and str(p.pattern) == "api/"
    )
    return found


WRITE_METHODS = ("post", "put", "patch", "delete")
# Writes that take no session, so have no CSRF token to check: the token
# endpoint authenticates by the email and password in its JSON body only.
WRITES_WITHOUT_SESSION = {"api-token"}


def api_writes() -> list[tuple[str, URLPattern, str]]:
    """(route name, pattern, method) for every write method of every API
    view, from the resolver: a new endpoint joins the sweep by itself."""
    writes = []
    for pattern in api_patterns():
        view_class = getattr(pattern.callback, "cls", None)
        if view_class is None:
            continue  # the catch-all 404, which changes nothing
        for method in WRITE_METHODS:
            if hasattr(view_class, method):
                writes.append((pattern.name, pattern, method.upper()))
    return writes


def api_url(pattern: URLPattern, ids: dict) -> str:
    kwargs = {}
    for key, converter in pattern.pattern.converters.items():
        if type(converter).__name__ == "IntConverter":
            kwargs[key] = 1
        else:
            kwargs[key] = ids.get(key, uuid.uuid4())
    return reverse(pattern.name, kwargs=kwargs)


def test_the_write_sweep_covers_every_write_endpoint():
    writes = api_writes()
    names = {name for name, _, _ in writes}
    # Some of what the sweep below must reach, from every app.
    assert {
        "api-messages",
        "api-message",
        "api-conversation-archive",
        "api-attachments-upload",
        "api-support-request-status",
        "api-message-report",
        "api-block",
        "api-notification-preferences",
        "api-push-subscriptions",
    } <= names
    assert len(writes) >= 30
    assert names >= WRITES_WITHOUT_SESSION
    for name, pattern, _ in writes:
        if name in WRITES_WITHOUT_SESSION:
            assert pattern.callback.cls.authentication_classes == [], name


def _state() -> dict:
    """What an API write could change, as counts and the group's row."""
    from messaging.files.models import Attachment
    from messaging.models import Conversation, ConversationParticipant, Report, UserBlock
    from messaging.support.models import SupportRequest
    from messaging.threads.models import Pin, Reaction, SavedMessage, ThreadFollow
    from notifications.models import ConversationMute, NotificationPreference, PushSubscription

    models = (
        Message,
        Conversation,
        ConversationParticipant,
        Attachment,
        Report,
        UserBlock,
        SupportRequest,
        Pin,
        Reaction,
        SavedMessage,
        ThreadFollow,
        ConversationMute,
        NotificationPreference,
        PushSubscription,
    )
    counts = {model.__name__: model.objects.count() for model in models}
    counts["conversations"] = list(
        Conversation.objects.order_by("pk").values_list("title", "archived_at")
    )
    counts["messages"] = list(
        Message.objects.order_by("pk").values_list("content", "deleted_at", "edited_at")
    )
    return counts


def test_every_session_write_without_csrf_token_is_json_403(api, group, mentor, student, send):
    """Every write method of every /api/ view, with a session cookie and no
    X-CSRFToken, is refused in the API's shape and changes nothing; ids in
    the path are real where the test has the object (the group, a message,
    the student), so the refusal is not a 404 in disguise."""
    message = send(mentor, group, "stays as it is")
    ids = {"conversation_id": group.pk, "message_id": message.pk, "user_id": student.pk}
    client = api(mentor, enforce_csrf=True)
    before = _state()
    answered = {}
    for name, pattern, method in api_writes():
        if name in WRITES_WITHOUT_SESSION:
            continue
        response = client.generic(
            method,
            api_url(pattern, ids),
            json.dumps({"content": "forged", "title": "forged", "client_id": str(uuid.uuid4())}),
            content_type="application/json",
            HTTP_ACCEPT="text/html",
        )
        if response.status_code == 403 and error_of(response)["code"] == "forbidden":
            assert "CSRF" in error_of(response)["message"]
        else:
            answered[f"{method} {name}"] = (response.status_code, response.content[:200])
    assert answered == {}
    assert _state() == before


@pytest.mark.parametrize("accept", ["text/html", "application/yaml", "application/xml"])
def test_answers_are_json_whatever_the_client_accepts(api, mentor, accept):
    client = api(mentor)
    for response in (
        client.get("/api/conversations/?type=channel", HTTP_ACCEPT=accept),
        api().get("/api/me/", HTTP_ACCEPT=accept),
        client.post("/api/schema/", HTTP_ACCEPT=accept),
        client.generic(
            "POST", "/api/conversations/", "{", content_type="application/json", HTTP_ACCEPT=accept
        ),
    ):
        # The schema's own view negotiates (YAML or JSON): 406, in JSON.
        assert response.status_code in (400, 401, 405, 406), response.status_code
        error_of(response)
    me = client.get("/api/me/", HTTP_ACCEPT=accept)
    assert me.status_code == 200
    assert me["Content-Type"] == "application/json"
    assert me.json()["id"] == str(mentor.pk)


def test_every_api_route_is_csrf_exempt():
    """Django's CSRF middleware must never answer under /api/ (its page is
    HTML): DRF views check the token themselves, for session callers only,
    and answer in the API's shape; the catch-all changes nothing."""
    # Each app includes its own routes under api/ (messaging's catch-all last).
    api_resolvers = [
        p
        for p in get_resolver().url_patterns
        if isinstance(p, URLResolver) and str(p.pattern) == "api/"
    ]

    def views(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from views(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                yield pattern.callback

    callbacks = [c for resolver in api_resolvers for c in views(resolver.url_patterns)]
    assert len(api_resolvers) >= 2 and len(callbacks) > 10
    for callback in callbacks:
        assert getattr(callback, "csrf_exempt", False), callback


def test_unexpected_error_is_json_500(api, mentor, monkeypatch):
    from messaging import selectors

    def broken(user):
        raise RuntimeError("boom")

    monkeypatch.setattr(selectors, "unread_total", broken)
    client = api(mentor)
    client.raise_request_exception = False
    response = client.get("/api/me/")
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "internal"
    assert "boom" not in error["message"]


# --- a real server ------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_deeply_nested_body_against_a_real_server(asgi_server, make_user):
    """60,000 ``[`` in a body: 400 in the API's shape (not 500), and the same
    keep-alive connection serves the next request."""
    from accounts.models import Role

    user = make_user(Role.STUDENT)
    token = account_services.issue_api_token(user=user)
    server = asgi_server()
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    headers = {"Authorization": f"Token {token}", "Content-Type": "application/json"}
    try:
        for url in ("/api/conversations/", f"/api/messages/{uuid.uuid4()}/", "/api/auth/token/"):
            connection.request("POST" if "messages" not in url else "PATCH", url, DEEP, headers)
            response = connection.getresponse()
            body = json.loads(response.read())
            assert response.status == 400, (url, body)
            assert response.getheader("Content-Type").startswith("application/json")
            assert body["error"]["code"] == "invalid"
        connection.request("GET", "/api/me/", headers=headers)
        response = connection.getresponse()
        assert response.status == 200
        assert json.loads(response.read())["id"] == str(user.pk)
        connection.request("POST", "/api/messages/not-a-uuid/", "{}", headers)
        response = connection.getresponse()
        assert response.status == 404
        assert json.loads(response.read())["error"]["code"] == "not_found"
    finally:
        connection.close()
    assert "RecursionError" not in server.log()


@pytest.mark.parametrize(
    "path", ["/api/conversations/x%0A/participants/", "/api/%0A", "/api/a%0Ab/"]
)
def test_paths_with_a_newline_are_json_404(token_client, path):
    response = token_client.post(path, {}, format="json")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_a_host_outside_allowed_hosts_is_refused_in_the_apis_shape(client, settings):
    """Refused before any view (Django's DisallowedHost): under /api/ the
    answer is JSON like every API error; elsewhere Django's 400 page."""
    settings.DEBUG = False
    api = client.get("/api/me/", HTTP_HOST="evil.example")
    assert api.status_code == 400
    assert api.json()["error"]["code"] == "invalid"
    page = client.get("/login/", HTTP_HOST="evil.example")
    assert page.status_code == 400
    assert page["Content-Type"].startswith("text/html")
