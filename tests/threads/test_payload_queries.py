"""An edit's or a moderator's frame costs the same queries however many
reactions its message has (the payload reads them loaded with the message)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import Role
from messaging import services
from messaging.moderation.services import actions
from messaging.threads.services import reactions
from tests.threads.conftest import send

EMOJI = ["👍", "🎉", "❤️", "😂", "🙏", "👀"]


def _queries(run) -> int:
    with CaptureQueriesContext(connection) as captured:
        run()
    return len(captured.captured_queries)


def _react(message, people, count: int) -> None:
    for emoji in EMOJI[:count]:
        for person in people:
            reactions.add_reaction(user=person, message_id=message.pk, emoji=emoji)


@pytest.mark.django_db
def test_an_edit_costs_no_query_per_reaction(people, group):
    mentor, ann, bob = people
    few, many = send(ann, group, "few"), send(ann, group, "many")
    _react(few, [mentor], 1)
    _react(many, [mentor, ann, bob], 6)

    def edit(message, text):
        return lambda: services.edit_message(editor=ann, message_id=message.pk, content=text)

    assert _queries(edit(many, "many, edited")) == _queries(edit(few, "few, edited"))


@pytest.mark.django_db
def test_hiding_costs_no_query_per_reaction(people, group, make_user):
    mentor, ann, bob = people
    moderator = make_user(Role.ADMIN)
    few, many = send(ann, group, "few"), send(ann, group, "many")
    _react(few, [mentor], 1)
    _react(many, [mentor, ann, bob], 6)

    def hide(message):
        return lambda: actions.hide_message(moderator=moderator, message_id=message.pk, note="n")

    assert _queries(hide(many)) == _queries(hide(few))
