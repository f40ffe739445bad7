"""The assistant's writes: its answer to a message, the summary of a
member's unread messages, and the demo's bot.

An answer (``answer``) is an ordinary message of the bot, sent with
``messaging.services.send_message`` and, while the endpoint streams,
edited with ``edit_message`` as the text grows (at most every
``AI_STREAM_EDIT_INTERVAL_SECONDS``, and once more with the full text):
members see ``message.new`` on the first words and ``message.edited`` after
(docs/protocol.md, "The AI assistant"). Its ``client_id`` is derived from
(bot, triggering message), so however often the task runs there is one
answer. Every call of the endpoint writes one ``assistant.answer`` or
``assistant.summary`` audit row: who asked, where, the model, the token
counts the endpoint gave, the outcome; never the text.
"""

import contextlib
import logging
import math
import time
import unicodedata
import uuid
from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.locale import speaking_to
from accounts.models import User
from messaging import audit, limits, policy
from messaging import selectors as messaging_selectors
from messaging.e2e import messages as e2e_messages
from messaging.errors import ClientIdConflict, MessagingError
from messaging.integrations.assistant import budget, client, selectors
from messaging.integrations.assistant.errors import AssistantUnavailable, NoAssistant
from messaging.integrations.assistant.indicator import TypingShown
from messaging.integrations.models import Bot
from messaging.models import AuditAction, ConversationType, Message, MessageType
from messaging.services import edit_message, send_message

logger = logging.getLogger(__name__)

ASSISTANT_NAME = "Success Partner AI"
# The system message when an admin has written no instructions.
DEFAULT_INSTRUCTIONS = (
    "You are Success Partner AI, the assistant of an education platform's chat. "
    "You help students and mentors: answer clearly, kindly and briefly, in the "
    "language you are written to. If you do not know something, say so."
)
SUMMARY_INSTRUCTIONS = (
    "Summarise the conversation messages below for a mentor who has not read them: "
    "the main points, questions waiting for an answer, and who needs what. "
    "Use a few short bullet points, in the language of the messages."
)
# One message shown to the endpoint is cut to this many characters.
MAX_CHARS_PER_MESSAGE = 2000
# Keys of the answer's client_id: uuid5 of (bot, triggering message).
_ANSWER_NAMESPACE = uuid.UUID("6f1d7c52-3b0e-4b8e-9a55-0d7b1a9c2e41")


def answer_client_id(bot_id: UUID | str, message_id: UUID | str) -> UUID:
    """The ``client_id`` of the bot's answer to that message: the same
    every time, so a second run of the task finds the first's answer."""
    return uuid.uuid5(_ANSWER_NAMESPACE, f"{UUID(str(bot_id))}:{UUID(str(message_id))}")


def postable_text(text: str) -> str:
    """The model's text as a message may carry it: without the characters
    ``messaging.validation`` refuses (control characters but line breaks
    and tabs, surrogates, noncharacters), cut to the message length limit."""
    kept = "".join(
        ch
        for ch in text
        if ch in "\n\t"
        or (
            unicodedata.category(ch) not in ("Cc", "Cs")
            and not (0xFDD0 <= ord(ch) <= 0xFDEF or (ord(ch) & 0xFFFE) == 0xFFFE)
        )
    )
    return kept[: limits.max_content_chars()]


# --- Prompts --------------------------------------------------------------------


def _shown(message: Message) -> str:
    text = message.content.strip() or "[a file]"
    return text[:MAX_CHARS_PER_MESSAGE]


def _speaker(message: Message) -> str:
    return message.sender.display_name if message.sender else "?"


def answer_prompt(bot: Bot, history: list[Message], *, title: str) -> list[dict]:
    """The chat-completions ``messages`` for an answer: the bot's
    instructions (``DEFAULT_INSTRUCTIONS`` when empty) as the system
    message, then ``history`` oldest first, the bot's own messages as
    ``assistant``, everyone else's as ``user`` prefixed with their name."""
    instructions = bot.instructions.strip() or DEFAULT_INSTRUCTIONS
    where = f' in the conversation "{title}"' if title else ""
    system = (
        f"{instructions}\n\nYou are {bot.user.display_name}, a member of a chat{where}. "
        "Each message from a person starts with their name and a colon."
    )
    prompt = [{"role": "system", "content": system}]
    for message in history:
        if message.sender_id == bot.user_id:
            prompt.append({"role": "assistant", "content": _shown(message)})
        else:
            prompt.append({"role": "user", "content": f"{_speaker(message)}: {_shown(message)}"})
    return prompt


