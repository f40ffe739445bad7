"""Writes of conversation mutes: a person silences a conversation's
notifications for themselves, for a while or until they turn it back on.
Who may is ``messaging.policy.may_mute`` (its active members)."""

import datetime as dt
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import events, policy
from messaging.errors import NotFound
from messaging.models import Conversation
from notifications.models import ConversationMute


def _conversation_to_mute(user: User, conversation_id: UUID) -> Conversation:
    """The conversation, if ``user`` may mute it. Anyone else is told it
    does not exist: a mute is no way to learn which conversations there are."""
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None or not policy.may_mute(user, conversation):
        raise NotFound(_("No such conversation."))
    return conversation


# A mute with an end ends within this many days; longer is "for ever" (no
# end). A far end (year 9999) would not even show in a zone east of UTC.
MAX_MUTE_DAYS = 366


def mute_conversation(
    *, user: User, conversation_id: UUID, until: dt.datetime | None
) -> ConversationMute:
    """Silence the conversation's notifications to ``user`` until ``until``
    (an aware time in the future), or for ever (``None``); replaces an
    earlier mute. ``NotFound`` unless ``user`` is a member;
    ``ValidationError`` naming ``until`` for a time without a zone, not in
    the future, or more than ``MAX_MUTE_DAYS`` ahead."""
    if until is not None:
        if timezone.is_naive(until):
            raise ValidationError({"until": _("A time with its UTC offset.")}, code="invalid")
        if until <= timezone.now():
            raise ValidationError({"until": _("A mute ends in the future.")}, code="invalid")
        if until > timezone.now() + dt.timedelta(days=MAX_MUTE_DAYS):
            raise ValidationError(
                {
                    "until": _("A mute ends within %(days)s days; to mute for ever, give no end.")
                    % {"days": MAX_MUTE_DAYS}
                },
                code="invalid",
            )
        # Told back (the answer, conversation.muted) in UTC, as every time is.
        until = until.astimezone(dt.UTC)
    conversation = _conversation_to_mute(user, conversation_id)
    with transaction.atomic():
        mute, _created = ConversationMute.objects.update_or_create(
            user=user, conversation=conversation, defaults={"until": until}
        )
        _announce(user, conversation.pk, until=until, muted=True)
    return mute


def unmute_conversation(*, user: User, conversation_id: UUID) -> bool:
    """Notifications of the conversation reach ``user`` again. Returns
    whether a mute was there (expired ones included); ``NotFound`` unless
    ``user`` is a member."""
    conversation = _conversation_to_mute(user, conversation_id)
    with transaction.atomic():
        deleted, _rows = ConversationMute.objects.filter(
            user=user, conversation=conversation
        ).delete()
        _announce(user, conversation.pk, until=None, muted=False)
    return deleted > 0


def _announce(user: User, conversation_id: UUID, *, until: dt.datetime | None, muted: bool) -> None:
    """Every tab of the person shows the change (the mute control, wherever
    the conversation is open), after commit."""
    events.publish_on_commit(
        events.user_group(user.pk),
        events.conversation_muted(conversation_id=conversation_id, until=until, muted=muted),
    )
