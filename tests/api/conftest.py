import uuid

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from messaging import services
from messaging.models import AuditAction, AuditLog


@pytest.fixture
def api():
    """``api(user)``: a client logged in as ``user`` through the session
    (CSRF not enforced; see ``csrf_api``); ``api()`` is anonymous."""

    def make(user=None, *, enforce_csrf=False):
        client = APIClient(enforce_csrf_checks=enforce_csrf)
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def group(make_user, mentor, student, assigned):
    """A group run by ``mentor`` with ``student`` in it."""
    return services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Study group"
    )


@pytest.fixture
def direct(assigned):
    mentor, student = assigned
    return services.create_conversation(creator=mentor, kind="direct", participants=[student])


@pytest.fixture
def outsider(make_user):
    return make_user(Role.STUDENT, name="Olive Outsider")


@pytest.fixture
def send():
    def send(user, conversation, content="hello", client_id=None):
        return services.send_message(
            sender=user,
            conversation_id=conversation.pk,
            content=content,
            client_id=client_id or uuid.uuid4(),
        ).message

    return send


@pytest.fixture
def denials():
    """``denials(user)``: the access.denied audit rows for ``user``."""

    def rows(user, **filters):
        return list(
            AuditLog.objects.filter(actor=user, action=AuditAction.ACCESS_DENIED, **filters)
        )

    return rows
