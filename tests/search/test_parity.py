"""The embedded default (SQLite FTS5) finds what PostgreSQL finds: the same
scenario and queries (tests/search/scenario.py) give the same messages,
in the same order where the order is defined."""

import json

import pytest
from django.db import connection

from tests.messaging.helpers import embedded_manage
from tests.search import scenario

pytestmark = [pytest.mark.services, pytest.mark.django_db]

MARK = "SEARCH-PARITY "


def _on_sqlite(tmp_path) -> dict:
    manage = embedded_manage(tmp_path)
    manage("migrate", "--noinput", "-v", "0")
    out = manage(
        "shell",
        "-c",
        "import json; from django.db import connection;"
        " from tests.search import scenario;"
        " assert connection.vendor == 'sqlite', connection.vendor;"
        " built = scenario.build();"
        f" print({MARK!r} + json.dumps(scenario.run(built['people']['sam'])))",
    )
    line = next(line for line in out.splitlines() if line.startswith(MARK))
    return json.loads(line.removeprefix(MARK))


def test_postgresql_and_the_embedded_default_find_the_same_messages(tmp_path):
    assert connection.vendor == "postgresql"
    built = scenario.build()
    on_postgresql = json.loads(json.dumps(scenario.run(built["people"]["sam"])))
    on_sqlite = _on_sqlite(tmp_path / "embedded")
    assert set(on_sqlite) == set(on_postgresql)
    for query, ordered in scenario.QUERIES:
        expected = on_postgresql[query]
        got = on_sqlite[query]
        if ordered:
            assert got == expected, query
        else:
            assert sorted(got) == sorted(expected), query
    # The scenario exercises something: most queries find messages, a few
    # must find none (edited away, deleted, another's conversation, system).
    assert sum(1 for answer in on_postgresql.values() if answer) >= 25
    for query in ("kangaroo", "leak", "added", "typo", "from:olga budget", "in:secret"):
        assert on_postgresql[query] == [], query
