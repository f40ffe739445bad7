"""Sending, editing and deleting messages."""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from django.db import IntegrityError, connection
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import audit, events, mentions, policy
from messaging.e2e import errors as e2e_errors
from messaging.e2e import messages as e2e_messages
from messaging.errors import (
    AccessDenied,
    ClientIdConflict,
    InvalidInput,
    MessageHidden,
    Muted,
    NotFound,
)
from messaging.files.services import attach
from messaging.integrations.webhooks import dispatch as bot_dispatch
from messaging.models import AuditAction, Conversation, Message, MessageType
from messaging.moderation import filtering
from messaging.moderation import selectors as moderation_selectors
from messaging.search.services import indexing
from messaging.services import claims, store
from messaging.services.store import store_message
from messaging.services.transactions import lock_conversation, write_transaction
from messaging.threads import markdown
from messaging.threads.payloads import as_sent, with_extras
from messaging.threads.services import previews as link_previews
from messaging.threads.services import replies
from notifications import tasks as notification_tasks
from notifications.services import fanout_cursor
from notifications.services import feed as notification_feed

SENDABLE_TYPES = (MessageType.TEXT, MessageType.FILE, MessageType.IMAGE)
# Posted by a service as a person's message (``post_service_message``): a
# client's send never chooses these, nor their metadata.
SERVICE_TYPES = (MessageType.MEETING,)


@dataclass(frozen=True)
class SendResult:
    message: Message
    created: bool


def refuse_if_muted(user: User, conversation_id: UUID | None) -> None:
    """Raise Muted when a moderator's mute stops ``user`` posting in that
    conversation now, saying until when (the longest-lasting one)."""
    mute = moderation_selectors.active_mute(user, conversation_id)
    if mute is None:
        return
    until = mute.ends_at
    now = timezone.now()
    # The clock time alone when it is within the day; the date too beyond;
    # on the person's clock (their time zone is active for their request
    # or frame; UTC elsewhere), named.
    fmt = "%H:%M" if until - now < timedelta(hours=12) else "%Y-%m-%d %H:%M"
    when = f"{timezone.localtime(until).strftime(fmt)} {timezone.get_current_timezone_name()}"
    if mute.conversation_id:
        refusal = _("You are muted in this conversation until %(when)s.")
    else:
        refusal = _("You are muted everywhere until %(when)s.")
    raise Muted(
        refusal % {"when": when},
        until=until,
        retry_after=max(1, math.ceil((until - now).total_seconds())),
    )


class _SentBefore(Exception):
    """The claim refused a send whose ``client_id`` the sender already used."""


def _refuse_send(conversation_id: UUID, sender: User) -> None:
    """The send's claim matched nothing: raise why (NotFound, then the
    policy's AccessDenied or ConversationArchived, then Muted)."""
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None:
        raise NotFound(_("No such conversation."))
    # The database's word on the account: a socket keeps its user object
    # for hours, and the claim refused a deactivated sender already.
    current = User.objects.filter(pk=sender.pk).first() or sender
    policy.check_post(current, conversation)
    refuse_if_muted(current, conversation_id)
    if e2e_messages.is_encrypted_conversation(conversation_id):
        # A plain send's claim leaves encrypted conversations out.
        raise e2e_messages.e2e_required()
    # Changed between the claim and this look (unarchived, added back):
    # the send was still refused.
    raise AccessDenied(_("You may not write to this conversation."))


