"""The embedded default (SQLite) and PostgreSQL agree on blocks: the send's
claim refuses a blocked direct conversation on both."""

import pytest
from django.db import connection

from tests.messaging.helpers import json_on_embedded
from tests.moderation import blocks_scenario

pytestmark = [pytest.mark.services, pytest.mark.django_db]

EXPECTED = {
    "before": ["sent", "sent"],
    "blocked": ["blocked", "blocked"],
    "group": ["sent", "sent"],
    "messageable_while_blocked": False,
    "after": ["sent", "sent"],
    "messageable_after": True,
}


def test_postgresql_and_the_embedded_default_block_alike(tmp_path):
    assert connection.vendor == "postgresql"
    assert blocks_scenario.run("pg") == EXPECTED
    on_sqlite = json_on_embedded(
        tmp_path, "run('sqlite')", imports="from tests.moderation.blocks_scenario import run"
    )
    assert on_sqlite == EXPECTED
