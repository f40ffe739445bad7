"""The assistant's answers (``services.answer``, the ``answer_message``
task) against the fake endpoint process: what it is sent, what it posts,
and every way the endpoint can fail."""

import json
import uuid

import pytest

from messaging import services as messaging_services
from messaging.integrations.assistant import services, tasks
from messaging.integrations.assistant.services import answer_client_id
from messaging.models import AuditAction, AuditLog, ConversationType, Message
from messaging.moderation.services.actions import hide_message
from tests.integrations.assistant.conftest import INSTRUCTIONS, MODEL

pytestmark = pytest.mark.django_db

ERROR_TEXT = "The assistant could not answer right now."


def send(sender, conversation, content, **extra):
    return messaging_services.send_message(
        sender=sender,
        conversation_id=conversation.pk,
        content=content,
        client_id=uuid.uuid4(),
        **extra,
    ).message


def bot_messages(bot):
    return list(Message.objects.filter(sender=bot.user).order_by("seq"))


def edits_of(message):
    return AuditLog.objects.filter(action=AuditAction.MESSAGE_EDIT, message_id=message.pk).count()


def test_a_streamed_answer_is_posted_on_its_first_words_and_edited_to_the_full_text(
    fake_ai, group, people, bot
):
    _mentor, sam, _sofia = people
    full = "The capstone is due on Friday; start with the outline and ask Maria early."
    fake_ai.control("normal", answer=full)
    question = send(sam, group, "When is the capstone due?")

    result = services.answer(bot_id=bot.user_id, message_id=question.pk)

    assert result.outcome == "answered"
    [reply] = bot_messages(bot)
    assert reply.pk == result.message.pk
    assert reply.content == full
    assert reply.conversation_id == group.pk
    assert reply.client_id == answer_client_id(bot.user_id, question.pk)
    # Posted on the first chunk, then edited as the text grew.
    assert reply.edited_at is not None
    assert edits_of(reply) >= 2
    # In a group the answer quotes the question.
    assert reply.reply_to_id == question.pk
    [request] = fake_ai.requests()
    assert request["body"]["model"] == MODEL
    assert request["body"]["stream"] is True
    assert request["authorization"] == "Bearer sk-test-key"


def test_the_endpoint_sees_the_instructions_and_only_this_conversations_visible_history(
    fake_ai, group, people, bot, admin
):
    mentor, sam, sofia = people
    elsewhere = messaging_services.create_conversation(
        creator=admin, kind=ConversationType.GROUP, participants=[sam], title="Elsewhere"
    )
    send(sam, elsewhere, "a secret from another group")
    send(mentor, group, "Welcome, everyone.")
    deleted = send(sofia, group, "this one was deleted")
    messaging_services.delete_message(actor=sofia, message_id=deleted.pk)
    hidden = send(sofia, group, "this one a moderator hid")
    hide_message(moderator=admin, message_id=hidden.pk, note="off topic")
    root = send(sofia, group, "A thread root")
    send(mentor, group, "a reply only in the thread", parent_id=root.pk)
    question = send(sam, group, "Can you help?")

    services.answer(bot_id=bot.user_id, message_id=question.pk)
    # A second question: the first answer is in its history, as the assistant's.
    follow_up = send(sam, group, "And then?")
    services.answer(bot_id=bot.user_id, message_id=follow_up.pk)

    first, second = fake_ai.requests()
    system, *history = first["body"]["messages"]
    assert system["role"] == "system"
    assert INSTRUCTIONS in system["content"]
    assert "Capstone" in system["content"]
    assert history == [
        {"role": "user", "content": "Maria Mentor: Welcome, everyone."},
        {"role": "user", "content": "Sofia Student: A thread root"},
        {"role": "user", "content": "Sam Student: Can you help?"},
    ]
    assert second["body"]["messages"][-3:] == [
        {"role": "user", "content": "Sam Student: Can you help?"},
        {"role": "assistant", "content": "Echo: Sam Student: Can you help?"},
        {"role": "user", "content": "Sam Student: And then?"},
    ]


def test_history_is_cut_to_the_latest_messages(fake_ai, settings, group, people, bot):
    _mentor, sam, _sofia = people
    settings.AI_MAX_HISTORY_MESSAGES = 2
    for n in range(4):
        send(sam, group, f"line {n}")
    services.answer(bot_id=bot.user_id, message_id=send(sam, group, "question").pk)
    [request] = fake_ai.requests()
    assert [m["content"] for m in request["body"]["messages"][1:]] == [
        "Sam Student: line 3",
        "Sam Student: question",
    ]