def send_message(
    *,
    sender: User,
    conversation_id: UUID,
    content: str,
    client_id: UUID,
    message_type: str = MessageType.TEXT,
    file_url: str = "",
    metadata: dict | None = None,
    attachment_ids: Sequence[UUID] = (),
    filtered: bool = True,
    parent_id: UUID | None = None,
    reply_to_id: UUID | None = None,
    also_to_conversation: bool = False,
    e2e: dict | None = None,
) -> SendResult:
    """Store a message once and announce it after commit.

    ``content`` is clean (``validation.clean_content``; with attachments
    ``validation.clean_caption``, which lets it be empty). The sender must
    be allowed to post (``policy.postable_conversations``, decided in the
    statement that takes the seq). ``client_id`` is the sender's idempotency
    key: sending again with the same key returns the stored message
    (``created`` is False) and adds nothing; the same key with other content
    or other attachments is a ``ClientIdConflict``.

    ``attachment_ids`` names the sender's unsent uploads in this
    conversation (``attach.uploads_to_send`` refuses anything else before
    the transaction: ``invalid``, or ``too_many_files``). The message is
    then an ``image`` (every file an image) or ``file`` message, its
    ``file_url`` the first file's URL, and the uploads are claimed in the
    send's transaction: an upload another send took first is ``invalid``
    ("already sent") and the whole send rolls back, leaving the others
    unsent. The stored message carries its attachments (``message_payload``
    and ``message.new`` show them, previews included, without a query).

    The mentions in ``content`` (``messaging.mentions``) are stored in
    ``metadata``; a new message is handed to the notification fan-out after
    commit (a resend or a rolled-back send queues nothing), and to the bots
    it concerns (``messaging.integrations.webhooks.dispatch``).

    The content filter (``messaging.moderation.filtering``) checks the text
    (the caption, with files) and the files' names: a blocking rule refuses
    the send with ``ContentBlocked`` once the send was otherwise allowed
    (the hit is recorded after the rollback); flagging rules let it through
    and put it in the moderation queue, in the send's transaction. A resend
    of a stored message is answered as before, whatever the rules say now.
    ``filtered=False`` skips the filter (history imported as it was).

    Replies (``messaging.threads.services.replies``): ``reply_to_id`` quotes
    a message of the conversation (not a system message; a deleted or
    hidden one may be quoted); ``parent_id`` makes the message a reply in
    the thread of that message (a reply's parent is its thread's root: a
    parent that is itself a thread reply means its root), which must be of
    the conversation, not a system message, not deleted or hidden;
    ``also_to_conversation`` (only with ``parent_id``) shows the thread
    reply in the main stream too. Anything else is ``InvalidInput``, told
    only to someone who may post here. The thread's summary and follows
    are written in the send's transaction (``thread.updated`` after commit).
    A resend with the same ``client_id`` but another thread is a
    ``ClientIdConflict``.

    ``e2e`` (``e2e_messages.clean_e2e``, ``content`` then "") sends an end-to-end
    encrypted message (docs/e2e.md): ``messaging.e2e.messages`` checks it
    (``e2e_not_allowed`` in a plain conversation, ``e2e_key_stale``, the
    sending device), its attachments must be encrypted uploads, and there is
    nothing the server reads: no mentions, Markdown, filter, link previews,
    search row or bots. Plain content to an encrypted conversation is
    ``e2e_required``. A resend with another ``e2e`` is a ``ClientIdConflict``.
    """
    if message_type not in SENDABLE_TYPES:
        # System messages are written by the services that announce changes,
        # SERVICE_TYPES by post_service_message.
        raise InvalidInput(_("Unknown message_type %(type)s.") % {"type": repr(message_type)})
    return _send(
        sender=sender,
        conversation_id=conversation_id,
        content=content,
        client_id=client_id,
        message_type=message_type,
        file_url=file_url,
        metadata=metadata,
        attachment_ids=attachment_ids,
        filtered=filtered,
        parent_id=parent_id,
        reply_to_id=reply_to_id,
        also_to_conversation=also_to_conversation,
        e2e=e2e,
    )


def post_service_message(
    *,
    sender: User,
    conversation_id: UUID,
    message_type: str,
    content: str,
    client_id: UUID,
    metadata: dict,
) -> SendResult:
    """Post a message of a kind only a service writes (``SERVICE_TYPES``:
    a video call's announcement) as ``sender``'s, exactly as their send
    would be: the same claim decides whether they may post here (member,
    not archived, not muted, not blocked), and it takes a seq, writes the
    audit and search rows, goes through the content filter, is delivered
    as ``message.new`` and notifies like any message. ``content`` is
    clean; ``metadata`` is the service's own. ``send_message`` refuses
    these types: the API and the socket never let a client choose them."""
    if message_type not in SERVICE_TYPES:
        raise ValueError(f"{message_type!r} is not a service's message type")
    return _send(
        sender=sender,
        conversation_id=conversation_id,
        content=content,
        client_id=client_id,
        message_type=message_type,
        metadata=metadata,
    )