def summary_prompt(bot: Bot, messages: list[Message]) -> list[dict]:
    instructions = bot.instructions.strip() or DEFAULT_INSTRUCTIONS
    transcript = "\n".join(f"{_speaker(m)}: {_shown(m)}" for m in messages)
    return [
        {"role": "system", "content": f"{instructions}\n\n{SUMMARY_INSTRUCTIONS}"},
        {"role": "user", "content": transcript},
    ]


# --- Answers ----------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerResult:
    """What ``answer`` did: ``outcome`` is ``answered``, ``partial`` (the
    stream broke off: the text so far with a note), ``failed`` (the error
    message was posted), ``refused`` (the bot's message was refused: it was
    removed, the conversation archived, a content rule), ``superseded``
    (another run posted the answer first), or, with no call made,
    ``duplicate`` (answered already) and ``skipped`` (off, not a member,
    nothing to answer)."""

    outcome: str
    message: Message | None = None


class _Superseded(Exception):
    """Another run of the same answer posted it first: this one stops."""


class _AnswerWriter:
    """Posts the answer on its first words and edits it as it grows."""

    def __init__(self, *, bot_user: User, trigger: Message, client_id: UUID, interval: float):
        self.bot_user = bot_user
        self.trigger = trigger
        self.client_id = client_id
        self.interval = interval
        self.message: Message | None = None
        self.shown = ""
        self._edited_at = 0.0

    def update(self, text: str) -> None:
        """The answer so far (a stream's chunk arrived)."""
        text = postable_text(text)
        if not text.strip():
            return
        if self.message is None:
            self._post(text)
        elif time.monotonic() - self._edited_at >= self.interval:
            self._edit(text)

    def finish(self, text: str) -> None:
        """The whole answer: posted, or the last edit to it."""
        text = postable_text(text)
        if self.message is None:
            self._post(text)
        elif text != self.shown:
            self._edit(text)

    def _post(self, text: str) -> None:
        conversation = self.trigger.conversation
        threaded = not self.trigger.in_main_stream
        try:
            result = send_message(
                sender=self.bot_user,
                conversation_id=self.trigger.conversation_id,
                content=text,
                client_id=self.client_id,
                parent_id=self.trigger.parent_id if threaded else None,
                # In a group, the answer quotes what it answers.
                reply_to_id=(
                    self.trigger.pk
                    if not threaded and conversation.type != ConversationType.DIRECT
                    else None
                ),
            )
        except ClientIdConflict:
            raise _Superseded from None
        if not result.created:
            raise _Superseded
        self.message = result.message
        self.shown = text
        self._edited_at = time.monotonic()

    def _edit(self, text: str) -> None:
        assert self.message is not None
        self.message = edit_message(editor=self.bot_user, message_id=self.message.pk, content=text)
        self.shown = text
        self._edited_at = time.monotonic()


