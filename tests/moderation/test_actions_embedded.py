"""The embedded default (SQLite, FTS5) and PostgreSQL agree on moderation:
a mute refuses the send's claim on both, hiding takes a message out of
search and restoring brings it back."""

import pytest
from django.db import connection

from tests.messaging.helpers import json_on_embedded
from tests.moderation import embedded_scenario

pytestmark = [pytest.mark.services, pytest.mark.django_db]

EXPECTED = {
    "before": "sent",
    "muted": "muted",
    "after_the_mute": "sent",
    "found_before_hiding": 1,
    "hidden_payload": [True, ""],
    "found_while_hidden": 0,
    "found_after_restoring": 1,
}


def test_postgresql_and_the_embedded_default_moderate_alike(tmp_path):
    assert connection.vendor == "postgresql"
    assert embedded_scenario.run("pg") == EXPECTED
    on_sqlite = json_on_embedded(
        tmp_path, "run('sqlite')", imports="from tests.moderation.embedded_scenario import run"
    )
    assert on_sqlite == EXPECTED
