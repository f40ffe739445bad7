"""The parts of a message's payload that come from ``messaging.threads``:
its thread summary, the message it quotes, its reactions, its pin and its
link preview (docs/protocol.md, "Message payload").

Every piece reads what the selectors loaded with the message
(``with_extras``) and costs no query then; a message just stored has none of
them yet (``mark_fresh``) and costs none either. Anything else is read on
demand, correct but slower.
"""

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Prefetch, QuerySet

from messaging.threads.markdown import words_of
from messaging.threads.models import Reaction

# How much of a quoted message a reply shows.
QUOTE_EXCERPT_CHARS = 200

_ONE_TO_ONE = ("thread", "pin", "link_preview")


def with_extras(messages: QuerySet) -> QuerySet:
    """``messages`` with everything ``message_extras`` reads, in a fixed
    number of queries (not one per message)."""
    return messages.select_related(
        "reply_to__sender", "thread", "pin__pinned_by", "link_preview"
    ).prefetch_related(
        Prefetch(
            "reactions",
            queryset=Reaction.objects.select_related("user").order_by("created_at", "id"),
        )
    )


def mark_fresh(message) -> None:
    """A message just stored: no thread, reactions, pin or preview yet, and
    its payload must not ask the database so (the send path)."""
    for name in _ONE_TO_ONE:
        message._state.fields_cache[name] = None
    cache = getattr(message, "_prefetched_objects_cache", None)
    if cache is None:
        cache = {}
        # Django's own attribute for prefetched relations.
        setattr(message, "_prefetched_objects_cache", cache)  # noqa: B010
    cache["reactions"] = []


def as_sent(message) -> None:
    """``message`` as its sender sent it, for a sender who may no longer
    read its conversation (removed, left): nothing the conversation did
    since (reactions, a pin, its thread, a link card, the quoted message's
    later state) shows in its payload, and none of it is asked."""
    mark_fresh(message)
    message._state.fields_cache["reply_to"] = None


def one_to_one(message, name: str):
    """The related row, or None when there is none (cached or read now)."""
    try:
        return getattr(message, name)
    except ObjectDoesNotExist:
        return None


def message_extras(message, *, user_payload, iso) -> dict:
    """The threads fields of ``message``'s payload. A deleted or hidden
    message keeps its thread summary (its replies stand) and loses the rest."""
    gone = bool(message.deleted_at or message.hidden_at)
    thread = one_to_one(message, "thread")
    return {
        "parent_id": str(message.parent_id) if message.parent_id else None,
        "also_to_conversation": message.also_to_conversation,
        "reply_to": quote_payload(message, user_payload=user_payload),
        "content_html": "" if gone else message.content_html,
        "thread": thread_payload(thread, iso=iso) if thread and thread.reply_count else None,
        "reactions": [] if gone else reactions_payload(message.reactions.all(), user_payload),
        "pinned": None if gone else pin_payload(one_to_one(message, "pin"), user_payload, iso),
        "link_preview": None if gone else preview_payload(one_to_one(message, "link_preview")),
    }


def quote_payload(message, *, user_payload) -> dict | None:
    """The message a reply quotes: who, where, and an excerpt of its words
    (none once it is deleted or hidden)."""
    if not message.reply_to_id:
        return None
    quoted = message.reply_to
    if quoted is None:
        return None
    gone = bool(quoted.deleted_at or quoted.hidden_at)
    return {
        "id": str(quoted.pk),
        "seq": quoted.seq,
        "parent_id": str(quoted.parent_id) if quoted.parent_id else None,
        "sender": user_payload(quoted.sender) if quoted.sender_id else None,
        "excerpt": "" if gone else _excerpt(words_of(quoted)),
        "deleted": bool(quoted.deleted_at),
        "hidden": bool(quoted.hidden_at),
    }


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= QUOTE_EXCERPT_CHARS:
        return text
    return text[: QUOTE_EXCERPT_CHARS - 1].rstrip() + "…"


def thread_payload(thread, *, iso) -> dict:
    return {
        "reply_count": thread.reply_count,
        "last_reply_at": iso(thread.last_reply_at),
        "last_reply_seq": thread.last_reply_seq,
        "last_repliers": list(thread.last_repliers or []),
    }


def reactions_payload(reactions, user_payload) -> list[dict]:
    """Reactions grouped by emoji, in the order each emoji first came, each
    with its count and who reacted (in the order they did)."""
    grouped: dict[str, list] = {}
    for reaction in reactions:
        grouped.setdefault(reaction.emoji, []).append(user_payload(reaction.user))
    return [{"emoji": e, "count": len(users), "users": users} for e, users in grouped.items()]


def pin_payload(pin, user_payload, iso) -> dict | None:
    if pin is None:
        return None
    return {
        "pinned_by": user_payload(pin.pinned_by) if pin.pinned_by_id else None,
        "pinned_at": iso(pin.pinned_at),
    }


def preview_payload(preview) -> dict | None:
    """A ready link card; nothing while it is fetched, when it failed, or
    once its sender removed it."""
    if preview is None or preview.state != "ready":
        return None
    return {
        "url": preview.url,
        "title": preview.title,
        "description": preview.description,
        "site_name": preview.site_name,
        "image_url": f"/api/messages/{preview.message_id}/preview/image/"
        if preview.image_name
        else None,
        "image_width": preview.image_width,
        "image_height": preview.image_height,
    }
