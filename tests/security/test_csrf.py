"""Cross-site request forgery against the pages (the API's side is in
tests/api/test_contract.py): every page route refuses a signed-in POST
that lacks the CSRF token, before its view runs, with nothing changed; the
list of routes comes from the URL resolver, so a new page cannot be left
out unnoticed. And an API token is a credential only in the
``Authorization`` header: not in a query string, a form field or a cookie.

Each refusal is checked against a control: the same POST with the token
does what it says, so the refused body was a valid one and the 403 is the
CSRF check's alone."""

import uuid

import pytest
from django.contrib.auth.models import Group
from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.authtoken.models import Token

from accounts.models import Role
from messaging import services
from messaging.models import Conversation, Message
from messaging.moderation.services import cases
from messaging.moderation.services.staff_groups import ensure_staff_groups
from messaging.support import services as support_services
from messaging.support.models import SupportCategory, SupportRequest, SupportStatus
from notifications.models import ConversationMute

pytestmark = [pytest.mark.services, pytest.mark.django_db]

# Every named page route outside /api/ and /admin/. A POST without the
# CSRF token is refused by Django's middleware before the view runs,
# whatever the view does with POST (GET-only views included).
CSRF_CHECKED = {
    "add_members",
    "archive",
    "calendar-feed",
    "conversation",
    "e2e_devices",
    "file-preview",
    "inbox",
    "javascript-catalog",
    "login",
    "logout",
    "meeting_join",
    "members",
    "mute_conversation",
    "new_direct",
    "new_group",
    "new_support",
    "notification_settings",
    "password_change",
    "profile",
    "push_settings",
    "put_away",
    "reminders",
    "remove_member",
    "rename",
    "saved",
    "scheduled",
    "search",
    "service_worker",
    "support",
    "support_assign",
    "support_bulk",
    "support_new",
    "support_priority",
    "support_rating",
    "support_status",
}
# Exempt on purpose, with the reason.
CSRF_EXEMPT = {
    # RFC 8058 one-click unsubscribe: the mail client POSTs without cookies;
    # the signed token in the URL is the only credential and it can only
    # switch email off.
    "notifications_unsubscribe",
    # Incoming webhooks: other systems POST without cookies; the secret
    # token in the URL is the only credential and it can only post into
    # its one conversation, as its bot (docs/integrations/webhooks-and-bots.md).
    "incoming-webhook",
}
CSRF_PAGE_TITLE = b"The form expired"


def page_routes() -> dict[str, URLPattern]:
    """Every route outside /api/ and /admin/, by name."""
    routes: dict[str, URLPattern] = {}

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                if str(pattern.pattern) in ("api/", "admin/"):
                    continue
                walk(pattern.url_patterns)
            elif isinstance(pattern, URLPattern):
                assert pattern.name, f"unnamed route {pattern.pattern}"
                routes[pattern.name] = pattern

    walk(get_resolver().url_patterns)
    return routes


def admin_routes() -> list[URLPattern]:
    admin = next(
        p
        for p in get_resolver().url_patterns
        if isinstance(p, URLResolver) and str(p.pattern) == "admin/"
    )
    found = []

    def walk(patterns):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns)
            else:
                found.append(pattern)

    walk(admin.url_patterns)
    return found


def url_of(name: str, pattern: URLPattern, ids: dict[str, uuid.UUID]) -> str:
    """``name``'s URL with an example value for each of its parameters: the
    id of a real object where the test has one."""
    kwargs = {}
    for key, converter in pattern.pattern.converters.items():
        kind = type(converter).__name__
        if kind == "UUIDConverter":
            kwargs[key] = ids.get(key, uuid.uuid4())
        elif kind == "IntConverter":
            kwargs[key] = 1
        else:
            kwargs[key] = "x"
    return reverse(name, kwargs=kwargs)


def signed_in(user) -> Client:
    """A browser's session, as a forged cross-site form carries it: the
    session cookie, and no CSRF token."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def with_token(client: Client, data: dict) -> dict:
    """``data`` with the CSRF token a page's form carries (and its cookie)."""
    secret = _get_new_csrf_string()
    client.cookies["csrftoken"] = secret
    return {**data, "csrfmiddlewaretoken": _mask_cipher_secret(secret)}


def refused(response) -> bool:
    return response.status_code == 403 and CSRF_PAGE_TITLE in response.content


