"""PostgreSQL behind the suite's fault proxy (``tests.faults.proxy``): the
``pg_proxy`` fixture, and the test database's URL through it for a server
process (``through``). A plugin of the suite (tests/conftest.py), so that
any folder's tests can cut the database away."""

import pytest
from django.db import connection

from tests.faults.proxy import FaultProxy
from tests.servers import test_database_url


@pytest.fixture
def pg_proxy():
    settings_dict = connection.settings_dict
    proxy = FaultProxy(
        settings_dict.get("HOST") or "127.0.0.1", int(settings_dict.get("PORT") or 5432)
    )
    yield proxy
    proxy.close()


def through(proxy: FaultProxy) -> str:
    url = test_database_url()
    host_port = f"{connection.settings_dict.get('HOST') or '127.0.0.1'}:"
    host_port += str(connection.settings_dict.get("PORT") or 5432)
    return url.replace(host_port, f"127.0.0.1:{proxy.port}")


def unreachable_database_env(proxy: FaultProxy) -> dict:
    """A server's ``extra_env`` for a database reached through ``proxy``,
    with short bounds, so that a cut link answers in seconds."""
    return {
        "DATABASE_URL": through(proxy),
        "DATABASE_CONNECT_TIMEOUT": "2",
        "DATABASE_POOL_TIMEOUT": "2",
    }
