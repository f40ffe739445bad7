"""Starting a video call in a conversation, and one person's way in.

A call is announced by a message of type ``meeting`` posted as its
starter's (``messages.post_service_message``: the send's own claim decides
who may, and it is delivered and notified like any message). The message
carries the call's id, provider, title and start in its metadata, never a
join URL: the message reaches search, emails and push notifications, and a
URL there would let anyone who sees it in. Each member asks for their own
join URL (``join_url``), made for them by the provider.
"""

import uuid
from uuid import UUID

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import audit, validation
from messaging.e2e import errors as e2e_errors
from messaging.e2e import messages as e2e_messages
from messaging.integrations.meetings import providers, selectors
from messaging.integrations.models import Meeting
from messaging.models import AuditAction, MessageType
from messaging.moderation import filtering
from messaging.services import messages
from messaging.services.transactions import write_transaction


def announcement(*, name: str, title: str) -> str:
    """The meeting message's text, in the current language."""
    if title:
        # Translators: a person's name, then the call's title.
        return _("%(name)s started a video call: %(title)s") % {"name": name, "title": title}
    return _("%(name)s started a video call") % {"name": name}


def start_meeting(*, actor: User, conversation_id: UUID, title: str = "") -> Meeting:
    """Start a call in the conversation with the configured provider and
    announce it there; returns the stored ``Meeting``, its ``message`` the
    announcement.

    ``title`` is cleaned as a conversation's title is (one line, at most
    ``MAX_TITLE_CHARS``; ``InvalidInput``). Only someone who may post in
    the conversation may start a call: the announcement is posted through
    the send's claim, so a non-member is told ``not_found`` and a muted,
    blocked or archived conversation's member the same refusal a send
    gets; the content filter checks the announcement's text (its title).
    Video calls not set up here: ``MeetingsOff``. The message, the call
    and the ``meeting.start`` audit row commit together; a refusal is
    recorded as an attempted ``meeting.start``. Nothing is asked of the
    provider yet (``join_url`` does, when someone joins)."""
    title = validation.clean_title(title)
    provider = providers.configured()
    meeting_id = uuid.uuid4()
    starts_at = timezone.now()
    with (
        filtering.blocks_recorded(),
        write_transaction(
            actor=actor, attempted=AuditAction.MEETING_START, conversation_id=conversation_id
        ),
    ):
        try:
            posted = messages.post_service_message(
                sender=actor,
                conversation_id=conversation_id,
                message_type=MessageType.MEETING,
                content=announcement(name=actor.display_name, title=title),
                # The call's id: one announcement per call, whatever happens.
                client_id=meeting_id,
                metadata={
                    "meeting": {
                        "id": str(meeting_id),
                        "provider": provider.name,
                        "title": title,
                        "starts_at": starts_at.isoformat(),
                    }
                },
            )
        except e2e_errors.E2eRequired:
            # Its announcement and link would be in the clear (docs/e2e.md);
            # the claim told who may not post here first.
            raise e2e_messages.refusal_in_encrypted() from None
        meeting = Meeting.objects.create(
            id=meeting_id,
            conversation_id=conversation_id,
            message=posted.message,
            started_by=actor,
            provider=provider.name,
            room=provider.new_room_name(),
            title=title,
            starts_at=starts_at,
            duration_minutes=settings.PARLEY_MEETINGS["DURATION_MINUTES"],
        )
        audit.record(
            actor=actor,
            action=AuditAction.MEETING_START,
            conversation_id=conversation_id,
            message_id=posted.message.pk,
            meeting_id=str(meeting_id),
            provider=provider.name,
        )
    return meeting


def _room(meeting: Meeting) -> providers.Room:
    return providers.Room(
        name=meeting.room,
        title=meeting.title,
        starts_at=meeting.starts_at,
        duration_minutes=meeting.duration_minutes,
    )


def join_url(*, user: User, meeting_id: UUID) -> str:
    """``user``'s own URL into the call, made by the provider the call was
    started with: their display name, and moderator rights for the person
    who started it. Members of the call's conversation only: anyone else,
    and an unknown id, is ``not_found`` (the refusal recorded). For
    BigBlueButton the meeting is created on the BBB server first
    (``ServiceUnavailable`` when it does not answer in time). Each join is
    recorded (``meeting.join``, without the URL: it may carry a token)."""
    meeting = selectors.visible_meeting(
        user=user, meeting_id=meeting_id, attempted=AuditAction.MEETING_JOIN
    )
    provider = providers.by_name(meeting.provider)
    room = _room(meeting)
    # Outside any transaction: an HTTP call holds no database row.
    provider.prepare(room)
    url = provider.join_url(
        room,
        providers.Participant(
            id=str(user.pk),
            name=user.display_name,
            email=user.email,
            moderator=user.pk == meeting.started_by_id,
        ),
    )
    audit.record(
        actor=user,
        action=AuditAction.MEETING_JOIN,
        conversation_id=meeting.conversation_id,
        message_id=meeting.message_id,
        meeting_id=str(meeting.pk),
        provider=meeting.provider,
    )
    return url
