"""Password guessing is locked out per account and per address on the login
page, the admin's login page and the API token endpoint (django-axes): the
right password is refused while locked, the person is told so plainly, the
lockout is audited once, and forwarded headers count only from configured
proxies (``PARLEY_TRUSTED_PROXIES``)."""

import http.cookiejar
import itertools
import json
import re
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import timedelta
from email.message import Message

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import Role, User
from messaging.models import AuditLog

pytestmark = pytest.mark.django_db

PASSWORD = "pw-" + "x" * 12
_addresses = (f"198.51.100.{n}" for n in itertools.count(1))


def fresh_address() -> str:
    return next(_addresses)


def account_limit() -> int:
    return settings.AXES_FAILURE_LIMIT


def address_limit() -> int:
    return settings.PARLEY_LOGIN_ADDRESS_FAILURE_LIMIT


def lockout_minutes() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)


def page_login(client, email, password, *, path="/login/", **extra):
    return client.post(path, {"username": email, "password": password}, **extra)


def token_request(email, password, **extra):
    return APIClient().post(
        "/api/auth/token/", {"email": email, "password": password}, format="json", **extra
    )


def signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def assert_locked_page(response):
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed sign-in attempts" in page
    assert f"{lockout_minutes()} minutes" in page
    assert set(response["Cache-Control"].split(", ")) == {"private", "no-store"}


def assert_locked_api(response):
    assert response.status_code == 429
    assert response.json() == {
        "error": {
            "code": "locked_out",
            "message": "Too many failed sign-in attempts for this account or from this "
            f"address. Try again in {lockout_minutes()} minutes.",
        }
    }
    assert response["Retry-After"] == str(lockout_minutes() * 60)
    # As the token's other answers (api.md): never kept by a browser or proxy.
    assert set(response["Cache-Control"].split(", ")) == {"private", "no-store"}
    assert "token" not in response.json()


# --- Thirty wrong passwords, then the right one ---------------------------------------


def test_the_login_page_refuses_the_right_password_after_thirty_wrong_ones(student):
    client = Client(REMOTE_ADDR=fresh_address())
    for _ in range(30):
        response = page_login(client, student.email, "wrong")
        assert response.status_code in (200, 429)
        assert not signed_in(client)
    response = page_login(client, student.email, PASSWORD)
    assert_locked_page(response)
    assert not signed_in(client)
    assert client.get(reverse("inbox"))["Location"].startswith(reverse("login"))


def test_the_admin_login_refuses_the_right_password_after_thirty_wrong_ones(make_user):
    admin = make_user(Role.ADMIN, is_staff=True)
    client = Client(REMOTE_ADDR=fresh_address())
    for _ in range(30):
        page_login(client, admin.email, "wrong", path="/admin/login/")
        assert not signed_in(client)
    response = page_login(client, admin.email, PASSWORD, path="/admin/login/")
    assert_locked_page(response)
    assert not signed_in(client)
    assert client.get("/admin/").status_code == 302


def test_the_token_endpoint_refuses_the_right_password_after_thirty_wrong_ones(student):
    # From thirty addresses: the per-address throttle never fires, the
    # per-account lockout does.
    for _ in range(30):
        response = token_request(student.email, "wrong", REMOTE_ADDR=fresh_address())
        assert response.status_code in (400, 429)
    response = token_request(student.email, PASSWORD, REMOTE_ADDR=fresh_address())
    assert_locked_api(response)


def test_the_lock_starts_at_the_limit_and_letter_case_does_not_reset_it(student):
    client = Client(REMOTE_ADDR=fresh_address())
    for attempt in range(account_limit() - 1):
        spelled = student.email.upper() if attempt % 2 else student.email
        response = page_login(client, spelled, "wrong")
        assert response.status_code == 200
        assert "didn't match" in response.content.decode()
    # The failure that reaches the limit already says so.
    assert_locked_page(page_login(client, student.email.title(), "wrong"))


def test_the_page_tells_the_person_plainly(student):
    client = Client(REMOTE_ADDR=fresh_address())
    for _ in range(account_limit()):
        page_login(client, student.email, "wrong")
    response = page_login(client, student.email, PASSWORD)
    assert_locked_page(response)
    page = response.content.decode()
    assert "for this account or from this address" in page
    assert 'href="/login/"' in page


# --- Per account, per address, and what counts as an address ----------------------------


