"""Fixtures of the reminders' and the calendar's tests."""

import uuid

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from messaging import services

# The browser tests' fixtures, for test_browser.py.
from tests.browser.conftest import browser, console, eager_server, pair  # noqa: F401


@pytest.fixture
def api():
    """``api(user)``: a client logged in as ``user``; ``api()`` anonymous."""

    def make(user=None):
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def send():
    def send(user, conversation, content="hello"):
        return services.send_message(
            sender=user,
            conversation_id=conversation.pk,
            content=content,
            client_id=uuid.uuid4(),
        ).message

    return send


@pytest.fixture
def outsider(make_user):
    return make_user(Role.STUDENT, name="Olive Outsider")


@pytest.fixture
def message(direct, mentor, send):
    """A message of the mentor's, in the direct conversation with the student."""
    return send(mentor, direct, "Please read chapter 4 before Friday")
