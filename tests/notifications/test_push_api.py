"""The push subscription API (/api/push/…), the devices page and /sw.js."""

import base64
import os

import pytest
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import Role
from messaging.models import AuditLog
from notifications import vapid
from notifications.models import PushSubscription
from notifications.services import push as push_services
from notifications.vapid import b64url
from tests.notifications.helpers import browser_keys

pytestmark = [pytest.mark.django_db]

CHROME_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Safari/537.36"
)
LIST = "/api/push/subscriptions/"


def body(endpoint="https://push.example.com/send/abc123", **keys) -> dict:
    return {"endpoint": endpoint, "keys": {**browser_keys(), **keys}, "expirationTime": None}


@pytest.fixture(autouse=True)
def vapid_key(tmp_path, settings):
    settings.VAPID_PRIVATE_KEY = ""
    settings.VAPID_KEY_FILE = str(tmp_path / "vapid.pem")
    vapid.vapid.cache_clear()
    yield
    vapid.vapid.cache_clear()


@pytest.fixture
def api():
    def make(user=None):
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return make


def test_anonymous_requests_are_refused(api):
    for method, path in [
        ("get", LIST),
        ("post", LIST),
        ("get", "/api/push/vapid-public-key/"),
        ("delete", f"{LIST}00000000-0000-4000-8000-000000000000/"),
    ]:
        response = getattr(api(), method)(path, format="json")
        assert response.status_code == 401, (method, path)
        assert response.json()["error"]["code"] == "not_authenticated"


def test_vapid_public_key(api, student):
    response = api(student).get("/api/push/vapid-public-key/")
    assert response.status_code == 200
    key = response.json()["public_key"]
    assert key == vapid.public_key()
    assert len(base64.urlsafe_b64decode(key + "=")) == 65


