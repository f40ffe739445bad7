"""POST /api/conversations/<id>/assistant/summary/: a mentor's or admin's
private summary of their unread messages, against the fake endpoint."""

import json
import uuid

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from messaging import services as messaging_services
from messaging.models import AuditAction, AuditLog, ConversationType, Message

pytestmark = pytest.mark.django_db


def url(conversation):
    return f"/api/conversations/{conversation.pk}/assistant/summary/"


def client_of(user):
    client = APIClient()
    client.force_login(user)
    return client


def send(sender, conversation, content):
    return messaging_services.send_message(
        sender=sender, conversation_id=conversation.pk, content=content, client_id=uuid.uuid4()
    ).message


def test_a_mentor_gets_a_private_summary_of_what_they_have_not_read(fake_ai, group, people, bot):
    mentor, sam, sofia = people
    read = send(sam, group, "Already read by Maria")
    messaging_services.mark_read(user=mentor, conversation_id=group.pk, up_to_seq=read.seq)
    send(mentor, group, "Maria's own message")
    send(sam, group, "I pushed my draft")
    send(sofia, group, "Who reviews the data part?")
    fake_ai.control("normal", answer="- Sam pushed a draft\n- Sofia needs a reviewer")
    before = Message.objects.count()

    response = client_of(mentor).post(url(group), {}, format="json")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["summary"] == "- Sam pushed a draft\n- Sofia needs a reviewer"
    assert body["covered"] == 2 and body["unread"] == 2
    assert body["assistant"] == {"id": str(bot.user_id), "display_name": bot.user.display_name}
    # Returned to the caller only: nothing was posted, nothing marked read.
    assert Message.objects.count() == before
    [request] = fake_ai.requests()
    transcript = request["body"]["messages"][-1]["content"]
    assert transcript == "Sam Student: I pushed my draft\nSofia Student: Who reviews the data part?"
    row = AuditLog.objects.get(action=AuditAction.ASSISTANT_SUMMARY)
    assert row.actor_id == mentor.pk and row.conversation_id == group.pk
    assert row.details["outcome"] == "summarised" and row.details["covered"] == 2
    assert "draft" not in json.dumps(row.details)


def test_an_admin_member_may_ask_too(fake_ai, group, people, admin, bot):
    send(people[1], group, "news for the admin")
    response = client_of(admin).post(url(group), format="json")
    assert response.status_code == 200, response.content
    assert response.json()["covered"] == 1


def test_after_seq_names_where_the_summary_starts_and_the_cap_keeps_the_latest(
    fake_ai, settings, group, people, bot
):
    mentor, sam, _sofia = people
    settings.AI_SUMMARY_MAX_MESSAGES = 2
    first = send(sam, group, "one")
    for text in ("two", "three", "four"):
        send(sam, group, text)
    response = client_of(mentor).post(url(group), {"after_seq": first.seq}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["covered"] == 2 and response.json()["unread"] == 3
    [request] = fake_ai.requests()
    assert request["body"]["messages"][-1]["content"] == "Sam Student: three\nSam Student: four"


def test_nothing_unread_answers_an_empty_summary_without_a_call(fake_ai, group, people, bot):
    mentor = people[0]
    response = client_of(mentor).post(url(group), format="json")
    assert response.status_code == 200
    assert response.json()["summary"] == "" and response.json()["covered"] == 0
    assert fake_ai.requests() == []


def test_a_student_member_is_refused(fake_ai, group, people, bot):
    send(people[0], group, "news")
    response = client_of(people[1]).post(url(group), format="json")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert fake_ai.requests() == []
    denial = AuditLog.objects.get(action=AuditAction.ACCESS_DENIED, actor=people[1])
    assert denial.details["attempted"] == AuditAction.ASSISTANT_SUMMARY


def test_a_non_member_is_told_the_conversation_does_not_exist(fake_ai, group, make_user, bot):
    outsider = make_user(Role.MENTOR)
    response = client_of(outsider).post(url(group), format="json")
    missing = client_of(outsider).post(
        f"/api/conversations/{uuid.uuid4()}/assistant/summary/", format="json"
    )
    assert response.status_code == missing.status_code == 404
    assert response.json() == missing.json()


def test_a_conversation_without_an_assistant_says_so(fake_ai, admin, people):
    mentor, sam, _sofia = people
    plain = messaging_services.create_conversation(
        creator=admin, kind=ConversationType.GROUP, participants=[mentor, sam], title="No bot"
    )
    response = client_of(mentor).post(url(plain), format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "no_assistant"


def test_an_assistant_that_is_off_or_failing_is_unavailable(fake_ai, settings, group, people, bot):
    mentor, sam, _sofia = people
    send(sam, group, "news")
    fake_ai.control("error")
    failing = client_of(mentor).post(url(group), format="json")
    assert failing.status_code == 503
    assert failing.json()["error"]["code"] == "assistant_unavailable"
    assert AuditLog.objects.get(action=AuditAction.ASSISTANT_SUMMARY).details["error"] == "status"
    settings.AI_BASE_URL = ""
    off = client_of(mentor).post(url(group), format="json")
    assert off.status_code == 503
    assert off.json()["error"]["message"] == "The AI assistant is not configured."


@pytest.mark.parametrize(
    "body",
    [
        {"after_seq": -1},
        {"after_seq": "soon"},
        {"after_seq": 2**63},
        [1, 2],
        # A seq is a JSON integer, as everywhere else (docs/api.md).
        {"after_seq": "1"},
        {"after_seq": 1.0},
    ],
)
def test_a_bad_after_seq_is_invalid(fake_ai, group, people, bot, body):
    response = client_of(people[0]).post(url(group), body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_summaries_are_rate_limited(fake_ai, settings, group, people, bot):
    from django.core.cache import cache

    cache.clear()
    settings.AI_SUMMARY_RATE = "2/h"
    client = client_of(people[0])
    codes = [client.post(url(group), format="json").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    cache.clear()
