"""The embedded default (SQLite FTS5) finds what PostgreSQL finds: the same
scenario and queries (tests/search/scenario.py) give the same messages,
in the same order where the order is defined, and both engines mark and
escape their snippets alike."""

import json

import pytest
from django.db import connection

from tests.messaging.helpers import json_on_embedded
from tests.search import scenario

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def _on_sqlite(tmp_path) -> dict:
    return json_on_embedded(
        tmp_path,
        "scenario.run(scenario.build()['people']['sam'])",
        imports="from tests.search import scenario",
    )


@pytest.fixture(scope="module")
def on_sqlite(tmp_path_factory) -> dict:
    """The scenario's answers on the embedded default (one run for the module)."""
    return _on_sqlite(tmp_path_factory.mktemp("embedded"))


def test_postgresql_and_the_embedded_default_find_the_same_messages(on_sqlite):
    assert connection.vendor == "postgresql"
    built = scenario.build()
    on_postgresql = json.loads(json.dumps(scenario.run(built["people"]["sam"])))
    expected, got = on_postgresql["answers"], on_sqlite["answers"]
    assert set(got) == set(expected)
    for query, ordered in scenario.QUERIES:
        if ordered:
            assert got[query] == expected[query], query
        else:
            assert sorted(got[query]) == sorted(expected[query]), query
    # The scenario exercises something: most queries find messages, a few
    # must find none (edited away, deleted, another's conversation, system).
    assert sum(1 for answer in expected.values() if answer) >= 25
    for query in ("kangaroo", "leak", "added", "typo", "from:olga budget", "in:secret"):
        assert expected[query] == [], query


def test_both_engines_mark_matches_and_escape_the_rest(on_sqlite):
    built = scenario.build()
    on_postgresql = scenario.run(built["people"]["sam"])["snippets"]
    for snippets in (on_postgresql, on_sqlite["snippets"]):
        [alert] = snippets["alert"]
        assert "&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt;" in alert
        assert "<script>" not in alert
        [plan] = snippets['"quarterly plan"']
        assert "<mark>quarterly" in plan and "plan</mark>" in plan
        [name] = snippets["fieldtrip"]
        assert "<mark>fieldtrip</mark>_plan.txt" in name
