"""Every answer writes a stored time one way (docs/api.md): ISO 8601 in UTC
with ``+00:00``, as the socket's frames do, whatever the person's time zone
(their requests run in it, for the words the server writes)."""

import datetime as dt
import uuid

import pytest

from accounts.models import Role
from messaging import services
from messaging.models import Report, UserBlock


def _utc(text: str) -> dt.datetime:
    assert text.endswith("+00:00"), text
    return dt.datetime.fromisoformat(text)


@pytest.mark.django_db
def test_times_are_utc_with_an_offset_whatever_the_persons_zone(api, make_user, group, student):
    reader = make_user(Role.MENTOR, time_zone="Asia/Kolkata")
    services.add_participants(actor=group.created_by, conversation_id=group.pk, users=[reader])
    message = services.send_message(
        sender=student, conversation_id=group.pk, content="hello", client_id=uuid.uuid4()
    ).message
    client = api(reader)

    stranger = make_user(Role.STUDENT)
    block = client.put(f"/api/blocks/{stranger.pk}/")
    assert block.status_code == 201, block.content
    stored = UserBlock.objects.get(blocker=reader, blocked=stranger).created_at
    assert _utc(block.json()["created_at"]) == stored

    report = client.post(f"/api/messages/{message.pk}/report/", {"reason": "spam"}, format="json")
    assert report.status_code == 201, report.content
    assert _utc(report.json()["created_at"]) == Report.objects.get(reporter=reader).created_at

    listed = client.get("/api/blocks/").json()["blocks"]
    assert [_utc(row["created_at"]) for row in listed] == [stored]