def test_an_account_is_locked_whatever_the_address(student, mentor):
    for _ in range(account_limit()):
        page_login(Client(REMOTE_ADDR=fresh_address()), student.email, "wrong")
    assert_locked_page(page_login(Client(REMOTE_ADDR=fresh_address()), student.email, PASSWORD))
    # Another person is not affected.
    client = Client(REMOTE_ADDR=fresh_address())
    assert page_login(client, mentor.email, PASSWORD).status_code == 302
    assert signed_in(client)


def test_an_address_is_locked_whatever_the_account(student, mentor):
    address = fresh_address()
    for n in range(address_limit()):
        page_login(Client(REMOTE_ADDR=address), f"nobody{n}@example.test", "wrong")
    assert_locked_page(page_login(Client(REMOTE_ADDR=address), student.email, PASSWORD))
    # Another address is not affected.
    client = Client(REMOTE_ADDR=fresh_address())
    assert page_login(client, mentor.email, PASSWORD).status_code == 302


def test_a_few_typos_behind_one_address_lock_nobody_else_out(make_user):
    """A classroom behind one NAT address: each person's own typos count
    against their account; the address is locked only at its own, higher
    limit."""
    assert address_limit() > account_limit()
    address = fresh_address()
    people = [make_user(Role.STUDENT) for _ in range(3)]
    for person in people:
        for _ in range(2):
            page_login(Client(REMOTE_ADDR=address), person.email, "wrong")
    for person in people:
        client = Client(REMOTE_ADDR=address)
        assert page_login(client, person.email, PASSWORD).status_code == 302
        assert signed_in(client)


def test_an_ipv6_client_counts_by_its_64_whatever_address_it_takes(student, mentor):
    """Within its /64 a machine may take a new source address for every
    request: the lockout and the token throttle count the network. Another
    /64 is someone else."""
    network = f"2001:db8:{uuid.uuid4().int % 0xFFFF:x}:1"
    for n in range(address_limit()):
        page_login(Client(REMOTE_ADDR=f"{network}::{n + 1:x}"), f"nobody{n}@example.test", "wrong")
    assert_locked_page(
        page_login(Client(REMOTE_ADDR=f"{network}:ffff:ffff:ffff:ffff"), student.email, PASSWORD)
    )
    elsewhere = Client(REMOTE_ADDR=f"{network.rsplit(':', 1)[0]}:2::1")  # the next /64
    assert page_login(elsewhere, mentor.email, PASSWORD).status_code == 302

    token_network = f"2001:db8:{uuid.uuid4().int % 0xFFFF:x}:2"
    codes = [
        token_request(
            f"nobody{n}@example.test", "wrong", REMOTE_ADDR=f"{token_network}::{n + 1:x}"
        ).status_code
        for n in range(11)
    ]
    assert codes == [400] * 10 + [429]


def test_rotating_x_forwarded_for_does_not_reset_the_count_without_a_proxy(student):
    address = fresh_address()
    for n in range(address_limit()):
        page_login(
            Client(REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}"),
            f"nobody{n}@example.test",
            "wrong",
        )
    client = Client(REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR="203.0.113.250")
    assert_locked_page(page_login(client, student.email, PASSWORD))
    assert not signed_in(client)


def test_rotating_x_forwarded_for_does_not_escape_the_token_throttle(student):
    address = fresh_address()
    codes = [
        token_request(
            f"nobody{n}@example.test",
            "wrong",
            REMOTE_ADDR=address,
            HTTP_X_FORWARDED_FOR=f"203.0.113.{n}",
        ).status_code
        for n in range(11)
    ]
    assert codes[:10] == [400] * 10
    assert codes[10] == 429
    last = token_request(
        student.email, PASSWORD, REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR="203.0.113.99"
    )
    assert last.status_code == 429
    assert last.json()["error"]["code"] == "rate_limited"


def test_behind_a_configured_proxy_each_client_address_counts_on_its_own(settings, student):
    settings.PARLEY_TRUSTED_PROXIES = 1
    proxy = fresh_address()
    attacker, bystander = "203.0.113.7", "203.0.113.8"
    for n in range(address_limit()):
        page_login(
            # A client-supplied first entry is ignored: the proxy appended
            # the address it saw last.
            Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}, {attacker}"),
            f"nobody{n}@example.test",
            "wrong",
        )
    locked = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=attacker)
    assert_locked_page(page_login(locked, student.email, PASSWORD))
    fine = Client(REMOTE_ADDR=proxy, HTTP_X_FORWARDED_FOR=bystander)
    assert page_login(fine, student.email, PASSWORD).status_code == 302


