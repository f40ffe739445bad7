"""A socket re-checks its session and account at every heartbeat, so a lost
revoke event (a channel-layer blip) delays revocation by one heartbeat, not
forever; and the send itself refuses a deactivated sender, whatever the
consumer remembers of them."""

import uuid

import pytest

from accounts.models import AccountSession, Role, User
from messaging import services
from messaging.errors import AccessDenied
from messaging.models import AuditAction, AuditLog, Message
from tests.faults.conftest import orm
from tests.faults.peer import Peer

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

SERVER_ENV = {"PARLEY_PRESENCE_HEARTBEAT_SECONDS": "1", "PARLEY_PRESENCE_TTL_SECONDS": "3"}


def deactivate_silently(user) -> None:
    """What a lost revoke event looks like from the socket: the row changes,
    nobody is told."""
    User.objects.filter(pk=user.pk).update(is_active=False)


def change_password_silently(user) -> None:
    user.set_password("another-" + "y" * 12)
    User.objects.filter(pk=user.pk).update(password=user.password)


def change_silently(user, **powers) -> None:
    """A role or staff change whose socket close was lost."""
    User.objects.filter(pk=user.pk).update(**powers)


def end_session_silently(session_key: str) -> None:
    AccountSession.objects.filter(session_key=session_key).delete()


@pytest.mark.parametrize(
    "revoke",
    [
        pytest.param(lambda user, key: deactivate_silently(user), id="deactivated"),
        pytest.param(lambda user, key: change_password_silently(user), id="password-changed"),
        pytest.param(lambda user, key: end_session_silently(key), id="session-deleted"),
        pytest.param(lambda user, key: change_silently(user, role=Role.ADMIN), id="role-changed"),
        pytest.param(lambda user, key: change_silently(user, is_staff=True), id="made-staff"),
        pytest.param(lambda user, key: change_silently(user, is_superuser=True), id="superuser"),
    ],
)
async def test_a_revoked_socket_closes_within_a_heartbeat_without_any_event(
    asgi_server, direct, assigned, cookie_of, revoke
):
    mentor, student = assigned
    server = asgi_server(extra_env=SERVER_ENV)
    cookie = await cookie_of(student)
    peer = await Peer.open(server.ws_url, cookie)
    bystander = await Peer.open(server.ws_url, await cookie_of(mentor))
    try:
        await peer.wait_type("hello")
        await bystander.wait_type("hello")
        await orm(revoke)(student, cookie)
        # One heartbeat is a second here; the bound is generous for a loaded machine.
        assert await peer.wait_closed(timeout=30) == 4401
        # Everyone else's socket lives on.
        await bystander.send({"type": "ping", "ref": "p"})
        await bystander.wait_type("pong", ref="p")
    finally:
        await peer.close()
        await bystander.close()


async def test_a_deactivated_sender_is_refused_by_the_send_itself(open_socket, direct, assigned):
    """The consumer still holds the User it loaded at connect (active); the
    one-statement send reads the account, refuses, audits, stores nothing."""
    mentor, student = assigned
    socket = await open_socket(student)
    await orm(deactivate_silently)(student)
    reply = await socket.request(
        {
            "type": "message.send",
            "conversation_id": str(direct.pk),
            "client_id": str(uuid.uuid4()),
            "content": "after deactivation",
        }
    )
    # A deactivated account reads nothing: answered as a missing conversation.
    assert reply["type"] == "error" and reply["code"] == "not_found", reply
    assert reply["message"] == "No such conversation."
    assert not await orm(Message.objects.filter(sender=student, message_type="text").exists)()
    await socket.close()


def test_the_service_refuses_a_stale_active_sender(direct, assigned):
    mentor, student = assigned
    stale = User.objects.get(pk=student.pk)  # loaded while active
    deactivate_silently(student)
    with pytest.raises(AccessDenied):
        services.send_message(
            sender=stale, conversation_id=direct.pk, content="hi", client_id=uuid.uuid4()
        )
    assert not Message.objects.filter(sender=student, message_type="text").exists()
    assert AuditLog.objects.filter(
        actor=student, action=AuditAction.ACCESS_DENIED, details__attempted="message.send"
    ).exists()
