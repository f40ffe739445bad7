"""Fixtures of the end-to-end encryption tests: one real server process per
module (it holds no state of its own: each test's people and conversations
are made afresh on the test database), and people who use it from Python."""

import pytest
from rest_framework.authtoken.models import Token

from accounts.models import Role
from tests.e2e.browser.conftest import chromium, console  # noqa: F401 - Chromium, for the interop test
from tests.e2e.client import Person
from tests.realtime.conftest import session_cookie

# A test exchanges dozens of frames; the default pace is a person's.
SERVER_ENV = {
    "PARLEY_SEND_RATE_PER_SECOND": "200",
    "PARLEY_SEND_BURST": "200",
    # Notifications fan out in the server at once (no worker).
    "CELERY_TASK_ALWAYS_EAGER": "true",
}


def start_server(**extra_env: str):
    from tests.servers import ServerProcess

    return ServerProcess(extra_env={**SERVER_ENV, **extra_env})


@pytest.fixture(scope="module")
def e2e_server(django_db_setup, django_db_blocker):
    """One server process for the module, on the test database."""
    with django_db_blocker.unblock():
        server = start_server()
    yield server
    server.stop()


@pytest.fixture
def people(e2e_server, transactional_db, make_user):
    """``people("Alice", "Bob")`` → Persons (mentors, so anyone may message
    and group anyone), each with an API token and a session for the socket."""
    made: list[Person] = []

    def make(*names: str, role: str = Role.MENTOR, server=None, user=None) -> list[Person]:
        """``user``: the Python client of that existing person instead."""
        for name in names:
            person = user or make_user(role, name=name)
            token, _ = Token.objects.get_or_create(user=person)
            made.append(
                Person(name, server or e2e_server, person.pk, token.key, session_cookie(person))
            )
        return made[-len(names) :]

    yield make
    for person in made:
        person.close()