def answer(*, bot_id: UUID, message_id: UUID) -> AnswerResult:
    """The assistant ``bot_id`` answers message ``message_id``.

    Nothing happens (``skipped``) when the assistant is off (no
    ``AI_BASE_URL``), the bot is not an active assistant bot, the message is
    gone, deleted, hidden, a system message or the bot's own, or the bot is
    not (or no longer) a member of its conversation (``policy.may_read``,
    asked now): the endpoint hears nothing then. Nothing happens either
    (``duplicate``) once the answer exists.

    Otherwise the endpoint gets the bot's instructions and the
    conversation's last ``AI_MAX_HISTORY_MESSAGES`` visible messages up to
    this one (its thread's, for a thread reply; ``selectors.history_before``),
    members see the bot typing until it is done, and the answer is posted
    (streamed: posted on the first words, then edited). If the endpoint
    fails (timeout, error status, malformed answer, refused address), the
    bot posts a short error message instead, or, mid-stream, finishes the
    text so far with a note. Audited (``assistant.answer``) whenever the
    endpoint was called."""
    endpoint = client.Endpoint.from_settings()
    if endpoint is None:
        logger.info("The assistant is off (no AI_BASE_URL): message %s not answered.", message_id)
        return AnswerResult("skipped")
    bot = selectors.assistant_bot(bot_id)
    trigger = Message.objects.select_related("conversation", "sender").filter(pk=message_id).first()
    if (
        bot is None
        or trigger is None
        or trigger.is_deleted
        or trigger.is_hidden
        or trigger.message_type == MessageType.SYSTEM
        or trigger.sender is None
        or trigger.sender_id == bot.user_id
        or not policy.may_read(bot.user, trigger.conversation)
    ):
        return AnswerResult("skipped")
    client_id = answer_client_id(bot.user_id, trigger.pk)
    existing = Message.objects.filter(sender=bot.user, client_id=client_id).first()
    if existing is not None:
        return AnswerResult("duplicate", existing)
    asker = trigger.sender
    wait = budget.spend(asker)
    if wait:
        return _limited(bot, trigger, asker, client_id, wait)

    history = selectors.history_before(trigger, limit=settings.AI_MAX_HISTORY_MESSAGES)
    prompt = answer_prompt(bot, history, title=trigger.conversation.title)
    writer = _AnswerWriter(
        bot_user=bot.user,
        trigger=trigger,
        client_id=client_id,
        interval=settings.AI_STREAM_EDIT_INTERVAL_SECONDS,
    )
    started = time.monotonic()
    completion: client.Completion | None = None
    error = ""
    with TypingShown(user=bot.user, conversation_id=trigger.conversation_id):
        try:
            try:
                completion = client.complete(
                    endpoint, prompt, max_tokens=settings.AI_MAX_TOKENS, on_text=writer.update
                )
                if not postable_text(completion.text).strip():
                    raise client.CallFailed("malformed", "The answer has no text.")
                writer.finish(completion.text)
                outcome = "answered"
            except client.CallFailed as failure:
                error = failure.code
                logger.warning("The assistant could not answer %s: %s", trigger.pk, failure.detail)
                if writer.message is None:
                    writer.finish(_("The assistant could not answer right now."))
                    outcome = "failed"
                else:
                    writer.finish(writer.shown + "\n\n_" + _("(The answer was cut short.)") + "_")
                    outcome = "partial"
        except _Superseded:
            outcome = "superseded"
        except MessagingError as refusal:
            # Removed from the conversation, archived, a content rule: the
            # bot may not post, and the conversation is as its members left it.
            error = refusal.code
            logger.info("The assistant's answer to %s was refused: %s", trigger.pk, refusal)
            outcome = "refused"
    _audited(
        trigger,
        bot,
        writer,
        model=endpoint.model,
        outcome=outcome,
        error=error,
        streamed=completion.streamed if completion else None,
        prompt_tokens=completion.prompt_tokens if completion else None,
        completion_tokens=completion.completion_tokens if completion else None,
        history_messages=len(history),
        seconds=round(time.monotonic() - started, 3),
    )
    return AnswerResult(outcome, writer.message)


def _limited(bot: Bot, trigger: Message, asker: User, client_id: UUID, wait: float) -> AnswerResult:
    """The asker's answers are spent (``budget``): no call of the endpoint.
    The first ask past the budget is answered with when to ask again (in the
    asker's language; audited); later ones, until it refills, with nothing."""
    if not budget.first_refusal(asker, wait):
        logger.debug(
            "Assistant answers of %s are spent: %s not answered", trigger.sender_id, trigger.pk
        )
        return AnswerResult("limited")
    minutes = max(1, math.ceil(wait / 60))
    with speaking_to(asker):
        text = ngettext(
            "I have answered as many questions from you as I may for now; "
            "ask me again in %(minutes)s minute.",
            "I have answered as many questions from you as I may for now; "
            "ask me again in %(minutes)s minutes.",
            minutes,
        ) % {"minutes": minutes}
    writer = _AnswerWriter(bot_user=bot.user, trigger=trigger, client_id=client_id, interval=0)
    with contextlib.suppress(_Superseded, MessagingError):
        writer.finish(text)  # else answered already, or the bot may not post there
    _audited(trigger, bot, writer, outcome="limited", retry_after=round(wait))
    return AnswerResult("limited", writer.message)


