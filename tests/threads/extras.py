"""Fixtures and helpers of the reactions, pins and saved-messages tests
(imported by each module; a conftest here would be shared with the
threads tests)."""

import uuid

import pytest
from django.contrib.auth.models import Group, Permission

from accounts.models import MentorAssignment, Role
from messaging import services
from messaging.models import Message, MessageType


def say(sender, conversation, content="hello"):
    return services.send_message(
        sender=sender, conversation_id=conversation.pk, content=content, client_id=uuid.uuid4()
    ).message


def notice_in(conversation):
    """A system message of the group (``conversation.other`` is removed)."""
    services.remove_participant(
        actor=conversation.created_by, conversation_id=conversation.pk, user=conversation.other
    )
    return Message.objects.filter(
        conversation=conversation, message_type=MessageType.SYSTEM
    ).latest("seq")


def grant(user, codename: str, group_name: str) -> None:
    """Put ``user`` in a staff group holding ``messaging.<codename>`` (made
    again here: a transactional test's flush removes the migration's)."""
    group, _ = Group.objects.get_or_create(name=group_name)
    group.permissions.add(
        Permission.objects.get(codename=codename, content_type__app_label="messaging")
    )
    user.groups.add(group)


@pytest.fixture
def moderator(make_user):
    user = make_user(Role.MENTOR, name="Mo Moderator", is_staff=True)
    grant(user, "moderate", "Moderators")
    return user


@pytest.fixture
def group(assigned, make_user):
    """A group run by the assigned mentor, with the student and another."""
    mentor, student = assigned
    other = make_user(Role.STUDENT, name="Olive Other")
    MentorAssignment.objects.create(mentor=mentor, student=other)
    conversation = services.create_conversation(
        creator=mentor, kind="group", participants=[student, other], title="Study"
    )
    conversation.other = other
    return conversation
