"""Fixtures of the threads tests: a group of a mentor and two of their
students, someone outside it, and the socket and API clients of the other
test packages."""

import uuid

import pytest
from rest_framework.test import APIClient

from accounts.models import MentorAssignment, Role
from messaging import services
from tests.realtime.conftest import _fresh_presence, open_socket  # noqa: F401


@pytest.fixture
def people(make_user):
    """(mentor, ann, bob): ann and bob are the mentor's students."""
    mentor = make_user(Role.MENTOR, name="Mara Mentor")
    ann = make_user(Role.STUDENT, name="Ann")
    bob = make_user(Role.STUDENT, name="Bob")
    for student in (ann, bob):
        MentorAssignment.objects.create(mentor=mentor, student=student)
    return mentor, ann, bob


@pytest.fixture
def group(people):
    mentor, ann, bob = people
    return services.create_conversation(
        creator=mentor, kind="group", participants=[ann, bob], title="Study group"
    )


@pytest.fixture
def outsider(make_user):
    return make_user(Role.STUDENT, name="Olive Outsider")


@pytest.fixture
def api():
    def make(user=None):
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return make


def send(sender, conversation, content="hello", **kwargs):
    """A send through the service with a fresh client_id: the message."""
    kwargs.setdefault("client_id", uuid.uuid4())
    return services.send_message(
        sender=sender, conversation_id=conversation.pk, content=content, **kwargs
    ).message