@pytest.fixture
def world(make_user, assigned):
    """A mentor's group with a student, a support request of the student's,
    an admin who works the queue and moderates, and a reported message."""
    mentor, student = assigned
    ensure_staff_groups()
    support_services.ensure_default_categories()
    admin = make_user(Role.ADMIN, is_staff=True)
    admin.groups.add(Group.objects.get(name="Moderators"))
    group = services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Study group"
    )
    message = services.send_message(
        sender=student, conversation_id=group.pk, content="a rude line", client_id=uuid.uuid4()
    ).message
    case = cases.open_case(message, reports=1)
    request = support_services.open_request(
        requester=student,
        category_id=SupportCategory.objects.order_by("name").first().pk,
        subject="Locked out",
        body="I cannot open the course.",
        client_id=uuid.uuid4(),
    )
    return {
        "mentor": mentor,
        "student": student,
        "admin": admin,
        "group": group,
        "message": message,
        "case": case,
        "request": request,
        "ids": {
            "conversation_id": group.pk,
            "request_id": request.pk,
            "attachment_id": uuid.uuid4(),
        },
    }


def test_every_page_route_is_listed():
    """A new page route must be placed in CSRF_CHECKED or, with a reason,
    CSRF_EXEMPT; and the lists hold nothing that is not a route."""
    routes = page_routes()
    assert not CSRF_CHECKED & CSRF_EXEMPT
    assert set(routes) == CSRF_CHECKED | CSRF_EXEMPT, (
        f"unlisted: {sorted(set(routes) - CSRF_CHECKED - CSRF_EXEMPT)}, "
        f"gone: {sorted((CSRF_CHECKED | CSRF_EXEMPT) - set(routes))}"
    )
    for name in CSRF_CHECKED:
        assert not getattr(routes[name].callback, "csrf_exempt", False), name
    for name in CSRF_EXEMPT:
        assert getattr(routes[name].callback, "csrf_exempt", False), name


@pytest.mark.parametrize("who", ["mentor", "admin"])
def test_every_page_refuses_a_session_post_without_the_token(world, who):
    client = signed_in(world[who])
    routes = page_routes()
    conversations = Conversation.objects.count()
    not_refused = {}
    for name in sorted(CSRF_CHECKED):
        response = client.post(url_of(name, routes[name], world["ids"]), {"title": "forged"})
        if not refused(response):
            not_refused[name] = response.status_code
    assert not_refused == {}
    # Nothing any of them could do happened.
    assert Conversation.objects.count() == conversations
    world["group"].refresh_from_db()
    assert world["group"].title == "Study group"


def test_the_exempt_route_is_the_one_click_unsubscribe_only(world):
    """It answers a POST without a token (here, a bad signature: 400); the
    page routes that are not exempt all answered 403 above."""
    client = signed_in(world["student"])
    response = client.post(reverse("notifications_unsubscribe", args=["not-signed"]))
    assert response.status_code == 400


def test_the_admin_site_checks_csrf_on_every_route(world):
    """No admin route is exempt (a moderation action without the token is
    among the forms below)."""
    routes = admin_routes()
    assert len(routes) > 50
    for pattern in routes:
        assert not getattr(pattern.callback, "csrf_exempt", False), pattern


# --- What a refused POST would have done, and did not -----------------------
#
# Each: (who posts, the route and its arguments, the form, a reading of the
# state the form changes). The refusal leaves the reading as it was; the
# control with the token changes it.


def _title(world):
    return Conversation.objects.get(pk=world["group"].pk).title


def _archived(world):
    return Conversation.objects.get(pk=world["group"].pk).archived_at is not None


def _muted(world):
    return ConversationMute.objects.filter(user=world["student"]).count()


def _display_name(world):
    return type(world["student"]).objects.get(pk=world["student"].pk).display_name


def _password_works(world):
    return type(world["student"]).objects.get(pk=world["student"].pk).check_password("new-" * 5)


def _conversations(world):
    return Conversation.objects.count()


def _status(world):
    return SupportRequest.objects.get(pk=world["request"].pk).status


def _hidden(world):
    return Message.objects.get(pk=world["message"].pk).hidden_at is not None


