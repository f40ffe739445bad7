"""Each kind of content rule, blocking and flagging, on the REST API's send
and edit; what a hit leaves behind (the hit, the audit row, the case)."""

import uuid

import pytest
from rest_framework.test import APIClient

from messaging import services
from messaging.models import (
    AuditAction,
    AuditLog,
    CaseStatus,
    FilterAction,
    FilterHit,
    FilterKind,
    Message,
    ModerationCase,
)
from messaging.moderation.filtering.checks import DEFAULT_REFUSAL

pytestmark = [pytest.mark.services, pytest.mark.django_db]

# kind -> (rule fields, a text the rule hits, a text it lets through, how
# many identical sends come first)
SCENARIOS = {
    FilterKind.TERM: ({"pattern": "darn\nheck off"}, "well, D4RN it", "darning socks", 0),
    FilterKind.PATTERN: ({"pattern": r"\b\d{3}-\d{4}\b"}, "call 555-1234", "call me", 0),
    FilterKind.LINK_LIMIT: (
        {"max_links": 1, "new_account_days": 7},
        "see a.example.com and https://b.example",
        "see https://b.example",
        0,
    ),
    FilterKind.REPEAT: (
        {"repeat_count": 3, "repeat_window_seconds": 600},
        "Buy now",
        "something else",
        2,
    ),
}
CASES = [(kind, action) for kind in SCENARIOS for action in FilterAction.values]


def client_for(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def post(user, conversation, content):
    return client_for(user).post(
        f"/api/conversations/{conversation.pk}/messages/",
        {"client_id": str(uuid.uuid4()), "content": content},
        format="json",
    )


def prime(user, conversation, text, times):
    """Earlier identical sends (the repeat rule's first ones), in another
    conversation: the rule counts a sender's messages everywhere."""
    for _ in range(times):
        services.send_message(
            sender=user, conversation_id=conversation.pk, content=text, client_id=uuid.uuid4()
        )


@pytest.fixture
def group(mentor, student, assigned):
    return services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Study group"
    )


@pytest.fixture
def elsewhere(mentor, student, assigned):
    return services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Elsewhere"
    )


def filter_audit(user):
    return list(AuditLog.objects.filter(actor=user, action=AuditAction.FILTER_HIT))


@pytest.mark.parametrize(("kind", "action"), CASES)
def test_send(kind, action, make_rule, group, elsewhere, student):
    fields, hits, passes, earlier = SCENARIOS[kind]
    rule = make_rule(kind, action, message="Not here, please." if kind == "term" else "", **fields)
    prime(student, elsewhere, hits, earlier)

    assert post(student, group, passes).status_code == 201
    assert not FilterHit.objects.exists()

    response = post(student, group, hits)
    if action == FilterAction.BLOCK:
        assert response.status_code == 422
        error = response.json()["error"]
        assert error["code"] == "content_blocked"
        assert error["rule"] == kind
        assert error["message"] == ("Not here, please." if kind == "term" else DEFAULT_REFUSAL)
        assert not Message.objects.filter(conversation=group, content=hits).exists()
        hit = FilterHit.objects.get()
        assert hit.message is None
        assert not ModerationCase.objects.exists()
    else:
        assert response.status_code == 201
        message = Message.objects.get(pk=response.json()["id"])
        hit = FilterHit.objects.get()
        assert hit.message == message
        case = ModerationCase.objects.get(message=message)
        assert case.status == CaseStatus.OPEN and case.flag_count == 1
    assert (hit.rule, hit.rule_name, hit.action, hit.user, hit.conversation) == (
        rule,
        rule.name,
        action,
        student,
        group,
    )
    assert hit.field == "content" and hit.excerpt == hits
    [row] = filter_audit(student)
    assert row.conversation_id == group.pk
    assert row.details["rule"] == str(rule.pk)
    assert row.details["kind"] == kind
    assert row.details["field"] == "content"
    assert row.details["filter_action"] == action
    assert hits not in str(row.details)  # the audit log keeps no content