def test_vapid_public_key_when_push_is_not_configured(api, student, settings):
    settings.VAPID_KEY_FILE = ""
    vapid.vapid.cache_clear()
    response = api(student).get("/api/push/vapid-public-key/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "push_unavailable"


def test_subscribe_list_resubscribe_and_remove(api, student):
    client = api(student)
    sent = body()
    created = client.post(LIST, sent, format="json", HTTP_USER_AGENT=CHROME_LINUX)
    assert created.status_code == 201, created.json()
    device = created.json()
    assert device["device_name"] == "Chrome on Linux"
    assert device["endpoint"] == sent["endpoint"]
    assert device["last_success_at"] is None

    # The same browser again (new keys): the same device, updated.
    again = client.post(LIST, body(), format="json", HTTP_USER_AGENT=CHROME_LINUX)
    assert again.status_code == 200 and again.json()["id"] == device["id"]
    second = client.post(LIST, body("https://push.example.com/send/other"), format="json")
    assert second.status_code == 201

    listed = client.get(LIST).json()["subscriptions"]
    assert {d["id"] for d in listed} == {device["id"], second.json()["id"]}

    assert client.delete(f"{LIST}{device['id']}/").status_code == 204
    assert client.delete(f"{LIST}{device['id']}/").status_code == 404
    assert [d["id"] for d in client.get(LIST).json()["subscriptions"]] == [second.json()["id"]]


def test_someone_elses_device_is_not_found(api, student, make_user):
    other = make_user(Role.STUDENT)
    mine = api(student).post(LIST, body(), format="json").json()
    response = api(other).delete(f"{LIST}{mine['id']}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert api(other).get(LIST).json()["subscriptions"] == []
    assert PushSubscription.objects.filter(pk=mine["id"], user=student).exists()


def test_a_browser_subscribed_again_by_someone_else_moves_to_them(api, student, make_user):
    other = make_user(Role.STUDENT)
    sent = body()
    first = api(student).post(LIST, sent, format="json").json()
    moved = api(other).post(LIST, body(sent["endpoint"]), format="json")
    assert moved.status_code == 200 and moved.json()["id"] == first["id"]
    assert api(student).get(LIST).json()["subscriptions"] == []


@pytest.mark.parametrize(
    "sent",
    [
        body("http://push.example.com/send/abc"),  # not https
        body("https://10.0.0.8/send/abc"),  # a private address
        body("https://169.254.169.254/latest"),  # link-local
        body("https://localhost/send"),
        body("https://localhost./send"),  # a name's final dot changes nothing
        body("https://127.0.0.1./send"),
        # Shorthand IPv4, which resolvers read as the loopback address.
        body("https://127.1/send"),
        body("https://0x7f.0.0.1/send"),
        body("https://2130706433/send"),
        body("https://user:pw@push.example.com/send"),
        body("ftp://push.example.com/send"),
        body("https://push.example.com/" + "a" * 1000),
        body(p256dh="!" * 87),
        body(p256dh="A" * 86),  # 64 bytes
        body(p256dh=b64url(b"\x04" + b"\x00" * 64)),  # not a point on the curve
        body(auth=b64url(os.urandom(15))),
        body(auth="not base64 at all!!!!!"),
        {"endpoint": "https://push.example.com/x"},
        {"keys": browser_keys()},
    ],
)
def test_invalid_subscriptions_are_refused(api, student, sent):
    response = api(student).post(LIST, sent, format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["error"]["code"] == "invalid"
    assert not PushSubscription.objects.exists()


def test_loopback_http_only_in_debug(api, student, settings):
    local = body("http://127.0.0.1:8999/push/1")
    assert api(student).post(LIST, local, format="json").status_code == 201
    settings.PUSH = {**settings.PUSH, "ALLOW_LOOPBACK_HTTP": False}
    refused = api(student).post(LIST, body("http://127.0.0.1:8999/push/2"), format="json")
    assert refused.status_code == 400


def test_session_writes_need_the_csrf_token(student):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(student)
    response = client.post(LIST, body(), format="json")
    assert response.status_code == 403


def test_service_worker_is_served_from_the_root(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/javascript"
    assert response["Service-Worker-Allowed"] == "/"
    assert "no-cache" in response["Cache-Control"]
    source = b"".join(response.streaming_content) if response.streaming else response.content
    assert b'addEventListener("push"' in source
    assert b'addEventListener("notificationclick"' in source


def test_devices_page_lists_only_your_devices(client, student, make_user):
    other = make_user(Role.STUDENT, name="Olive Other")
    api_student = APIClient()
    api_student.force_login(student)
    api_student.post(LIST, body(), format="json", HTTP_USER_AGENT=CHROME_LINUX)
    api_other = APIClient()
    api_other.force_login(other)
    api_other.post(
        LIST,
        body("https://push.example.com/send/olive"),
        format="json",
        HTTP_USER_AGENT="Firefox/1",
    )
    assert client.get("/settings/push/").status_code == 302  # to the login page
    client.force_login(student)
    page = client.get("/settings/push/").content.decode()
    assert "Chrome on Linux" in page
    assert "Enable push on this browser" in page
    assert "Firefox" not in page


# --- Subscriptions end with what made them ------------------------------------------


def signed_in(user) -> APIClient:
    """A browser signed in: a session of its own."""
    client = APIClient()
    client.force_login(user)
    return client


def test_a_subscription_ends_with_the_session_that_made_it(student):
    phone, laptop = signed_in(student), signed_in(student)
    assert (
        phone.post(LIST, body("https://push.example.com/send/phone"), format="json").status_code
        == 201
    )
    assert (
        laptop.post(LIST, body("https://push.example.com/send/laptop"), format="json").status_code
        == 201
    )
    phone.post("/logout/")
    assert set(PushSubscription.objects.values_list("endpoint", flat=True)) == {
        "https://push.example.com/send/laptop"
    }


def test_a_password_change_ends_every_subscription_but_the_changing_sessions(student):
    """A session stolen before the change may have subscribed a browser of
    its own: the change ends it with the session, and the token's ones with
    the token; the browser the change was made in keeps its own."""
    mine, stolen = signed_in(student), signed_in(student)
    token = APIClient()
    token.credentials(HTTP_AUTHORIZATION=f"Token {account_services.issue_api_token(user=student)}")
    for client, name in ((mine, "mine"), (stolen, "stolen"), (token, "token")):
        answer = client.post(LIST, body(f"https://push.example.com/send/{name}"), format="json")
        assert answer.status_code == 201
    account_services.change_password(
        user=student,
        password="a-new-password-1234",
        actor=student,
        via="profile",
        keep_session_key=mine.session.session_key,
    )
    assert set(PushSubscription.objects.values_list("endpoint", flat=True)) == {
        "https://push.example.com/send/mine"
    }
    assert AuditLog.objects.get(action="auth.password_changed").details["push_devices_ended"] == 2


def test_deactivation_ends_every_subscription(student):
    client = signed_in(student)
    client.post(LIST, body(), format="json")
    account_services.set_active(user=student, active=False)
    assert not PushSubscription.objects.exists()


def test_a_new_device_past_the_limit_replaces_the_oldest(api, student):
    client = api(student)
    limit = push_services.MAX_DEVICES_PER_PERSON
    for n in range(limit + 1):
        answer = client.post(LIST, body(f"https://push.example.com/send/{n}"), format="json")
        assert answer.status_code == 201
    endpoints = set(PushSubscription.objects.values_list("endpoint", flat=True))
    assert len(endpoints) == limit
    assert "https://push.example.com/send/0" not in endpoints
    assert f"https://push.example.com/send/{limit}" in endpoints
