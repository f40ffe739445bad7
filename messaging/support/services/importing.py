"""Importing the old Messages page's submissions (``manage.py
import_support_csv``)."""

import hashlib
import uuid
from datetime import datetime
from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import audit, events, notices, policy, validation
from messaging.errors import InvalidInput
from messaging.models import (
    AuditAction,
    Conversation,
    ConversationParticipant,
    ConversationType,
    Message,
)
from messaging.search.services import indexing
from messaging.services.conversations import _post_notice, create_conversation
from messaging.services.messages import send_message
from messaging.services.transactions import lock_conversation
from messaging.support.models import SupportCategory, SupportRequest, SupportStatus
from messaging.support.services import steps
from messaging.support.subjects import clean_subject

# The namespace of the client_ids of imported first messages (uuid5 of the
# row's legacy key): a second import of a row sends nothing new.
IMPORT_NAMESPACE = UUID("5d0f3b1e-6a43-4c1e-9a55-0c7e2a0b9d13")

# --- Import from the old Messages page -------------------------------------------------------


def legacy_key(*, email: str, category: str, subject: str, body: str, created_at: str) -> str:
    """A row's identity: the same row imported twice is found by this."""
    identity = "\x1f".join(
        (email.strip().lower(), category.strip().lower(), subject.strip(), body, created_at.strip())
    )
    return hashlib.sha256(identity.encode("utf-8", "surrogatepass")).hexdigest()


def import_request(
    *,
    requester: User,
    category: SupportCategory,
    subject: str,
    body: str,
    status: str,
    created_at: datetime,
    legacy_key: str,
) -> tuple[SupportRequest, bool]:
    """Import one submission of the old Messages page: a support request and
    its conversation with the first message, dated ``created_at``, in
    ``status`` (a resolved or closed one has ``resolved_at``/``closed_at`` =
    ``created_at``: the export has no later dates). Returns ``(request,
    created)``; a row imported before (``legacy_key``) is returned as it is.
    Notifies nobody (the first message is marked imported) and is audited as
    ``support.import``."""
    existing = SupportRequest.objects.filter(legacy_key=legacy_key).first()
    if existing is not None:
        return existing, False
    subject = clean_subject(subject)
    body = validation.clean_content(body)
    if status not in SupportStatus.values:
        raise InvalidInput(_("Unknown status %(status)s.") % {"status": repr(status)})
    if not policy.may_open_support(requester, requester):
        raise InvalidInput(
            _("%(email)s may not open support requests.") % {"email": requester.email}
        )
    try:
        with transaction.atomic():
            conversation = create_conversation(
                creator=requester, kind=ConversationType.SUPPORT, title=subject, notify=False
            )
            request = SupportRequest.objects.create(
                conversation=conversation,
                requester=requester,
                category=category,
                subject=subject,
                created_at=created_at,
                legacy_key=legacy_key,
            )
            first = send_message(
                sender=requester,
                conversation_id=conversation.pk,
                content=body,
                client_id=uuid.uuid5(IMPORT_NAMESPACE, legacy_key),
                metadata={"support": {"imported": True}},
                # History is imported as it was written, whatever the
                # content rules of today say.
                filtered=False,
            ).message
            conversation = lock_conversation(conversation.pk)
            steps.set_status(request, status, now=created_at)
            request.save(update_fields=["status", "resolved_at", "closed_at", "updated_at"])
            _post_notice(
                conversation,
                actor=requester,
                words=notices.notice(notices.SUPPORT_IMPORTED, status=status),
                metadata={
                    "support": {
                        "event": "opened",
                        "request_id": str(request.pk),
                        "imported": True,
                        "status": status,
                    }
                },
            )
            # The history keeps its own date, in search too; and it is old
            # news: read by everyone in it, so no inbox counts it as unread.
            Message.objects.filter(conversation=conversation).update(sent_at=created_at)
            first.sent_at = created_at
            indexing.index_message(first)
            Conversation.objects.filter(pk=conversation.pk).update(
                created_at=created_at, last_message_at=created_at
            )
            ConversationParticipant.objects.filter(conversation=conversation).update(
                last_read_seq=conversation.last_seq, last_delivered_seq=conversation.last_seq
            )
            audit.record(
                actor=None,
                action=AuditAction.SUPPORT_IMPORT,
                conversation_id=conversation.pk,
                request_id=str(request.pk),
                legacy_key=legacy_key,
                requester_id=str(requester.pk),
                status=status,
            )
            request = steps.fresh(request.pk)
            events.publish_on_commit(
                events.conversation_group(conversation.pk), events.support_updated(request)
            )
    except IntegrityError:
        # The same row, imported by a concurrent run a moment ago.
        existing = SupportRequest.objects.filter(legacy_key=legacy_key).first()
        if existing is None:
            raise
        return existing, False
    return request, True
