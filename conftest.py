"""Shared test setup.

The suite runs Parley's embedded profile (``PARLEY_PROFILE=embedded``): on
the real PostgreSQL and Redis when ``DATABASE_URL`` and ``REDIS_URL`` name
them, on SQLite and in-memory services otherwise.

Tests marked ``services`` need the real PostgreSQL and Redis. Outside CI they
skip when those are not configured; under CI (``CI`` set) a missing service
stops the run instead, so nothing that needs one is silently skipped.
"""

import os

# The profile must be chosen before the settings load. pytest-django loads
# them before any conftest when DJANGO_SETTINGS_MODULE comes from pytest's
# ini, so the module is named here instead, and Django is set up here, before
# the other conftests import models.
os.environ.setdefault("PARLEY_PROFILE", "embedded")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402
import pytest  # noqa: E402
from django.conf import settings  # noqa: E402

django.setup()


def services_available() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and bool(
        settings.REDIS_URL
    )


def pytest_collection_modifyitems(config, items):
    if services_available():
        return
    if os.environ.get("CI"):
        raise pytest.UsageError(
            "CI needs PostgreSQL and Redis: set DATABASE_URL and REDIS_URL (make test does)."
        )
    skip = pytest.mark.skip(reason="needs PostgreSQL and Redis (set DATABASE_URL and REDIS_URL)")
    for item in items:
        if "services" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def _close_database_pool(django_db_setup, django_db_blocker):
    """Return pooled connections before the test database is dropped (socket
    code runs on worker threads, each borrowing from psycopg's pool)."""
    yield
    from django.db import connections

    for connection in connections.all():
        if getattr(connection, "pool", None) is not None:
            connection.close_pool()
