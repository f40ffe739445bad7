"""Presence's parts on their own: the fan-out of one frame to many groups."""

import uuid

import pytest

from messaging import events

pytestmark = [pytest.mark.services]


class RecordingLayer:
    def __init__(self, failing=()):
        self.sent: list[tuple[str, dict]] = []
        self.failing = set(failing)

    async def group_send(self, group, message):
        if group in self.failing:
            raise ConnectionError("layer down")
        self.sent.append((group, message))


async def test_apublish_many_serializes_once_and_survives_a_failing_group(monkeypatch):
    groups = [events.user_group(uuid.uuid4()) for _ in range(3)]
    recording = RecordingLayer(failing=[groups[1]])
    monkeypatch.setattr(events, "get_channel_layer", lambda: recording)
    frame = events.presence(user_id=uuid.uuid4(), status="online", last_seen=None)
    await events.apublish_many(groups, frame)
    assert [group for group, _ in recording.sent] == [groups[0], groups[2]]
    first, last = (message for _, message in recording.sent)
    assert first == {"type": "presence", "frame": events.to_json(frame)}
    assert first["frame"] is last["frame"], "serialized once for every group"
