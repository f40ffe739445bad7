"""Presence's parts on their own: the ``user_presence`` writes, the fan-out
of one frame to many groups, and announcing to contacts only."""

import json
import uuid
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync

from messaging import events, limits
from messaging.models import PresenceStatus, UserPresence
from messaging.realtime import presence
from messaging.realtime.backends import PresenceChange
from messaging.services.presence import record_presence, touch_last_seen

pytestmark = [pytest.mark.services]


class RecordingLayer:
    def __init__(self, failing=()):
        self.sent: list[tuple[str, dict]] = []
        self.failing = set(failing)

    async def group_send(self, group, message):
        if group in self.failing:
            raise ConnectionError("layer down")
        self.sent.append((group, message))


@pytest.fixture
def layer(monkeypatch):
    recording = RecordingLayer()
    monkeypatch.setattr(events, "get_channel_layer", lambda: recording)
    return recording


@pytest.mark.django_db
def test_record_presence_and_last_seen_writes(student):
    seen = record_presence(user_id=student.pk, status=PresenceStatus.AWAY)
    row = UserPresence.objects.get(user=student)
    assert (row.status, row.last_seen) == (PresenceStatus.AWAY, seen)
    # A status change counts as the last_seen write of its interval.
    assert touch_last_seen(user_ids=[student.pk]) == 0
    # The interval has passed.
    UserPresence.objects.filter(user=student).update(
        last_seen=seen - timedelta(seconds=limits.last_seen_write_interval_seconds())
    )
    assert touch_last_seen(user_ids=[student.pk]) == 1
    assert UserPresence.objects.get(user=student).last_seen > seen
    assert touch_last_seen(user_ids=[student.pk]) == 0
    # A deleted account is not written.
    assert record_presence(user_id=uuid.uuid4(), status=PresenceStatus.ONLINE) is None
    assert UserPresence.objects.count() == 1


@pytest.mark.django_db
def test_a_heartbeat_moves_everyones_last_seen_on_in_one_statement(
    make_user, django_assert_num_queries
):
    people = [make_user(f"seen{n}@parley.test") for n in range(30)]
    for person in people:
        record_presence(user_id=person.pk, status=PresenceStatus.ONLINE)
    long_ago = timedelta(seconds=limits.last_seen_write_interval_seconds() + 1)
    stale, fresh = people[:20], people[20:]
    before = {}
    for person in stale:
        row = UserPresence.objects.get(user=person)
        row.last_seen -= long_ago
        UserPresence.objects.filter(pk=row.pk).update(last_seen=row.last_seen)
        before[person.pk] = row.last_seen
    kept = {p.pk: UserPresence.objects.get(user=p).last_seen for p in fresh}
    with django_assert_num_queries(1):
        assert touch_last_seen(user_ids=[p.pk for p in people] + [uuid.uuid4()]) == 20
    rows = {row.user_id: row.last_seen for row in UserPresence.objects.all()}
    assert all(rows[p.pk] > before[p.pk] for p in stale)
    assert all(rows[p.pk] == kept[p.pk] for p in fresh)  # written within the interval
    with django_assert_num_queries(0):
        assert touch_last_seen(user_ids=[]) == 0


async def test_a_frame_for_many_people_is_one_layer_message(layer):
    people = [uuid.uuid4() for _ in range(300)]
    frame = events.presence(user_id=uuid.uuid4(), status="online", last_seen=None)
    await events.apublish_to_users(people, frame)
    assert layer.sent == [
        (
            events.PEOPLE_GROUP,
            {
                "type": "presence",
                "frame": events.to_json(frame),
                "group": events.PEOPLE_GROUP,
                "groups": [events.user_group(person) for person in people],
            },
        )
    ]


async def test_a_failing_layer_loses_the_hint_only(monkeypatch, caplog):
    monkeypatch.setattr(
        events, "get_channel_layer", lambda: RecordingLayer(failing=[events.PEOPLE_GROUP])
    )
    frame = events.presence(user_id=uuid.uuid4(), status="online", last_seen=None)
    await events.apublish_to_users([uuid.uuid4()], frame)  # logged, not raised
    assert f"Could not publish presence to {events.PEOPLE_GROUP}" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_announce_tells_contacts_only(direct, assigned, make_user, layer):
    mentor, student = assigned
    stranger = make_user()
    async_to_sync(presence.announce)(PresenceChange(str(mentor.pk), "offline", "online", 1))
    [(group, message)] = layer.sent
    assert group == events.PEOPLE_GROUP
    told = set(message["groups"])
    assert told == {events.user_group(mentor.pk), events.user_group(student.pk)}
    assert events.user_group(stranger.pk) not in told
    frame = json.loads(message["frame"])
    assert frame["user_id"] == str(mentor.pk) and frame["status"] == "online"
    assert UserPresence.objects.get(user=mentor).status == "online"
    # No change, no event and no write.
    layer.sent.clear()
    async_to_sync(presence.announce)(PresenceChange(str(mentor.pk), "online", "online", 2))
    assert layer.sent == []
