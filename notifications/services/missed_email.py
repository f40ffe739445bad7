"""Missed-message email: a person who has not read a conversation's new
messages some minutes after they arrived gets one email gathering them.

The fan-out calls ``schedule_for`` after commit with the people whose
channels include email; each gets a task ``PARLEY_MISSED_EMAIL_DELAY_SECONDS``
later. Many messages give many tasks but one email: the first task that finds
unread messages records ``missed:<conversation>:<first unread seq>`` and
sends; the others find the record (or nothing new) and send nothing.

Whether the person "has an active tab on it" is answered by the read cursor,
not by presence: an open, visible conversation marks what it shows as read
(docs/protocol.md), so a message still unread after the delay was not seen,
whatever sockets the person has open elsewhere.

Windows: an email covers the unread messages sent after the previous
missed-message email of the conversation minus the delay (what that one
covered) and at least the delay ago. A message that arrives later gets an
email of its own window; one already emailed is not emailed again.
"""

import datetime as dt
import logging
from uuid import UUID

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.locale import speaking_to
from accounts.models import User
from config import broker
from messaging.models import Conversation, ConversationType, Message
from notifications import rules
from notifications.models import Channel, Delivery, Kind
from notifications.selectors import missed_email as selectors
from notifications.selectors.preferences import preferences_for
from notifications.services import email_text
from notifications.services.mail import claim_email, send_templated
from notifications.tokens import absolute_url

logger = logging.getLogger(__name__)


def delay() -> dt.timedelta:
    return dt.timedelta(seconds=settings.PARLEY_MISSED_EMAIL_DELAY_SECONDS)


def schedule_for(*, conversation_id: UUID | str, user_ids: list) -> None:
    """Queue a missed-message check for each of ``user_ids`` after the delay.
    Call after commit (the fan-out does): the task reads committed rows."""
    from notifications.tasks import send_missed_messages as task

    countdown = settings.PARLEY_MISSED_EMAIL_DELAY_SECONDS
    # One broker connection for the whole list (a big group's fan-out).
    with broker.guarded(task), task.app.producer_or_acquire() as producer:
        for user_id in dict.fromkeys(str(u) for u in user_ids):
            task.apply_async(
                kwargs={"conversation_id": str(conversation_id), "user_id": user_id},
                countdown=countdown,
                producer=producer,
            )


def _kind_of(message: Message, user_id: UUID, conversation_type: str) -> str:
    metadata = message.metadata or {}
    mentioned = metadata.get("mentions") or []
    # ``@all`` mentions every member, as the fan-out counts it: without this
    # the fan-out scheduled the email of a mention and this check, seeing a
    # plain group message (email off by default), sent nothing.
    if str(user_id) in {str(m) for m in mentioned} or metadata.get("mention_everyone") == "all":
        return Kind.MENTION.value
    if conversation_type == ConversationType.GROUP:
        return Kind.GROUP.value
    # Direct and support conversations are one-to-one talk with the person.
    return Kind.DIRECT.value


def send_missed_messages(
    *, conversation_id: UUID | str, user_id: UUID | str, run_id: str = ""
) -> bool:
    """Email the person the conversation's messages they have not read, once
    per window; True when an email was sent. Nothing for a muted
    conversation or kinds whose email is off; inside quiet hours the check
    is queued again for their end. ``run_id`` (the task's id) finds the
    email this same run claimed before its worker died, and sends it again
    (``services.mail``)."""
    membership = selectors.membership(conversation_id, user_id)
    if membership is None or not membership.user.is_active or not membership.user.email:
        return False
    user = membership.user
    conversation = membership.conversation
    now = timezone.now()
    if rules.is_muted(selectors.mute_of(conversation.pk, user.pk), now):
        return False

    unfinished = selectors.pending_claim_of_run(conversation.pk, user.pk, run_id)
    previous = selectors.last_missed_email_at(
        conversation.pk, user.pk, before=unfinished.created_at if unfinished else None
    )
    sent_after = previous - delay() if previous is not None else None
    preference = preferences_for(user)

    def mailable(sent_until: dt.datetime) -> list[Message]:
        return [
            message
            for message in selectors.unread_window(
                membership, sent_after=sent_after, sent_until=sent_until
            )
            if Channel.EMAIL.value
            in rules.channels_for(preference, _kind_of(message, user.pk, conversation.type))
        ]

    window = mailable((unfinished.created_at if unfinished else now) - delay())
    if not window:
        return False

    quiet_until = rules.quiet_hours_end(preference, user.time_zone, now)
    if quiet_until is not None:
        _hold_until(conversation_id=conversation.pk, user_id=user.pk, eta=quiet_until)
        return False

    delivery = claim_email(
        user_id=user.pk,
        key=unfinished.key if unfinished else selectors.missed_key(conversation.pk, window[0].seq),
        run_id=run_id,
    )
    if delivery is None:
        return False
    # What this email covers ends where the next one's window starts
    # (``last_missed_email_at`` minus the delay): read again up to that
    # instant, so no message falls between two windows.
    window = mailable(delivery.created_at - delay()) or window
    # In the person's language and time zone, whoever sent the messages.
    with speaking_to(user):
        return _email(delivery=delivery, user=user, conversation=conversation, window=window)


def _subject(
    user_id: UUID, conversation: Conversation, window: list[Message], first_sender: str
) -> str:
    if conversation.type == ConversationType.DIRECT:
        return ngettext(
            "%(sender)s sent you a message",
            "%(sender)s sent you %(count)s messages",
            len(window),
        ) % {"sender": first_sender, "count": len(window)}
    mentioners = [
        m.sender.display_name
        for m in window
        if m.sender and _kind_of(m, user_id, conversation.type) == Kind.MENTION
    ]
    if mentioners:
        return _("%(sender)s mentioned you in %(conversation)s") % {
            "sender": mentioners[0],
            "conversation": conversation,
        }
    return _("New messages in %(conversation)s") % {"conversation": conversation}


def _email(
    *, delivery: Delivery, user: User, conversation: Conversation, window: list[Message]
) -> bool:
    """Send the email of ``window``, built in the active language."""
    someone = _("Someone")
    senders = list(dict.fromkeys(m.sender.display_name if m.sender else someone for m in window))
    link = absolute_url(reverse("conversation", args=[conversation.pk]))
    return send_templated(
        delivery=delivery,
        to=user.email,
        subject=_subject(user.pk, conversation, window, senders[0]),
        template="missed_messages",
        context={
            "user": user,
            "conversation": conversation,
            "conversation_name": str(conversation),
            "is_direct": conversation.type == ConversationType.DIRECT,
            "messages": [email_text.mailed(m) for m in window],
            "senders": senders,
            "conversation_url": link,
        },
    )


def _hold_until(*, conversation_id: UUID, user_id: UUID, eta: dt.datetime) -> None:
    """Check again when quiet hours end. Eager mode (the test settings' and
    one-off commands') runs a task at once whatever its ETA, which would
    only ask again inside the same quiet hours: there the message waits for
    the next message's check instead."""
    from notifications.tasks import send_missed_messages as task

    if task.app.conf.task_always_eager:
        logger.info("Quiet hours: eager mode cannot hold mail for %s until %s", user_id, eta)
        return
    broker.send(
        task, eta=eta, kwargs={"conversation_id": str(conversation_id), "user_id": str(user_id)}
    )
