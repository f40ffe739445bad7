"""Muting a conversation: members only (anyone else is told it does not
exist), for a while or for ever, replaced by a new mute, ended by unmute."""

import datetime as dt
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.models import Role
from messaging import services as messaging_services
from messaging.errors import NotFound
from notifications import rules, selectors, services
from notifications.models import ConversationMute


def test_a_member_mutes_for_a_while_and_for_ever(direct, student):
    until = timezone.now() + dt.timedelta(hours=8)
    services.mute_conversation(user=student, conversation_id=direct.pk, until=until)
    mute = selectors.active_mute(student, direct.pk)
    assert mute is not None and mute.until == until
    assert rules.is_muted(mute, timezone.now())
    assert not rules.is_muted(mute, until + dt.timedelta(seconds=1))
    assert selectors.active_mute(student, direct.pk, at=until + dt.timedelta(seconds=1)) is None
    # A new mute replaces the old one: one row per person and conversation.
    services.mute_conversation(user=student, conversation_id=direct.pk, until=None)
    assert ConversationMute.objects.filter(user=student).count() == 1
    assert selectors.active_mute(student, direct.pk).until is None
    assert [m.conversation_id for m in selectors.active_mutes(student)] == [direct.pk]


def test_unmute(direct, student, mentor):
    services.mute_conversation(user=student, conversation_id=direct.pk, until=None)
    assert services.unmute_conversation(user=student, conversation_id=direct.pk)
    assert selectors.mute_for(student, direct.pk) is None
    assert not services.unmute_conversation(user=student, conversation_id=direct.pk)
    # Someone else's mute is theirs.
    services.mute_conversation(user=mentor, conversation_id=direct.pk, until=None)
    assert selectors.active_mute(student, direct.pk) is None


def test_non_members_and_unknown_conversations_are_not_found(direct, make_user):
    outsider = make_user(Role.ADMIN)  # even a platform admin: mutes are a member's
    for conversation_id in (direct.pk, uuid.uuid4()):
        with pytest.raises(NotFound):
            services.mute_conversation(user=outsider, conversation_id=conversation_id, until=None)
        with pytest.raises(NotFound):
            services.unmute_conversation(user=outsider, conversation_id=conversation_id)
    assert not ConversationMute.objects.exists()


def test_a_member_who_left_may_not_mute(make_user, mentor, student, assigned):
    group = messaging_services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="G"
    )
    messaging_services.remove_participant(actor=student, conversation_id=group.pk, user=student)
    with pytest.raises(NotFound):
        services.mute_conversation(user=student, conversation_id=group.pk, until=None)


@pytest.mark.parametrize(
    "until",
    [
        dt.datetime(2030, 1, 1, 12),  # no zone
        dt.datetime(2000, 1, 1, tzinfo=dt.UTC),  # past
    ],
)
def test_until_is_an_aware_time_in_the_future(direct, student, until):
    with pytest.raises(ValidationError) as refused:
        services.mute_conversation(user=student, conversation_id=direct.pk, until=until)
    assert set(refused.value.message_dict) == {"until"}
    assert not ConversationMute.objects.exists()