FORMS = {
    "rename": ("mentor", "rename", "group", {"title": "Forged title"}, _title),
    "archive": ("mentor", "archive", "group", {"archived": "1"}, _archived),
    "mute": ("student", "mute_conversation", "group", {"duration": "forever"}, _muted),
    "profile": ("student", "profile", None, {"display_name": "Forged Name"}, _display_name),
    "password": (
        "student",
        "password_change",
        None,
        {
            "old_password": "pw-" + "x" * 12,
            "new_password1": "new-" * 5,
            "new_password2": "new-" * 5,
        },
        _password_works,
    ),
    "new group": (
        "mentor",
        "new_group",
        None,
        {"title": "Forged group", "user_ids": "<student>"},
        _conversations,
    ),
    "support status": (
        "admin",
        "support_status",
        "request",
        {"status": SupportStatus.RESOLVED},
        _status,
    ),
    "moderation: hide": (
        "admin",
        "admin:messaging_moderationcase_changelist",
        None,
        {
            "action": "hide",
            "_selected_action": "<case>",
            "apply": "1",
            "note": "forged",
        },
        _hidden,
    ),
}


@pytest.mark.parametrize("form", FORMS)
def test_a_forged_form_changes_nothing_and_the_real_one_works(world, form):
    who, route, target, data, reading = FORMS[form]
    placeholders = {"<student>": str(world["student"].pk), "<case>": str(world["case"].pk)}
    data = {key: placeholders.get(value, value) for key, value in data.items()}
    args = {"group": [world["group"].pk], "request": [world["request"].pk], None: []}[target]
    url = reverse(route, args=args)
    client = signed_in(world[who])
    before = reading(world)

    response = client.post(url, data)
    assert refused(response), response.status_code
    assert reading(world) == before
    # A cross-site GET (an image, a link) carries the session and no token:
    # the same fields in a query string change nothing either.
    client.get(url, data)
    assert reading(world) == before

    answered = client.post(url, with_token(client, data))
    assert answered.status_code in (200, 302), answered.status_code
    assert reading(world) != before


def test_logout_without_the_token_or_by_get_keeps_the_session(world):
    client = signed_in(world["student"])
    assert refused(client.post(reverse("logout")))
    assert client.get(reverse("inbox")).status_code == 200
    assert client.get(reverse("logout")).status_code == 405
    assert client.get(reverse("inbox")).status_code == 200
    client.post(reverse("logout"), with_token(client, {}))
    assert client.get(reverse("inbox")).status_code == 302


# --- API tokens travel in the Authorization header only ----------------------


@pytest.fixture
def token(world):
    return Token.objects.create(user=world["student"]).key


@pytest.mark.parametrize("field", ["token", "auth_token", "access_token", "key", "api_key"])
def test_an_api_token_in_the_query_string_is_not_a_credential(world, token, field):
    client = Client(enforce_csrf_checks=True)
    me = client.get(f"/api/me/?{field}={token}")
    assert me.status_code == 401
    url = f"/api/conversations/{world['group'].pk}/messages/?{field}={token}"
    sent = client.post(
        url,
        {"client_id": str(uuid.uuid4()), "content": "forged"},
        content_type="application/json",
    )
    assert sent.status_code == 401
    # A page does not sign anyone in from a query string either.
    page = client.get(f"/?{field}={token}")
    assert page.status_code == 302 and "/login/" in page["Location"]
    assert not Message.objects.filter(content="forged").exists()


def test_an_api_token_in_a_cross_site_form_is_not_a_credential(world, token):
    """A cookie-less form POST from another site, the token in its fields."""
    client = Client(enforce_csrf_checks=True)
    fields = {
        "token": token,
        "auth_token": token,
        "Authorization": f"Token {token}",
        "client_id": str(uuid.uuid4()),
        "content": "forged",
    }
    for path in (
        f"/api/conversations/{world['group'].pk}/messages/",
        f"/api/conversations/{world['group'].pk}/archive/",
    ):
        response = client.post(path, fields, HTTP_ORIGIN="https://evil.example")
        assert response.status_code == 401, path
    assert not Message.objects.filter(content="forged").exists()
    assert not _archived(world)


def test_an_api_token_in_a_cookie_is_not_a_credential(world, token):
    client = Client(enforce_csrf_checks=True)
    for name in ("token", "auth_token", "Authorization"):
        client.cookies[name] = token
    assert client.get("/api/me/").status_code == 401
