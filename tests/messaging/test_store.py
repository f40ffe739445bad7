"""The one store path: PostgreSQL's one statement and the portable steps
(SQLite, the embedded default) store the same rows, for sends and system
messages alike; the statement writes every field of Message."""

import json
import uuid

import pytest
from django.db import connection

from messaging.models import Conversation, Message
from messaging.services import store
from tests.messaging import store_scenario
from tests.messaging.helpers import json_on_embedded, send

pytestmark = [pytest.mark.services, pytest.mark.django_db]


def _on_sqlite(tmp_path) -> dict:
    return json_on_embedded(
        tmp_path, "run('sqlite')", imports="from tests.messaging.store_scenario import run"
    )


def _round_trip(dumped: dict) -> dict:
    return json.loads(json.dumps(dumped))  # tuples as lists, as from the subprocess


def test_postgresql_and_the_embedded_default_store_the_same_rows(tmp_path):
    assert connection.vendor == "postgresql"
    on_postgresql = _round_trip(store_scenario.run("pg"))
    assert len(on_postgresql["messages"]) == 7
    assert on_postgresql == _on_sqlite(tmp_path)


def test_both_paths_store_the_same_rows_on_postgresql(monkeypatch):
    one_statement = store_scenario.run("one")
    monkeypatch.setattr(store, "in_one_statement", lambda: False)
    in_steps = store_scenario.run("steps")
    assert one_statement == in_steps


def test_the_statement_writes_every_field_of_message(direct, assigned):
    mentor, _ = assigned
    sent = send(
        mentor,
        direct,
        "all of it",
        message_type="file",
        file_url="/media/a.pdf",
        metadata={"pages": 2},
    )
    stored = Message.objects.get(pk=sent.pk)
    for field in Message._meta.concrete_fields:
        assert getattr(stored, field.attname) == getattr(sent, field.attname), field.name
    template = store._one_statement_template(True)
    for field in Message._meta.concrete_fields:
        assert connection.ops.quote_name(field.column) in template, field.name


def test_a_claim_that_joins_is_refused(direct, assigned):
    """Conditions through a join would not be re-checked on the locked row."""
    mentor, _ = assigned
    joined = Conversation.objects.filter(participants__user=mentor)
    message = Message(conversation_id=direct.pk, sender=mentor, content="x", client_id=uuid.uuid4())
    with pytest.raises(ValueError, match="must not join"):
        store.store_message(message, claim=joined, audit_action=None)
    assert not Message.objects.exists()
