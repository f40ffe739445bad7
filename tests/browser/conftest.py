"""Fixtures for the browser tests: Debian's Chromium driven by Playwright's
sync API against a real daphne process on the test database.

Playwright's sync API keeps an event loop running in the test thread. Two
things follow. Django's ORM refuses to run there unless
DJANGO_ALLOW_ASYNC_UNSAFE is set, and even with it set, a query made inside
that loop's context opens a connection of its own that nothing closes (so the
test database cannot be dropped afterwards); and services publish their
events with ``async_to_sync``, which refuses to run in such a thread. So test
data is made before the browser starts, and anything that touches the
database while it runs goes through ``off_loop``, a short-lived thread that
closes its connections. DJANGO_ALLOW_ASYNC_UNSAFE is deliberately not set:
a stray query in the test thread fails loudly instead of leaking. Playwright
is stopped before pytest-django flushes the database.
"""

import re
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import expect

from accounts.models import MentorAssignment, Role, User
from messaging import services
from messaging.models import ConversationType

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "browser-test-pass-1"
TIMEOUT_MS = 15_000
# Playwright's expect() waits 5 s by default; a page waiting on a server
# round trip on a busy shared machine may need longer. Waiting longer never
# turns a failure into a pass: an assertion still needs its state to appear.
expect.set_options(timeout=TIMEOUT_MS)
CSP_PATTERN = re.compile(r"content security policy|content-security-policy|refused to", re.I)


@dataclass
class Console:
    """Everything the pages printed, and the CSP violations among it."""

    lines: list = field(default_factory=list)

    def attach(self, page):
        page.on("console", lambda msg: self.lines.append(f"{msg.type}: {msg.text}"))
        page.on("pageerror", lambda err: self.lines.append(f"pageerror: {err}"))

    def csp_violations(self):
        return [line for line in self.lines if CSP_PATTERN.search(line)]


@pytest.fixture
def browser(transactional_db):
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    chromium = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield chromium
    finally:
        chromium.close()
        playwright.stop()


@pytest.fixture
def console():
    collected = Console()
    yield collected
    assert collected.csp_violations() == [], "\n".join(collected.lines)


@pytest.fixture
def server(asgi_server):
    return asgi_server()


@pytest.fixture
def eager_server(asgi_server):
    """A server that runs its Celery tasks (the notification fan-out) itself,
    at once, so a page sees their effect without a worker."""
    return asgi_server(extra_env={"CELERY_TASK_ALWAYS_EAGER": "true"})


@pytest.fixture
def media(settings, tmp_path):
    """Uploaded files of this test, in a folder of its own."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


@pytest.fixture
def files_server(asgi_server, media):
    """A server storing under ``media``. Its Celery tasks go to the Redis
    broker (not eager): previews of what the page uploads wait for a worker."""
    return asgi_server(extra_env={"MEDIA_ROOT": str(media)})


@pytest.fixture
def pair(db):
    """A mentor and their student, with a direct conversation between them."""
    mentor = User.objects.create_user(
        email="maria@example.test",
        password=PASSWORD,
        display_name="Maria Mentor",
        role=Role.MENTOR,
    )
    student = User.objects.create_user(
        email="sam@example.test",
        password=PASSWORD,
        display_name="Sam Student",
        role=Role.STUDENT,
    )
    MentorAssignment.objects.create(mentor=mentor, student=student)
    conversation = services.create_conversation(
        creator=mentor, kind=ConversationType.DIRECT, participants=[student]
    )
    return mentor, student, conversation


def send_as(sender, conversation, content, **extra):
    """A message ``sender`` sends through the service, as if from another
    device; safe before the browser starts and while it runs (off its loop)."""

    def send():
        return services.send_message(
            sender=sender,
            conversation_id=conversation.pk,
            content=content,
            client_id=uuid.uuid4(),
            **extra,
        ).message

    return off_loop(send)


def off_loop(fn, /, **kwargs):
    """Run ``fn`` in a thread without Playwright's event loop: services
    publish their events with ``async_to_sync``, which refuses to run in a
    thread whose loop is running."""

    def run():
        try:
            return fn(**kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


def open_as(
    browser,
    server,
    console,
    user,
    path="/",
    viewport=None,
    *,
    time_zone=None,
    javascript=True,
    language=None,
    login_form=False,
):
    """A new browser context signed in as ``user``, on ``path``; its clock
    in ``time_zone`` when given, its browser language ``language`` when
    given, and without JavaScript (so with no socket to wait for) when
    ``javascript`` is false.

    The context is given a session cookie made here, as the login page
    would make it: the login page checks the password with the real hasher
    (a third of a second of the server's CPU), and a hundred tests sign in
    several people each. ``login_form`` signs in through the login page
    instead (its labels found in ``language``), for the tests of that page."""
    from django.conf import settings
    from playwright.sync_api import expect

    options = {"timezone_id": time_zone} if time_zone else {}
    if language:
        options["locale"] = language
    context = browser.new_context(
        viewport=viewport or {"width": 1280, "height": 800},
        java_script_enabled=javascript,
        **options,
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    console.attach(page)
    if login_form:
        _log_in_through_the_form(page, server, user, path, language)
    else:
        cookie = {"name": settings.SESSION_COOKIE_NAME, "url": server.http_url}
        context.add_cookies([{**cookie, "value": off_loop(session_signed_in_as, user=user)}])
        page.goto(f"{server.http_url}{path}")
    if javascript:
        wait_synced(page)
        expect(page.locator("#connection")).to_have_attribute("data-state", "online")
    return context, page


def session_signed_in_as(user) -> str:
    """The key of a new session signed in as ``user``: what Django's
    ``login()`` stores (the account, its backend, the password's hash)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY

    from accounts.sessions import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def _log_in_through_the_form(page, server, user, path, language):
    from django.utils import translation

    with translation.override(language or "en"):
        labels = (translation.gettext("Email"), translation.gettext("Password"))
        submit = translation.gettext("Log in")
    page.goto(f"{server.http_url}/login/?next={path}")
    page.get_by_label(labels[0]).fill(user.email)
    page.get_by_label(labels[1]).fill(PASSWORD)
    page.get_by_role("button", name=submit).click()
    page.wait_for_url(f"{server.http_url}{path}")


def api(context, server, method, path, body=None):
    """A REST request with ``context``'s session (and CSRF token for a
    write); its JSON answer, which must be a success."""
    url = f"{server.http_url}/api/{path}"
    if method == "GET":
        response = context.request.get(url)
    else:
        token = next(c["value"] for c in context.cookies() if c["name"] == "csrftoken")
        response = context.request.fetch(
            url, method=method, data=body, headers={"X-CSRFToken": token}
        )
    assert response.ok, f"{method} {path}: {response.status} {response.text()}"
    return response.json()


def wait_synced(page):
    """The socket said hello and the resume after it finished."""
    page.wait_for_selector("body[data-synced='true']", state="attached", timeout=TIMEOUT_MS)


def screenshot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name))
