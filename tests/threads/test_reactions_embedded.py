"""The embedded default (SQLite) and PostgreSQL agree on reactions, pins
and saved messages (the services lock rows on PostgreSQL only)."""

import pytest
from django.db import connection

from tests.messaging.helpers import json_on_embedded
from tests.threads import reactions_embedded_scenario

pytestmark = [pytest.mark.services, pytest.mark.django_db]

EXPECTED = {
    "added": [True, False],
    "removed": True,
    "reactions": [["❤️", 1]],
    "pinned_by": "Mona",
    "student_pins": "forbidden",
    "pinned_list": 1,
    "saved_list": 1,
}


def test_postgresql_and_the_embedded_default_agree(tmp_path):
    assert connection.vendor == "postgresql"
    on_postgresql = reactions_embedded_scenario.run("pg")
    on_postgresql["reactions"] = [list(r) for r in on_postgresql["reactions"]]
    assert on_postgresql == EXPECTED
    on_sqlite = json_on_embedded(
        tmp_path,
        "run('sqlite')",
        imports="from tests.threads.reactions_embedded_scenario import run",
    )
    assert on_sqlite == EXPECTED