def _send(
    *,
    sender: User,
    conversation_id: UUID,
    content: str,
    client_id: UUID,
    message_type: str,
    file_url: str = "",
    metadata: dict | None = None,
    attachment_ids: Sequence[UUID] = (),
    filtered: bool = True,
    parent_id: UUID | None = None,
    reply_to_id: UUID | None = None,
    also_to_conversation: bool = False,
    e2e: dict | None = None,
) -> SendResult:
    """``send_message`` once the type is known to be allowed."""
    uploads = []
    if attachment_ids:
        uploads = attach.uploads_to_send(
            sender=sender, conversation_id=conversation_id, attachment_ids=attachment_ids
        )
        e2e_messages.check_uploads(uploads, encrypted=e2e is not None)
        message_type = attach.message_type_for(uploads)
        file_url = attach.file_url_for(uploads)
    if e2e is not None:
        # Nothing below reads it: the server has no text.
        message_type, file_url, filtered = MessageType.ENCRYPTED, "", False
        metadata = {**(metadata or {}), e2e_messages.METADATA_KEY: e2e}
    target = replies.resolve(
        conversation_id=conversation_id,
        parent_id=parent_id,
        reply_to_id=reply_to_id,
        also_to_conversation=also_to_conversation,
    )
    verdict = _filter_send(sender, conversation_id, content, uploads) if filtered else None
    if e2e is None:
        found = mentions.mentions_in(
            sender=sender, conversation_id=conversation_id, content=content
        )
        metadata = mentions.with_mentions(metadata, found)
        content_html = markdown.render(content, mentions=found)
    else:
        content, content_html = "", ""
    message = Message(
        conversation_id=conversation_id,
        sender=sender,
        content=content,
        content_html=content_html,
        message_type=message_type,
        client_id=client_id,
        file_url=file_url,
        metadata=metadata or {},
        sent_at=timezone.now(),
    )
    replies.apply(message, target)
    # The link card's address, read once: it decides the transaction too.
    card_url = link_previews.card_url(message) if e2e is None else None
    try:
        with (
            filtering.blocks_recorded(),
            write_transaction(
                actor=sender,
                attempted=AuditAction.MESSAGE_SEND,
                conversation_id=conversation_id,
                atomic=not _one_statement_send(
                    uploads=uploads, e2e=e2e, target=target, verdict=verdict, card_url=card_url
                ),
            ),
        ):
            if uploads:
                # Claimed before the message is stored (the foreign key is
                # checked at commit): store_message builds the message.new
                # frame at once, and it must list the files as claimed.
                attach.claim(message=message, uploads=uploads)
            elif e2e is not None:
                # Its payload lists attachments (none): no query for them.
                attach.attach_loaded(message, [])
            # A resend (same client_id) fails here on UNIQUE(sender, client_id)
            # (or, with files, on the claim above); the whole transaction,
            # seq included, rolls back below.
            stored = store_message(
                message,
                claim=claims.postable(
                    sender,
                    conversation_id,
                    message.sent_at,
                    main_stream=message.in_main_stream,
                    encrypted=e2e is not None,
                ),
                audit_action=AuditAction.MESSAGE_SEND,
                searchable=e2e is None,
            )
            if not stored:
                if Message.objects.filter(sender=sender, client_id=client_id).exists():
                    # A resend of a stored message whose ack was lost: the
                    # sender is answered with it, whatever changed since
                    # (muted, removed, archived), as the protocol promises.
                    raise _SentBefore
                _refuse_send(conversation_id, sender)
            if e2e is not None:
                # Under the conversation's lock the claim took, and before
                # commit: a rotation cannot slip in between (docs/e2e.md).
                e2e_messages.check_key_state(
                    sender=sender, conversation_id=conversation_id, e2e=e2e
                )
            # Only now, for the same reason as the filter's verdict below.
            replies.check(target)
            if verdict is not None:
                # Only now: someone who may not post here is told that, not
                # what the filter thinks of their text.
                verdict.refuse()
                filtering.record_flags(verdict, message)
            replies.record(message=message, target=target, sender=sender)
            fanout_cursor.nudge_on_commit(conversation_id)
            if e2e is None:
                link_previews.queue_on_send(message, card_url)
                # Bots mentioned or written to directly are told after commit;
                # no query unless the conversation has a bot.
                bot_dispatch.queue_on_send(message)
    except (IntegrityError, attach.AlreadyClaimed, _SentBefore) as error:
        # A resend collides: return what the first send stored.
        original = (
            with_extras(Message.objects.select_related("sender").prefetch_related("attachments"))
            .filter(sender=sender, client_id=client_id)
            .first()
        )
        if original is None:
            raise error from None
        if not policy.readable_conversations(sender).filter(pk=original.conversation_id).exists():
            # The resend is answered (its ack was lost), but not with what
            # others did in a conversation the sender may no longer read.
            as_sent(original)
        if (
            original.conversation_id != conversation_id
            or original.content != content
            or attach.sent_ids(original) != [u.pk for u in uploads]
            or original.parent_id != (target.root_id if parent_id is not None else None)
            or (original.metadata or {}).get(e2e_messages.METADATA_KEY) != e2e
        ):
            raise ClientIdConflict(
                _("This client_id was already used for a different message.")
            ) from None
        return SendResult(original, created=False)
    return SendResult(message, created=True)


