"""Who a message mentions: ``@Display Name`` of the conversation's current
members, and ``@all`` / ``@here`` in group and support conversations.

The result is stored with the message (``metadata["mentions"]``, a list of
user id strings, and ``metadata["mention_everyone"]``, ``"all"`` or
``"here"``), so that the fan-out, the page and other clients read one answer
instead of parsing the text again (docs/protocol.md, message payload).

Matching rules, in the order they decide:

* ``@`` starts a mention only at the start of the text or after a character
  that cannot be part of an email address's local part, so
  ``ann@Sam Student.org`` mentions nobody.
* Names are tried longest first, case-insensitively, and must end where a
  word ends: with members "Sam" and "Sam Student", ``@Sam Student,`` is the
  longer one and ``@Sam Studio`` is "Sam".
* ``@all`` and ``@here`` count only when ``policy.may_mention_everyone``;
  otherwise they are plain text. When they count, they mean everyone even
  if a member is named "all" or "here": a name cannot take a mentor's
  broadcast over (such names are refused now, ``validation
  .clean_display_name``, but older accounts may hold one).
"""

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from uuid import UUID

from accounts.models import User
from messaging import policy
from messaging.models import Conversation, ConversationParticipant

EVERYONE = ("all", "here")

# Characters of an email address's local part: an "@" after one of these is
# part of an address, not a mention.
_NOT_BEFORE = r"(?<![\w.+\-%'])"


@dataclass(frozen=True)
class Mentions:
    user_ids: list[str] = field(default_factory=list)  # in order of first mention
    everyone: str | None = None  # "all", "here" or None
    # The mentioned members' display names by user id: what the renderer
    # needs to draw the mentions (markdown.render), not stored.
    names: dict[str, str] = field(default_factory=dict, compare=False)

    def as_metadata(self) -> dict:
        """The keys stored in ``Message.metadata`` (none when nothing is mentioned)."""
        stored: dict = {}
        if self.user_ids:
            stored["mentions"] = list(self.user_ids)
        if self.everyone:
            stored["mention_everyone"] = self.everyone
        return stored


def matches(text: str, *, names: Iterable[str]) -> Iterator[re.Match]:
    """Where ``text`` mentions one of ``names`` (display names or the
    ``EVERYONE`` keywords), by the rules above; each match's ``group(1)``
    is the name as written. The one matcher: ``find_mentions`` decides who
    is mentioned with it, and the renderer (``messaging.threads.markdown``)
    draws the same spans with it."""
    if "@" not in text:
        return iter(())
    folded = {n.strip().casefold() for n in names if n.strip()}
    if not folded:
        return iter(())
    return _pattern(frozenset(folded)).finditer(text)


@functools.lru_cache(maxsize=256)
def _pattern(names: frozenset[str]) -> re.Pattern:
    alternatives = "|".join(re.escape(n) for n in sorted(names, key=lambda n: (-len(n), n)))
    return re.compile(_NOT_BEFORE + "@(" + alternatives + r")(?!\w)", re.IGNORECASE)


def find_mentions(
    content: str, *, members: Iterable[tuple[UUID | str, str]], everyone_allowed: bool
) -> Mentions:
    """The mentions in ``content`` of ``members`` (``(user id, display
    name)`` pairs), and ``@all``/``@here`` when ``everyone_allowed``. Pure."""
    if "@" not in content:
        return Mentions()
    by_name: dict[str, list[tuple[str, str]]] = {}
    for user_id, name in members:
        name = name.strip()
        if name and not (everyone_allowed and name.casefold() in EVERYONE):
            by_name.setdefault(name.casefold(), []).append((str(user_id), name))
    names = set(by_name)
    if everyone_allowed:
        names |= set(EVERYONE)
    user_ids: list[str] = []
    shown: dict[str, str] = {}
    everyone: str | None = None
    for match in matches(content, names=names):
        said = match.group(1).casefold()
        if said in by_name:
            for user_id, name in by_name[said]:
                if user_id not in user_ids:
                    user_ids.append(user_id)
                    shown[user_id] = name
        elif said in EVERYONE:
            # "@all" reaches more people than "@here": the wider one wins.
            everyone = "all" if "all" in (everyone, said) else said
    return Mentions(user_ids=user_ids, everyone=everyone, names=shown)


def mentions_in(*, sender: User, conversation_id: UUID, content: str) -> Mentions:
    """``find_mentions`` against the conversation's current members, with
    the policy's word on ``@all``/``@here``. One query, none without an ``@``."""
    if "@" not in content:
        return Mentions()
    rows = list(
        ConversationParticipant.objects.active()
        .filter(conversation_id=conversation_id)
        .values_list("user_id", "user__display_name", "conversation__type")
    )
    if not rows:
        return Mentions()
    conversation = Conversation(pk=conversation_id, type=rows[0][2])
    return find_mentions(
        content,
        members=[(user_id, name) for user_id, name, _ in rows],
        everyone_allowed=policy.may_mention_everyone(sender, conversation),
    )


def with_mentions(metadata: dict | None, mentions: Mentions) -> dict:
    """``metadata`` with its mention keys replaced by ``mentions``'."""
    updated = {
        k: v for k, v in (metadata or {}).items() if k not in ("mentions", "mention_everyone")
    }
    updated.update(mentions.as_metadata())
    return updated
