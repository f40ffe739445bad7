"""Checking one text (a message, a caption, a file name) against the rules
that apply to its sender: the verdict says whether it is refused and which
flagging rules it hit. Reads only; ``services`` writes what a verdict
leaves behind."""

import logging
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.models import User
from messaging.errors import ContentBlocked
from messaging.models import Conversation, FilterAction, FilterKind, Message
from messaging.moderation.filtering import links, normalize
from messaging.moderation.filtering.rules import (
    FIELD_CONTENT,
    PATTERN_TIMEOUT_SECONDS,
    CompiledRule,
    active_rules,
)

logger = logging.getLogger(__name__)

DEFAULT_REFUSAL = gettext_lazy(
    "This message can't be sent: it contains something the community rules don't allow."
)
EXCERPT_CHARS = 300
# The repeat rule compares a send with at most this many of the sender's
# latest messages in its window: more than that in a window is spam anyway.
REPEAT_LOOKBACK_ROWS = 200


@dataclass(frozen=True)
class Hit:
    """One rule that matched one field."""

    rule_id: UUID
    rule_name: str
    kind: str
    action: str
    message: str  # what the sender is told when it blocks ("": the general refusal)
    field: str
    excerpt: str


class Blocked(ContentBlocked):
    """``ContentBlocked`` with what the hit record needs: raised inside the
    send's (or edit's, or upload's) transaction, recorded outside it
    (``services.blocks_recorded``)."""

    def __init__(self, hit: Hit, *, user: User, conversation_id: UUID):
        super().__init__(hit.message or str(DEFAULT_REFUSAL), rule=hit.kind)
        self.hit = hit
        self.user = user
        self.conversation_id = conversation_id


@dataclass(frozen=True)
class Verdict:
    """What the rules said about a send: hits in rule order; the first
    blocking one refuses it, the flagging ones go to the moderation queue."""

    user: User
    conversation_id: UUID
    hits: tuple[Hit, ...] = ()

    @property
    def blocking(self) -> Hit | None:
        return next((hit for hit in self.hits if hit.action == FilterAction.BLOCK), None)

    @property
    def flags(self) -> tuple[Hit, ...]:
        return tuple(hit for hit in self.hits if hit.action == FilterAction.FLAG)

    def __add__(self, other: "Verdict") -> "Verdict":
        return Verdict(self.user, self.conversation_id, self.hits + other.hits)

    def refuse(self) -> None:
        """Raise ``Blocked`` if a blocking rule matched."""
        hit = self.blocking
        if hit is not None:
            raise Blocked(hit, user=self.user, conversation_id=self.conversation_id)


def _matches_text(rule: CompiledRule, forms: normalize.Forms) -> bool:
    if rule.kind == FilterKind.TERM:
        assert rule.words is not None and rule.whole is not None
        return any(rule.words.search(form) for form in forms.squeezed) or any(
            rule.whole.fullmatch(run) for run in forms.spaced
        )
    if rule.kind == FilterKind.PATTERN:
        return _pattern_matches(rule, forms)
    return False


def _pattern_matches(rule: CompiledRule, forms: normalize.Forms) -> bool:
    """The expression against the folded text, then against the text with
    letter substitutions read ("b4d" → "bad"). An expression that runs past
    its time limit is treated as no match, and logged."""
    for form in dict.fromkeys((forms.folded, forms.squeezed[0])):
        try:
            if rule.pattern.search(form, timeout=PATTERN_TIMEOUT_SECONDS):
                return True
        except TimeoutError:
            logger.warning("Filter rule %s: its pattern ran out of time", rule.id)
            return False
    return False


def _too_many_links(rule: CompiledRule, user: User, text: str) -> bool:
    if user.date_joined <= timezone.now() - timedelta(days=rule.new_account_days):
        return False
    return links.count_links(text) > rule.max_links


def _repeated(rules: list[CompiledRule], user: User, text: str, editing: UUID | None) -> set[UUID]:
    """The repeat rules that this send completes: it and the sender's
    earlier messages (any conversation) with the same folded text make
    ``repeat_count`` within ``repeat_window_seconds``. One query, on the
    (sender, sent_at) index."""
    key = normalize.repeat_key(text)
    if not key:
        return set()
    now = timezone.now()
    since = now - timedelta(seconds=max(rule.repeat_window_seconds for rule in rules))
    recent = Message.objects.filter(sender=user, sent_at__gte=since, deleted_at__isnull=True)
    if editing is not None:
        recent = recent.exclude(pk=editing)
    same = [
        sent_at
        for content, sent_at in recent.order_by("-sent_at").values_list("content", "sent_at")[
            :REPEAT_LOOKBACK_ROWS
        ]
        if normalize.repeat_key(content) == key
    ]

    def within(rule: CompiledRule) -> int:
        since = now - timedelta(seconds=rule.repeat_window_seconds)
        return sum(1 for sent_at in same if sent_at >= since)

    # This send is one of them.
    return {rule.id for rule in rules if 1 + within(rule) >= rule.repeat_count}


def check(
    *,
    user: User,
    conversation: Conversation | UUID,
    text: str,
    field: str = FIELD_CONTENT,
    editing: UUID | None = None,
) -> Verdict:
    """The rules that apply to ``user`` (their role) and ``field`` against
    ``text``. ``editing``: the message being edited, which the repeat rule
    does not count against itself.

    Costs no query while the rules are unchanged (``rules.active_rules``);
    a repeat rule that applies to the sender costs one. Stops at the first
    blocking rule."""
    conversation_id = conversation.pk if isinstance(conversation, Conversation) else conversation
    verdict = Verdict(user, conversation_id)
    rules = [rule for rule in active_rules() if rule.applies(role=user.role, field=field)]
    if not rules or not text:
        return verdict
    excerpt = text[:EXCERPT_CHARS]
    forms: normalize.Forms | None = None
    hits: list[Hit] = []
    repeat_rules: list[CompiledRule] = []

    def hit(rule: CompiledRule) -> Hit:
        return Hit(rule.id, rule.name, rule.kind, rule.action, rule.message, field, excerpt)

    for rule in rules:
        if rule.kind in (FilterKind.TERM, FilterKind.PATTERN):
            forms = forms or normalize.forms(text)
            matched = _matches_text(rule, forms)
        elif rule.kind == FilterKind.LINK_LIMIT:
            matched = _too_many_links(rule, user, text)
        else:
            repeat_rules.append(rule)
            continue
        if matched:
            hits.append(hit(rule))
            if rule.action == FilterAction.BLOCK:
                return Verdict(user, conversation_id, tuple(hits))
    if repeat_rules:
        repeated = _repeated(repeat_rules, user, text, editing)
        for rule in repeat_rules:
            if rule.id in repeated:
                hits.append(hit(rule))
                if rule.action == FilterAction.BLOCK:
                    break
    return Verdict(user, conversation_id, tuple(hits))