def _one_statement_send(
    *,
    uploads: Sequence,
    e2e: dict | None,
    target: replies.ReplyTarget,
    verdict: filtering.Verdict | None,
    card_url: str | None,
) -> bool:
    """Whether the send writes nothing but ``store_message``'s one statement,
    which is atomic on its own: then it needs no transaction around it, and
    saves PostgreSQL's BEGIN and COMMIT (two round trips of three). That is
    a plain message with no files, quote or thread, no filter hit, no link
    card to make, and no outer transaction (inside one, the send's own
    savepoint keeps a resend's conflict from breaking it). On SQLite the
    store is several statements, and a resend would leave its seq taken.
    What would be done "after commit" runs once the statement committed."""
    return (
        store.in_one_statement()
        and not connection.in_atomic_block
        and not uploads
        and e2e is None
        and not target.asked
        and (verdict is None or not verdict.hits)
        and card_url is None
    )


def _filter_send(
    sender: User, conversation_id: UUID, content: str, uploads: Sequence
) -> filtering.Verdict:
    """The filter's verdict on a send: its text (a caption when it carries
    files) and each file's name as uploaded."""
    verdict = filtering.check(
        user=sender,
        conversation=conversation_id,
        text=content,
        field=filtering.FIELD_CAPTION if uploads else filtering.FIELD_CONTENT,
    )
    for upload in uploads:
        verdict += filtering.check(
            user=sender,
            conversation=conversation_id,
            text=upload.original_name,
            field=filtering.FIELD_FILE_NAME,
        )
    return verdict


def _message_for_update(
    actor: User, message_id: UUID, *, deleting: bool, as_moderator: bool = False
) -> Message:
    """The message, read under its conversation's lock, once ``actor`` may
    change it: as its author (``policy.check_change_message``) or, for a
    moderator's deletion, as a moderator (``policy.check_moderate``)."""
    conversation_id = (
        Message.objects.filter(pk=message_id).values_list("conversation_id", flat=True).first()
    )
    if conversation_id is None:
        raise NotFound(_("No such message."))
    conversation = lock_conversation(conversation_id)
    # Read the message only now: a delete or edit that committed while we
    # waited for the lock must be seen, or an edit could bring back the
    # content of a deleted message.
    # With what its payload shows (quote, thread, reactions, pin, card):
    # the frame an edit or delete sends costs no query per reaction.
    message = with_extras(Message.objects.select_related("sender")).get(pk=message_id)
    message.conversation = conversation
    if as_moderator:
        policy.check_moderate(actor)
    else:
        policy.check_change_message(actor, message, deleting=deleting)
    if message.message_type == MessageType.SYSTEM:
        raise InvalidInput(_("System messages cannot be changed."))
    if message.is_deleted:
        raise NotFound(_("This message was deleted."))
    return message


def edit_message(
    *, editor: User, message_id: UUID, content: str = "", e2e: dict | None = None
) -> Message:
    """Replace the text of one's own message (``content`` clean); the same
    text again changes nothing. Moderators delete; they do not edit. A
    message a moderator hid is not its sender's to change (MessageHidden),
    and a muted sender edits nothing there (Muted), as they send nothing.

    Mentions are found again; people newly mentioned (or ``@all``/``@here``
    newly used) are notified after commit, the others not a second time.

    The new text goes through the content filter as a send's does
    (``ContentBlocked``, the message unchanged; or delivered and flagged).

    An encrypted message is edited with ``e2e`` (``e2e_messages.clean_e2e``)
    instead of ``content``, under the conversation's current key; its
    ``e2e`` object is replaced (``_edit_encrypted``). ``e2e`` for any
    other message is ``e2e_not_allowed``; ``content`` for an encrypted one
    ``e2e_required``."""
    with (
        filtering.blocks_recorded(),
        write_transaction(actor=editor, attempted=AuditAction.MESSAGE_EDIT),
    ):
        message = _message_for_update(editor, message_id, deleting=False)
        if message.is_hidden:
            raise MessageHidden(_("A moderator hid this message; it cannot be edited."))
        if message.message_type in SERVICE_TYPES:
            # Its text says what happened (a call started); it is not the sender's prose.
            raise InvalidInput(_("This message cannot be edited."))
        refuse_if_muted(editor, message.conversation_id)
        if e2e_messages.is_encrypted(message) or e2e is not None:
            return _edit_encrypted(editor, message, e2e)
        if message.content == content:
            return message
        verdict = filtering.check(
            user=editor,
            conversation=message.conversation_id,
            text=content,
            field=(
                filtering.FIELD_CAPTION
                if message.message_type in (MessageType.FILE, MessageType.IMAGE)
                else filtering.FIELD_CONTENT
            ),
            editing=message.pk,
        )
        verdict.refuse()
        previous_text = message.content
        previous_length = len(previous_text)
        before = message.metadata or {}
        found = mentions.mentions_in(
            sender=editor, conversation_id=message.conversation_id, content=content
        )
        message.metadata = mentions.with_mentions(before, found)
        message.content = content
        message.content_html = markdown.render(content, mentions=found)
        message.edited_at = timezone.now()
        message.save(update_fields=["content", "content_html", "edited_at", "metadata"])
        indexing.index_message(message)
        notification_feed.message_edited(message=message)
        newly_mentioned = set(found.user_ids) - set(before.get("mentions", []))
        if newly_mentioned or (found.everyone and not before.get("mention_everyone")):
            events.enqueue_on_commit(notification_tasks.notify_message, str(message.pk), True)
        audit.record(
            actor=editor,
            action=AuditAction.MESSAGE_EDIT,
            conversation_id=message.conversation_id,
            message_id=message.pk,
            previous_length=previous_length,
            old_text=previous_text,
            new_text=content,
        )
        filtering.record_flags(verdict, message)
        events.publish_on_commit(
            events.conversation_group(message.conversation_id), events.message_edited(message)
        )
    return message


