"""A moderator reads a conversation they are not in, or fetches a reported
message's file: allowed to moderators only, and every opening is written
to the audit log, so reading people's messages is never invisible."""

from dataclasses import dataclass
from uuid import UUID

from django.core.paginator import Page, Paginator
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import audit, policy
from messaging.errors import AccessDenied, NotFound
from messaging.files.models import Attachment
from messaging.files.selectors import access
from messaging.models import AuditAction, Conversation
from messaging.moderation import queue

REVIEW_PAGE_SIZE = 50


@dataclass(frozen=True)
class ConversationReview:
    conversation: Conversation
    page: Page


def review_conversation(
    *, moderator: User, conversation_id: UUID, page_number: int | str | None = 1
) -> ConversationReview:
    """One page (``REVIEW_PAGE_SIZE`` messages, seq order) of a
    conversation's messages with their contents, hidden ones included, for
    a moderator (``policy.may_review_conversation``; a refusal is recorded
    and raised as AccessDenied). Each call writes a ``moderation.review``
    row (actor, conversation, page)."""
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        raise NotFound(_("No such conversation."))
    with audit.denials_recorded(
        actor=moderator,
        attempted=AuditAction.REVIEW_CONVERSATION,
        conversation_id=conversation_id,
    ):
        if not policy.may_review_conversation(moderator, conversation):
            raise AccessDenied(_("Only moderators review conversations."))
    page = Paginator(queue.messages_for_review(conversation.pk), REVIEW_PAGE_SIZE).get_page(
        page_number
    )
    audit.record(
        actor=moderator,
        action=AuditAction.REVIEW_CONVERSATION,
        conversation_id=conversation.pk,
        page=page.number,
    )
    return ConversationReview(conversation=conversation, page=page)


def attachment_for_moderator(*, moderator: User, attachment_id: UUID) -> Attachment:
    """The attachment of a sent message, for a moderator
    (``policy.may_fetch_attachment_as_moderator``). Anyone else is refused
    (recorded) with NotFound, as the members' download answers. The caller
    serves it with ``serving.serve_content(..., moderation=True)``, which
    writes the ``file.download`` row."""
    return access.attachment_for(
        moderator,
        attachment_id,
        may_fetch=policy.may_fetch_attachment_as_moderator,
        refusal="Only moderators fetch files through the moderation queue.",
    )
