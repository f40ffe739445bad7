"""What a filter verdict leaves behind, and changes to the rules.

A blocked send stores nothing, so its hit is written after the refused
transaction rolled back (``blocks_recorded``, like ``audit.denials_recorded``);
a flagged send's hits are written in the send's own transaction, beside the
message they flag (``record_flags``), and put the message in the moderation
queue.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID

from django.db import transaction

from accounts.models import User
from messaging import audit
from messaging.models import AuditAction, Conversation, FilterHit, FilterRule, Message
from messaging.moderation.filtering import rules
from messaging.moderation.filtering.checks import Blocked, Hit, Verdict
from messaging.moderation.services import cases


def _write_hit(
    hit: Hit, *, user: User, conversation_id: UUID | None, message: Message | None
) -> None:
    # The rule may have been deleted since the rules were read: keep its name.
    rule_id = hit.rule_id if FilterRule.objects.filter(pk=hit.rule_id).exists() else None
    FilterHit.objects.create(
        rule_id=rule_id,
        rule_name=hit.rule_name,
        action=hit.action,
        user=user,
        conversation_id=conversation_id,
        message=message,
        field=hit.field,
        excerpt=hit.excerpt,
    )
    audit.record(
        actor=user,
        action=AuditAction.FILTER_HIT,
        conversation_id=conversation_id,
        message_id=message.pk if message is not None else None,
        rule=str(hit.rule_id),
        rule_name=hit.rule_name,
        kind=hit.kind,
        field=hit.field,
        filter_action=hit.action,
    )


def record_block(blocked: Blocked) -> None:
    """The hit of a refused send, edit or upload (no message) and its audit
    row, in a transaction of their own. A conversation the refused write
    was making (a support request's opening) rolled back with it: the hit
    then names none."""
    stored = Conversation.objects.filter(pk=blocked.conversation_id).exists()
    with transaction.atomic():
        _write_hit(
            blocked.hit,
            user=blocked.user,
            conversation_id=blocked.conversation_id if stored else None,
            message=None,
        )


@contextmanager
def blocks_recorded() -> Iterator[None]:
    """Record the hit of any ``Blocked`` raised inside, then let it go on.
    Use it outside the refused transaction, so the record survives the
    rollback."""
    try:
        yield
    except Blocked as blocked:
        record_block(blocked)
        raise


def record_flags(verdict: Verdict, message: Message) -> None:
    """The flagging hits of a delivered ``message``: one hit and audit row
    each, and the message's case opened (or reopened) with that many flags.
    Run it in the send's (or edit's) transaction."""
    flags = verdict.flags
    if not flags:
        return
    for hit in flags:
        _write_hit(hit, user=verdict.user, conversation_id=message.conversation_id, message=message)
    cases.open_case(message, flags=len(flags))


# --- Rules ---------------------------------------------------------------------------


def save_rule(*, actor: User, rule: FilterRule, created: bool, changed: list[str]) -> FilterRule:
    """Save a rule edited in the admin, with its ``moderation.rule_change``
    audit row; every process reads the rules again once it commits."""
    with transaction.atomic():
        rule.save()
        audit.record(
            actor=actor,
            action=AuditAction.FILTER_RULE_CHANGE,
            change="created" if created else "changed",
            rule=str(rule.pk),
            rule_name=rule.name,
            kind=rule.kind,
            filter_action=rule.action,
            is_active=rule.is_active,
            fields=changed,
        )
        rules.rules_changed()
    return rule


def delete_rule(*, actor: User, rule: FilterRule) -> None:
    """Delete a rule, with its audit row; its hits keep the rule's name."""
    with transaction.atomic():
        audit.record(
            actor=actor,
            action=AuditAction.FILTER_RULE_CHANGE,
            change="deleted",
            rule=str(rule.pk),
            rule_name=rule.name,
            kind=rule.kind,
            filter_action=rule.action,
        )
        rule.delete()
        rules.rules_changed()