def _audited(trigger: Message, bot: Bot, writer: _AnswerWriter, **details) -> None:
    """The ``assistant.answer`` row of an ask (never its text)."""
    audit.record(
        actor=trigger.sender,
        action=AuditAction.ASSISTANT_ANSWER,
        conversation_id=trigger.conversation_id,
        message_id=trigger.pk,
        target_user_id=bot.user_id,
        answer_id=str(writer.message.pk) if writer.message else None,
        **details,
    )


# --- Summaries -------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """A summary for one member, returned to them only. ``covered``: the
    unread messages it summarises (the latest ``AI_SUMMARY_MAX_MESSAGES``);
    ``unread``: all of them. No unread messages: empty text, no call."""

    text: str
    covered: int
    unread: int
    bot: Bot


def summarise_unread(*, user: User, conversation_id: UUID, after_seq: int | None = None) -> Summary:
    """The conversation's assistant summarises ``user``'s unread messages
    there (``selectors.unread_for``: above ``after_seq``, by default their
    read cursor), for them alone: nothing is posted and nothing is marked
    read.

    ``user`` must be a member (else ``NotVisible``: answered as a missing
    conversation) and a mentor or admin (``policy.check_summarise``:
    ``forbidden``); the conversation must have an assistant member
    (``NoAssistant``); the assistant must be on and its endpoint answer
    (``AssistantUnavailable``). Audited (``assistant.summary``) when the
    endpoint was called."""
    membership = messaging_selectors.membership_for(
        user, conversation_id, attempted=AuditAction.ASSISTANT_SUMMARY
    )
    with audit.denials_recorded(
        actor=user, attempted=AuditAction.ASSISTANT_SUMMARY, conversation_id=conversation_id
    ):
        policy.check_summarise(user, membership.conversation, membership=membership)
    # The server has no text to give it (docs/e2e.md).
    e2e_messages.refuse_if_encrypted(conversation_id)
    bot = selectors.assistant_in(conversation_id)
    if bot is None:
        raise NoAssistant(_("This conversation has no AI assistant among its members."))
    endpoint = client.Endpoint.from_settings()
    if endpoint is None:
        raise AssistantUnavailable(_("The AI assistant is not configured."))
    messages, unread = selectors.unread_for(
        membership, after_seq=after_seq, limit=settings.AI_SUMMARY_MAX_MESSAGES
    )
    if not messages:
        return Summary(text="", covered=0, unread=0, bot=bot)
    started = time.monotonic()
    completion: client.Completion | None = None
    error = ""
    try:
        completion = client.complete(
            endpoint, summary_prompt(bot, messages), max_tokens=settings.AI_MAX_TOKENS
        )
        if not completion.text.strip():
            raise client.CallFailed("malformed", "The answer has no text.")
    except client.CallFailed as failure:
        error = failure.code
        logger.warning("The assistant could not summarise %s: %s", conversation_id, failure.detail)
    audit.record(
        actor=user,
        action=AuditAction.ASSISTANT_SUMMARY,
        conversation_id=conversation_id,
        target_user_id=bot.user_id,
        model=endpoint.model,
        outcome="failed" if error else "summarised",
        error=error,
        streamed=completion.streamed if completion else None,
        prompt_tokens=completion.prompt_tokens if completion else None,
        completion_tokens=completion.completion_tokens if completion else None,
        covered=len(messages),
        unread=unread,
        seconds=round(time.monotonic() - started, 3),
    )
    if completion is None or error:
        raise AssistantUnavailable(_("The assistant could not answer right now."))
    return Summary(
        text=postable_text(completion.text).strip(), covered=len(messages), unread=unread, bot=bot
    )


# --- The bot itself (demo and setup) ---------------------------------------------
