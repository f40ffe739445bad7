"""Fixtures for the end-to-end encryption browser tests: one server process
for the whole module (the CI suite stays fast), Chromium per test (it must
stop before pytest-django flushes the database: tests/browser/conftest.py
says why), a browser context per person and device."""

import pytest

from accounts.models import MentorAssignment, Role, User
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, PASSWORD, Console
from tests.servers import ServerProcess


@pytest.fixture(autouse=True)
def _fast_password_hashing():
    """The server process checks passwords with its own (default) hashers,
    so users made here keep the default one (tests/conftest.py swaps it
    out for tests without a server)."""


@pytest.fixture(scope="module")
def e2e_server(django_db_setup, django_db_blocker):
    """One server for the module, on the test database (each test's data
    is flushed after it by ``transactional_db``)."""
    with django_db_blocker.unblock():
        server = ServerProcess()
    yield server
    server.stop()


@pytest.fixture
def chromium(transactional_db):
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
    )
    try:
        yield browser
    finally:
        browser.close()
        playwright.stop()


class PageConsole(Console):
    """The pages' console, each line with the page's address (which of the
    people's pages printed it)."""

    def attach(self, page):
        page.on("console", lambda msg: self.lines.append(f"{msg.type}: {msg.text} [{page.url}]"))
        page.on("pageerror", lambda err: self.lines.append(f"pageerror: {err} [{page.url}]"))


@pytest.fixture
def console():
    collected = PageConsole()
    yield collected
    assert collected.csp_violations() == [], "\n".join(collected.lines)


@pytest.fixture
def mentor_and_sam(db):
    """Maria Mentor and her student Sam Student, who sign in with PASSWORD."""
    mentor = User.objects.create_user(
        email="maria@example.test", password=PASSWORD, display_name="Maria Mentor", role=Role.MENTOR
    )
    sam = User.objects.create_user(
        email="sam@example.test", password=PASSWORD, display_name="Sam Student", role=Role.STUDENT
    )
    MentorAssignment.objects.create(mentor=mentor, student=sam)
    return mentor, sam
