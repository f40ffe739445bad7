"""The transaction of one service call, and the row locks writers queue on."""

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from uuid import UUID

from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import audit
from messaging.errors import NotFound
from messaging.models import Conversation


@contextmanager
def write_transaction(
    *, actor: User, attempted: str, conversation_id: UUID | None = None, atomic: bool = True
) -> Iterator[None]:
    """The transaction of one service call. An AccessDenied raised inside
    rolls it back, then is recorded in the audit log, outside the rollback.

    ``atomic=False`` is for a call that writes with one statement, atomic
    on its own, and nothing else: it runs in autocommit, and callbacks
    registered with ``on_commit`` run as soon as they are registered."""
    with (
        audit.denials_recorded(actor=actor, attempted=attempted, conversation_id=conversation_id),
        transaction.atomic() if atomic else nullcontext(),
    ):
        yield


def lock_conversation(conversation_id: UUID) -> Conversation:
    """Lock the conversation row for the rest of the transaction: writers to
    one conversation queue here, which keeps seq contiguous."""
    try:
        return Conversation.objects.select_for_update().get(pk=conversation_id)
    except Conversation.DoesNotExist:
        raise NotFound(_("No such conversation.")) from None


def lock_person(user: User) -> None:
    """Lock the person's row for the rest of the transaction: one person's
    writes under a cap of theirs (an upload quota, scheduled messages, their
    devices) go one at a time, so two at once cannot both see room for one
    more. (SQLite writes one transaction at a time anyway.)"""
    list(User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True))
