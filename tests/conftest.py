import itertools

import pytest

from accounts.models import MentorAssignment, Role, User
from messaging import services
from messaging.models import ConversationType

# Fixtures shared beyond one folder, from the modules that explain them.
pytest_plugins = ["tests.faults.database_proxy", "tests.database_flush"]

_counter = itertools.count(1)


# Each password's hash by the real hasher, made once in the run.
_real_hashes: dict[tuple, str] = {}


@pytest.fixture(autouse=True)
def _fast_password_hashing(request, settings, monkeypatch):
    """Users are made by the dozen; the default hasher is deliberately slow.
    Tests that start a server process keep it, as the server checks
    passwords; there a password is hashed (salted) once in the run, and its
    users share the hash, which verifies as any other."""
    if "asgi_server" not in request.fixturenames:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
        return
    from django.contrib.auth import base_user, hashers
    from django.contrib.auth import models as auth_models

    def make_password(password, salt=None, hasher="default"):
        if password is None or salt is not None or hasher != "default":
            return hashers.make_password(password, salt, hasher)
        key = (password, tuple(settings.PASSWORD_HASHERS))
        if key not in _real_hashes:
            _real_hashes[key] = hashers.make_password(password)
        return _real_hashes[key]

    monkeypatch.setattr(base_user, "make_password", make_password)
    monkeypatch.setattr(auth_models, "make_password", make_password)


@pytest.fixture(autouse=True)
def _tasks_run_in_process():
    """Celery tasks queued after commit run at once in the process that
    queued them, as in the embedded default, so a test sees their effect
    (notifications) without a worker. A test of the worker process itself
    starts a real one and switches this off."""
    from config.celery import app
    from notifications.services import fanout_cursor

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous
    # A test that sent on the broker leaves its nudges here, not in the next
    # test's broker.
    fanout_cursor.discard_nudges()


@pytest.fixture(autouse=True)
def _redis_health_per_test():
    """Whether this process reaches Redis is process-wide
    (``messaging.realtime.health``). A publish that a test's service call
    handed to the test's event loop can still be on its way, and fail, when
    that test's loop is busy starting servers or already closing; the next
    test's sockets must not start degraded because of it."""
    from messaging.realtime import health

    health.reset()
    yield


@pytest.fixture(autouse=True)
def _filter_rules_read_afresh():
    """Each process keeps the content filter's rules until one is saved or
    deleted; a test's rolled-back rules send no signal, so the next test
    must not inherit them."""
    from messaging.moderation.filtering import rules

    rules.forget()
    yield
    rules.forget()


@pytest.fixture
def make_user(db):
    def make(role: str = Role.STUDENT, *, name: str | None = None, **fields) -> User:
        n = next(_counter)
        name = name or f"{role.title()} {n}"
        return User.objects.create_user(
            email=f"{role}{n}@example.test",
            password="pw-" + "x" * 12,
            display_name=name,
            role=role,
            **fields,
        )

    return make


@pytest.fixture
def student(make_user):
    return make_user(Role.STUDENT)


@pytest.fixture
def mentor(make_user):
    return make_user(Role.MENTOR)


@pytest.fixture
def admin_user(make_user):
    return make_user(Role.ADMIN, is_staff=True)


@pytest.fixture
def assigned(mentor, student):
    """``mentor`` looks after ``student``."""
    MentorAssignment.objects.create(mentor=mentor, student=student)
    return mentor, student


@pytest.fixture
def direct(assigned):
    """A direct conversation of the assigned mentor and student."""
    mentor, student = assigned
    return services.create_conversation(
        creator=mentor, kind=ConversationType.DIRECT, participants=[student]
    )


@pytest.fixture
def on_the_broker():
    """Tasks go to the real broker (Redis) instead of running in-process
    (``_tasks_run_in_process``), for a test with a real worker or one that
    inspects what was queued."""
    from config.celery import app

    assert app.conf.broker_url.startswith("redis"), "needs the Redis broker"
    app.conf.task_always_eager = False
    yield app
    app.conf.task_always_eager = True


@pytest.fixture(scope="session")
def _spare_servers(django_db_setup):
    """Servers started ahead for the next test (``tests.servers.SpareServers``);
    stopped before the test database is dropped."""
    from tests.servers import SpareServers

    spares = SpareServers()
    yield spares
    spares.stop_all()


@pytest.fixture
def asgi_server(transactional_db, _spare_servers):
    """Start real ASGI server processes on the test database: ``asgi_server()``
    returns a running ``ServerProcess`` of the test's own; all are stopped
    after the test."""
    started = []

    def start(**kwargs):
        server = _spare_servers.start(**kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture(autouse=True)
def _site_language_for_each_test():
    """A request served in this process (the test client) leaves its
    language active, as LocaleMiddleware does not switch back: each test
    starts, and ends, in the site's language, whatever ran before it."""
    from django.conf import settings
    from django.utils import translation

    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)
