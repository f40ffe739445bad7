import pytest
from rest_framework.test import APIClient

from accounts.models import MentorAssignment, Role
from messaging import services
from tests.e2e.server.keys import Device
from tests.realtime.conftest import open_socket  # noqa: F401 (socket fixtures)


@pytest.fixture
def api():
    """``api(user)``: a client signed in as ``user`` (session)."""

    def make(user):
        client = APIClient()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def register(api):
    """``register(user)`` makes a person's first device, self-signed, and
    returns it (``Device``); ``register(user, approver=device)`` a later one
    approved by ``device``; ``register(user, pending=True)`` a pending one."""

    def make(user, *, approver=None, pending=False, kind="browser"):
        device = Device(user_id=user.pk, kind=kind)
        body = device.body(approver=approver, self_signed=approver is None and not pending)
        response = api(user).post("/api/e2e/devices/", body, format="json")
        assert response.status_code == 201, response.json()
        assert response.json()["status"] == ("pending" if pending else "active")
        return device

    return make


@pytest.fixture
def trio(make_user):
    """A mentor looking after two students."""
    mentor = make_user(Role.MENTOR, name="Maria Mentor")
    first = make_user(Role.STUDENT, name="Sam Student")
    second = make_user(Role.STUDENT, name="Tia Student")
    for student in (first, second):
        MentorAssignment.objects.create(mentor=mentor, student=student)
    return mentor, first, second


@pytest.fixture
def encrypted_group(trio):
    mentor, first, _ = trio
    return services.create_conversation(
        creator=mentor, kind="group", participants=[first], title="Welfare", encrypted=True
    )


def key_state(client, conversation_id) -> dict:
    response = client.get(f"/api/e2e/conversations/{conversation_id}/")
    assert response.status_code == 200, response.json()
    return response.json()


def all_devices(state: dict) -> list[dict]:
    return [device for member in state["members"] for device in member["devices"]]