@pytest.mark.parametrize(("kind", "action"), CASES)
def test_edit(kind, action, make_rule, group, elsewhere, student):
    fields, hits, passes, earlier = SCENARIOS[kind]
    message = services.send_message(
        sender=student, conversation_id=group.pk, content="first draft", client_id=uuid.uuid4()
    ).message
    rule = make_rule(kind, action, **fields)
    prime(student, elsewhere, hits, earlier)
    client = client_for(student)

    edited = client.patch(f"/api/messages/{message.pk}/", {"content": passes}, format="json")
    assert edited.status_code == 200
    assert not FilterHit.objects.exists()

    response = client.patch(f"/api/messages/{message.pk}/", {"content": hits}, format="json")
    message.refresh_from_db()
    hit = FilterHit.objects.get()
    assert hit.rule == rule and hit.field == "content"
    if action == FilterAction.BLOCK:
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "content_blocked"
        assert response.json()["error"]["rule"] == kind
        assert message.content == passes
        assert hit.message is None
    else:
        assert response.status_code == 200
        assert message.content == hits
        assert hit.message == message
        assert ModerationCase.objects.get(message=message).flag_count == 1
    assert len(filter_audit(student)) == 1


def test_the_same_text_again_is_no_new_edit(make_rule, group, student):
    """An edit that changes nothing is not checked (it sends nothing)."""
    message = services.send_message(
        sender=student, conversation_id=group.pk, content="darn", client_id=uuid.uuid4()
    ).message
    make_rule(FilterKind.TERM, FilterAction.BLOCK, pattern="darn")
    response = client_for(student).patch(
        f"/api/messages/{message.pk}/", {"content": "darn"}, format="json"
    )
    assert response.status_code == 200
    assert not FilterHit.objects.exists()


def test_a_flagged_message_flagged_again_reopens_its_case(make_rule, group, student, mentor):
    make_rule(FilterKind.TERM, FilterAction.FLAG, pattern="darn")
    message_id = post(student, group, "darn").json()["id"]
    case = ModerationCase.objects.get(message_id=message_id)
    from messaging.moderation.services import cases

    cases.close_case(message_id, moderator=mentor, status=CaseStatus.DISMISSED)
    response = client_for(student).patch(
        f"/api/messages/{message_id}/", {"content": "darn it"}, format="json"
    )
    assert response.status_code == 200
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN and case.flag_count == 2


def test_two_flagging_rules_count_two_flags(make_rule, group, student):
    make_rule(FilterKind.TERM, FilterAction.FLAG, pattern="darn")
    make_rule(FilterKind.PATTERN, FilterAction.FLAG, pattern="da+rn")
    message_id = post(student, group, "darn").json()["id"]
    assert FilterHit.objects.filter(message_id=message_id).count() == 2
    assert ModerationCase.objects.get(message_id=message_id).flag_count == 2


def test_a_blocking_rule_wins_over_a_flagging_one(make_rule, group, student):
    make_rule(FilterKind.TERM, FilterAction.FLAG, pattern="darn", name="a flag")
    make_rule(FilterKind.TERM, FilterAction.BLOCK, pattern="darn", name="b block")
    assert post(student, group, "darn").status_code == 422
    assert not Message.objects.exists()
    assert list(FilterHit.objects.values_list("action", flat=True)) == [FilterAction.BLOCK]
    assert not ModerationCase.objects.exists()


def test_someone_who_may_not_post_is_told_that_not_the_filter(make_rule, group, make_user):
    make_rule(FilterKind.TERM, FilterAction.BLOCK, pattern="darn")
    outsider = make_user()
    response = post(outsider, group, "darn")
    assert response.status_code in (403, 404)
    assert response.json()["error"]["code"] != "content_blocked"
    assert not FilterHit.objects.exists()


def test_a_resend_returns_the_stored_message_whatever_the_rules_say_now(make_rule, group, student):
    client_id = str(uuid.uuid4())
    client = client_for(student)
    url = f"/api/conversations/{group.pk}/messages/"
    first = client.post(url, {"client_id": client_id, "content": "darn"}, format="json")
    make_rule(FilterKind.TERM, FilterAction.BLOCK, pattern="darn")
    again = client.post(url, {"client_id": client_id, "content": "darn"}, format="json")
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert not FilterHit.objects.exists()
