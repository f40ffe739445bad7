"""Encrypted conversations for the message path's tests, made with the ORM
(the keys' own API is tested in its own files): key version 1, no rotation
due, one active device per member."""

import os
import uuid
from dataclasses import dataclass, field

import pytest
from rest_framework.test import APIClient

from accounts.models import MentorAssignment, Role
from messaging import services
from messaging.e2e.models import Device as DeviceModel
from messaging.e2e.models import DeviceStatus, EncryptedConversation
from messaging.models import Conversation, ConversationType
from tests.e2e import scheme
from tests.e2e.scheme import b64
from tests.e2e.server.keys import Device

# The open_socket fixture of the socket tests.
from tests.realtime.conftest import open_socket  # noqa: F401


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


@dataclass(frozen=True)
class Sealed:
    """A member's encrypted message: the ``e2e`` sent, and what its
    reporter would reveal."""

    e2e: dict
    text: str
    franking_key: bytes


@dataclass
class E2eConversation:
    conversation: Conversation
    key: bytes
    devices: dict = field(default_factory=dict)  # user id -> Device
    key_version: int = 1

    @property
    def pk(self):
        return self.conversation.pk

    def seal(self, user, text: str, *, client_id=None, key_version=None, files=None) -> tuple:
        """(client_id, Sealed) of ``user``'s message ``text``."""
        client_id = client_id or uuid.uuid4()
        e2e, payload = scheme.encrypt_message(
            self.key,
            conversation_id=self.pk,
            client_id=client_id,
            key_version=key_version or self.key_version,
            device_id=self.devices[user.pk].pk,
            text=text,
            files=files,
        )
        return client_id, Sealed(
            e2e=e2e, text=text, franking_key=scheme.unb64(payload["franking_key"])
        )


def e2e_msg_device(user) -> DeviceModel:
    return DeviceModel.objects.create(
        id=uuid.uuid4(),
        user=user,
        name="Test browser",
        status=DeviceStatus.ACTIVE,
        # Not real points: the message path never reads them.
        ecdh_public=b64(b"\x04" + os.urandom(64)),
        signing_public=b64(b"\x04" + os.urandom(64)),
    )


def make_encrypted(conversation: Conversation, members) -> E2eConversation:
    EncryptedConversation.objects.create(
        conversation=conversation, key_version=1, rotation_required=False
    )
    made = E2eConversation(conversation=conversation, key=scheme.new_key())
    for member in members:
        made.devices[member.pk] = DeviceModel.objects.filter(
            user=member, status=DeviceStatus.ACTIVE
        ).first() or e2e_msg_device(member)
    return made


@pytest.fixture
def e2e_msg_pair(make_user):
    """A mentor and their student."""
    mentor = make_user(Role.MENTOR, name="Mara Mentor")
    student = make_user(Role.STUDENT, name="Sami Student")
    MentorAssignment.objects.create(mentor=mentor, student=student)
    return mentor, student


@pytest.fixture
def e2e_msg_group(e2e_msg_pair) -> E2eConversation:
    """An encrypted group of the mentor and the student, key version 1."""
    mentor, student = e2e_msg_pair
    conversation = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student], title="Welfare"
    )
    return make_encrypted(conversation, [mentor, student])


@pytest.fixture
def e2e_msg_plain(e2e_msg_pair) -> Conversation:
    """A plain group of the same two people."""
    mentor, student = e2e_msg_pair
    return services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student], title="Plain"
    )


@pytest.fixture
def e2e_msg_send():
    """``e2e_msg_send(user, conv, text)``: an encrypted send through the service."""

    def send(user, conv: E2eConversation, text: str = "secret words", **kwargs):
        client_id, sealed = conv.seal(user, text)
        result = services.send_message(
            sender=user,
            conversation_id=conv.pk,
            content="",
            client_id=client_id,
            e2e=sealed.e2e,
            **kwargs,
        )
        return result.message, sealed

    return send


@pytest.fixture(autouse=True)
def e2e_msg_media_root(settings, tmp_path):
    """Stored files go to a folder of the test's own, never into var/."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return tmp_path / "media"


@pytest.fixture
def e2e_msg_direct(e2e_msg_pair) -> E2eConversation:
    """An encrypted direct conversation of the mentor and the student."""
    mentor, student = e2e_msg_pair
    conversation = services.create_conversation(
        creator=mentor, kind=ConversationType.DIRECT, participants=[student]
    )
    return make_encrypted(conversation, [mentor, student])