def test_empty_instructions_give_the_default_system_message(fake_ai, group, people, bot):
    bot.instructions = ""
    bot.save(update_fields=["instructions"])
    services.answer(bot_id=bot.user_id, message_id=send(people[1], group, "hi").pk)
    [request] = fake_ai.requests()
    assert services.DEFAULT_INSTRUCTIONS in request["body"]["messages"][0]["content"]


def test_a_thread_question_is_answered_in_its_thread(fake_ai, group, people, bot):
    mentor, sam, _sofia = people
    root = send(mentor, group, "Questions about the rubric here")
    send(mentor, group, "unrelated, in the main stream")
    question = send(sam, group, "Does the rubric count spelling?", parent_id=root.pk)
    result = services.answer(bot_id=bot.user_id, message_id=question.pk)
    assert result.message.parent_id == root.pk
    [request] = fake_ai.requests()
    assert [m["content"] for m in request["body"]["messages"][1:]] == [
        "Maria Mentor: Questions about the rubric here",
        "Sam Student: Does the rubric count spelling?",
    ]


@pytest.mark.parametrize(("stream", "mode"), [("off", "normal"), ("auto", "json")])
def test_a_non_streaming_answer_is_posted_once_whole(
    fake_ai, settings, group, people, bot, stream, mode
):
    settings.AI_STREAM = stream
    fake_ai.control(mode, answer="One whole answer.")
    result = services.answer(bot_id=bot.user_id, message_id=send(people[1], group, "hi").pk)
    assert result.outcome == "answered"
    [reply] = bot_messages(bot)
    assert reply.content == "One whole answer."
    assert reply.edited_at is None
    [request] = fake_ai.requests()
    assert request["body"]["stream"] is (stream != "off")


@pytest.mark.parametrize(
    ("mode", "code"), [("slow", "timeout"), ("error", "status"), ("malformed", "malformed")]
)
def test_a_failing_endpoint_gets_a_short_error_answer_and_the_conversation_stays_usable(
    fake_ai, group, people, bot, mode, code
):
    mentor, sam, _sofia = people
    fake_ai.control(mode)
    question = send(sam, group, "Are you there?")
    result = services.answer(bot_id=bot.user_id, message_id=question.pk)
    assert result.outcome == "failed"
    [reply] = bot_messages(bot)
    assert reply.content == ERROR_TEXT
    row = AuditLog.objects.get(action=AuditAction.ASSISTANT_ANSWER)
    assert row.details["outcome"] == "failed" and row.details["error"] == code
    # Nothing hangs and nothing is held: people write on.
    after = messaging_services.send_message(
        sender=mentor, conversation_id=group.pk, content="Carry on.", client_id=uuid.uuid4()
    )
    assert after.created and after.message.seq > reply.seq


def test_a_stream_that_stalls_keeps_the_text_so_far_with_a_note(fake_ai, group, people, bot):
    fake_ai.control("stall", answer="Partial answer that never ends")
    result = services.answer(bot_id=bot.user_id, message_id=send(people[1], group, "hi").pk)
    assert result.outcome == "partial"
    [reply] = bot_messages(bot)
    assert reply.content.startswith("Partia")
    assert reply.content.endswith("_(The answer was cut short.)_")


def test_a_stream_that_trickles_on_is_cut_at_the_total_timeout(fake_ai, group, people, bot):
    fake_ai.control("trickle")
    result = services.answer(bot_id=bot.user_id, message_id=send(people[1], group, "hi").pk)
    assert result.outcome == "partial"
    row = AuditLog.objects.get(action=AuditAction.ASSISTANT_ANSWER)
    assert row.details["error"] == "timeout"
    assert bot_messages(bot)[0].content.endswith("_(The answer was cut short.)_")


def test_a_bot_that_is_not_a_member_answers_nothing_and_calls_nothing(
    fake_ai, group, people, bot, admin
):
    question = send(people[1], group, "Anyone?")
    messaging_services.remove_participant(actor=admin, conversation_id=group.pk, user=bot.user)
    result = services.answer(bot_id=bot.user_id, message_id=question.pk)
    assert result.outcome == "skipped"
    assert fake_ai.requests() == []
    assert bot_messages(bot) == []
    assert not AuditLog.objects.filter(action=AuditAction.ASSISTANT_ANSWER).exists()