# --- Audit, cool-off --------------------------------------------------------------------------


def test_each_lockout_is_audited_once(student):
    address = fresh_address()
    for _ in range(account_limit() + 10):
        page_login(Client(REMOTE_ADDR=address), student.email, "wrong")
    token_request(student.email, PASSWORD, REMOTE_ADDR=fresh_address())
    rows = list(AuditLog.objects.filter(action="auth.locked_out"))
    assert len(rows) == 1
    row = rows[0]
    assert row.actor is None
    assert row.details == {
        "email": student.email,
        "user_id": str(student.pk),
        "address": address,
        "locked": ["account"],
        "failures": account_limit(),
        "path": "/login/",
        "cooloff_minutes": lockout_minutes(),
    }


def test_an_address_lockout_is_audited_with_no_account(make_user):
    address = fresh_address()
    for n in range(address_limit() + 3):
        token_request(f"nobody{n}@example.test", "wrong", REMOTE_ADDR=address)
    # The throttle answered some of them; an address lockout comes from the
    # page as well.
    for n in range(address_limit()):
        page_login(Client(REMOTE_ADDR=address), f"someone{n}@example.test", "wrong")
    rows = list(AuditLog.objects.filter(action="auth.locked_out"))
    assert [row.details["locked"] for row in rows] == [["address"]]
    assert rows[0].details["address"] == address
    assert rows[0].details["user_id"] is None


def test_the_lock_ends_after_the_cool_off(student):
    from axes.models import AccessAttempt

    address = fresh_address()
    for _ in range(account_limit()):
        page_login(Client(REMOTE_ADDR=address), student.email, "wrong")
    assert_locked_page(page_login(Client(REMOTE_ADDR=address), student.email, PASSWORD))
    # Time passes (the attempts' clock, not the test's).
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - settings.AXES_COOLOFF_TIME - timedelta(seconds=1)
    )
    client = Client(REMOTE_ADDR=address)
    assert page_login(client, student.email, PASSWORD).status_code == 302
    assert signed_in(client)


def test_logging_in_many_times_is_never_a_lockout(student):
    for _ in range(3 * address_limit()):
        client = Client(REMOTE_ADDR="198.51.100.250")
        assert page_login(client, student.email, PASSWORD).status_code == 302
        client.post("/logout/")


def test_a_user_locked_out_reads_the_same_answer_whether_or_not_the_account_exists(student):
    for email in (student.email, "nobody@example.test"):
        for _ in range(account_limit()):
            token_request(email, "wrong", REMOTE_ADDR=fresh_address())
        assert_locked_api(token_request(email, "wrong", REMOTE_ADDR=fresh_address()))
    assert User.objects.filter(email="nobody@example.test").count() == 0


# --- On a real server (ASGI: axes' middleware runs in its async mode there) --------------


def _post(url: str, data: bytes, headers: dict, opener) -> tuple[int, Message, str]:
    """The status, headers (looked up in any letter case, as HTTP's are:
    uvicorn and granian send them in lower case) and body of a POST."""
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


class NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_a_real_server_locks_out_the_token_endpoint_and_the_login_page(asgi_server, student):
    server = asgi_server()
    opener = urllib.request.build_opener(NoRedirects())

    def token(password):
        body = json.dumps({"email": student.email, "password": password}).encode()
        return _post(
            f"{server.http_url}/api/auth/token/",
            body,
            {"Content-Type": "application/json"},
            opener,
        )

    for _ in range(account_limit() - 1):
        assert token("wrong")[0] == 400
    status, headers, body = token("wrong")
    assert status == 429
    assert json.loads(body)["error"]["code"] == "locked_out"
    status, headers, body = token(PASSWORD)
    assert status == 429
    assert json.loads(body)["error"]["code"] == "locked_out"
    assert headers["Retry-After"] == str(lockout_minutes() * 60)

    # The login page of the same server, with its CSRF token, for the same account.
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirects())
    with browser.open(f"{server.http_url}/login/", timeout=30) as page:
        html = page.read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    form = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": csrf, "username": student.email, "password": PASSWORD}
    ).encode()
    status, _, html = _post(
        f"{server.http_url}/login/",
        form,
        {"Content-Type": "application/x-www-form-urlencoded", "Referer": server.http_url},
        browser,
    )
    assert status == 429
    assert "Too many failed sign-in attempts" in html
    assert AuditLog.objects.filter(action="auth.locked_out").count() == 1