def _edit_encrypted(editor: User, message: Message, e2e: dict | None) -> Message:
    """``edit_message`` of an encrypted message, in its transaction with the
    conversation locked: the new ``e2e`` object replaces the old one. No
    text to filter, index, mention from or audit."""
    if not e2e_messages.is_encrypted(message):
        raise e2e_errors.E2eNotAllowed(_("This message is not end-to-end encrypted."))
    if e2e is None:
        raise e2e_messages.e2e_required()
    e2e_messages.check_key_state(sender=editor, conversation_id=message.conversation_id, e2e=e2e)
    before = message.metadata or {}
    if before.get(e2e_messages.METADATA_KEY) == e2e:
        return message
    message.metadata = {**before, e2e_messages.METADATA_KEY: e2e}
    message.edited_at = timezone.now()
    message.save(update_fields=["edited_at", "metadata"])
    audit.record(
        actor=editor,
        action=AuditAction.MESSAGE_EDIT,
        conversation_id=message.conversation_id,
        message_id=message.pk,
        key_version=e2e["key_version"],
    )
    events.publish_on_commit(
        events.conversation_group(message.conversation_id), events.message_edited(message)
    )
    return message


def delete_message(*, actor: User, message_id: UUID, moderator_note: str | None = None) -> Message:
    """Soft-delete: the message keeps its seq, its content is gone.

    Without ``moderator_note``, the author deletes their own message (the
    API's DELETE and the socket's ``message.delete``); nobody deletes
    someone else's message that way, moderators included. With it, a
    moderator deletes any message: only
    ``moderation.services.actions.delete_message`` passes it, once it has
    checked the note, and the note goes into the audit row.

    The audit row keeps the text (``old_text``), as an edit's does, so a
    deletion never loses what was written for moderators (the audit log is
    theirs; members see the message emptied).

    Its files go with it at once: nobody may fetch them any more
    (``policy.may_fetch_attachment``), the payload lists none, and the purge
    removes them after ``DELETED_FILE_RETENTION_DAYS``."""
    moderation = moderator_note is not None
    with write_transaction(actor=actor, attempted=AuditAction.MESSAGE_DELETE):
        message = _message_for_update(actor, message_id, deleting=True, as_moderator=moderation)
        old_text = message.content
        message.deleted_at = timezone.now()
        message.content = ""
        message.content_html = ""
        message.file_url = ""
        # An encrypted message's ciphertext goes as its content would.
        message.metadata = e2e_messages.metadata_without_e2e(message.metadata)
        message.save(
            update_fields=["deleted_at", "content", "content_html", "file_url", "metadata"]
        )
        link_previews.discard_for_deleted(message_id=message.pk)
        indexing.remove_message(message.pk)
        audit.record(
            actor=actor,
            action=AuditAction.MESSAGE_DELETE,
            conversation_id=message.conversation_id,
            message_id=message.pk,
            target_user_id=message.sender_id if moderation else None,
            moderation=moderation,
            old_text=old_text,
            **({"note": moderator_note} if moderation else {}),
        )
        # Its notifications would keep an excerpt of what was deleted.
        notification_feed.message_deleted(message_id=message.pk)
        events.publish_on_commit(
            events.conversation_group(message.conversation_id), events.message_deleted(message)
        )
    return message