def test_nothing_happens_while_the_assistant_is_off(fake_ai, settings, group, people, bot):
    settings.AI_BASE_URL = ""
    result = services.answer(bot_id=bot.user_id, message_id=send(people[1], group, "hi").pk)
    assert result.outcome == "skipped"
    assert fake_ai.requests() == [] and bot_messages(bot) == []


def test_a_private_endpoint_is_refused_unless_allowed(fake_ai, settings, group, people, bot):
    settings.AI_ALLOW = []
    result = services.answer(bot_id=bot.user_id, message_id=send(people[1], group, "hi").pk)
    assert result.outcome == "failed"
    assert fake_ai.requests() == []
    assert bot_messages(bot)[0].content == ERROR_TEXT
    row = AuditLog.objects.get(action=AuditAction.ASSISTANT_ANSWER)
    assert row.details["error"] == "refused"


def test_the_task_run_twice_answers_once(fake_ai, group, people, bot):
    question = send(people[1], group, "Twice?")
    tasks.answer_message.delay(bot_id=str(bot.user_id), message_id=str(question.pk))
    tasks.answer_message.delay(bot_id=str(bot.user_id), message_id=str(question.pk))
    assert len(bot_messages(bot)) == 1
    assert len(fake_ai.requests()) == 1
    assert services.answer(bot_id=bot.user_id, message_id=question.pk).outcome == "duplicate"


def test_the_bot_does_not_answer_itself_or_system_messages(fake_ai, group, people, bot):
    answer = services.answer(bot_id=bot.user_id, message_id=send(people[1], group, "hi").pk)
    notice = Message.objects.filter(conversation=group, message_type="system").first()
    assert services.answer(bot_id=bot.user_id, message_id=answer.message.pk).outcome == "skipped"
    assert services.answer(bot_id=bot.user_id, message_id=notice.pk).outcome == "skipped"
    assert len(fake_ai.requests()) == 1


def test_each_call_is_audited_without_its_content(fake_ai, group, people, bot):
    _mentor, sam, _sofia = people
    fake_ai.control("normal", answer="A confidential answer about grades.")
    question = send(sam, group, "My private question about grades")
    services.answer(bot_id=bot.user_id, message_id=question.pk)
    row = AuditLog.objects.get(action=AuditAction.ASSISTANT_ANSWER)
    assert row.actor_id == sam.pk
    assert row.conversation_id == group.pk
    assert row.message_id == question.pk
    assert row.target_user_id == bot.user_id
    assert row.details["model"] == MODEL
    assert row.details["outcome"] == "answered"
    assert row.details["prompt_tokens"] == 42 and row.details["completion_tokens"] == 7
    assert row.details["answer_id"] == str(bot_messages(bot)[0].pk)
    text = json.dumps(row.details)
    assert "grades" not in text and "confidential" not in text


def test_a_flood_of_questions_is_answered_within_the_askers_budget(
    fake_ai, settings, group, people, bot
):
    """Each answer is a paid call: past their budget a person's questions
    reach no endpoint; the first is told when to ask again, the rest get
    nothing (no flood of refusals); someone else is answered as usual."""
    settings.AI_ANSWER_BURST = 2
    settings.AI_ANSWERS_PER_HOUR = 1
    _mentor, sam, sofia = people
    outcomes = [
        services.answer(bot_id=bot.user_id, message_id=send(sam, group, f"Question {n}?").pk)
        for n in range(5)
    ]
    assert [o.outcome for o in outcomes] == [
        "answered",
        "answered",
        "limited",
        "limited",
        "limited",
    ]
    assert len(fake_ai.requests()) == 2
    told = outcomes[2].message
    assert told is not None and "ask me again in" in told.content
    assert outcomes[3].message is None and outcomes[4].message is None
    assert len(bot_messages(bot)) == 3
    row = AuditLog.objects.get(action=AuditAction.ASSISTANT_ANSWER, details__outcome="limited")
    assert row.actor_id == sam.pk and row.details["retry_after"] > 0
    # Sofia's budget is her own.
    theirs = services.answer(bot_id=bot.user_id, message_id=send(sofia, group, "Mine?").pk)
    assert theirs.outcome == "answered" and len(fake_ai.requests()) == 3
