"""Attack case 13 (docs/reliability.md): when a session ends (logout,
deactivation, even if undone later, a password change) or a member is removed, that person's
sockets on a real server process (production profile) are closed (4401) or pruned
(``conversation.removed``) as docs/protocol.md says, and what they held
before no longer gets them anything: the old cookie opens a socket that is
closed with 4401 at once, the old API token is 401, and a removed member's
requests about the conversation get the answer a missing one gets.

The time from the action to the close is written to the test's output
(docs/reliability.md quotes it); it is not asserted, the machine is shared."""

import time
import uuid

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse
from rest_framework.test import APIClient
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from accounts import services as account_services
from accounts.models import Role
from messaging import services
from messaging.models import ConversationType
from tests.realtime.clients import RawSocket, origin_of
from tests.security.conftest import session_key, session_of
from tests.servers import production_profile

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]
orm = sync_to_async
NEW_PASSWORD = "a-New-passphrase-2468"


async def open_socket(server, cookie: str) -> RawSocket:
    return await RawSocket.open(server.ws_url, cookie)


async def close_code_of(socket: RawSocket) -> int | None:
    try:
        while True:
            await socket.recv(timeout=30)
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else None


async def the_old_cookie_is_refused(server, cookie: str) -> bool:
    """A socket opened with ``cookie`` is closed with 4401 before any hello
    (docs/protocol.md, "Connecting": not logged in)."""
    socket = await connect(
        server.ws_url,
        additional_headers={"Cookie": f"sessionid={cookie}"},
        origin=origin_of(server.ws_url),
        open_timeout=10,
    )
    try:
        frames = []
        try:
            while True:
                frames.append(await socket.recv())
        except ConnectionClosed as closed:
            return closed.rcvd is not None and closed.rcvd.code == 4401 and frames == []
    finally:
        await socket.close()


def api_status(token: str) -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client.get("/api/me/").status_code


def timed(started: float, what: str) -> None:
    print(f"{what}: closed {1000 * (time.monotonic() - started):.0f} ms after the action")


async def test_logout_closes_that_sessions_sockets_and_its_cookie_is_dead(asgi_server, student):
    server = asgi_server(extra_env=production_profile())
    leaving, staying = await orm(lambda: (session_of(student), session_of(student)))()
    old_cookie = session_key(leaving)
    sockets = [await open_socket(server, old_cookie) for _ in range(2)]
    other = await open_socket(server, session_key(staying))
    try:
        started = time.monotonic()
        response = await orm(leaving.post)(reverse("logout"))
        assert response.status_code == 302
        assert [await close_code_of(s) for s in sockets] == [4401, 4401]
        timed(started, "logout")
        # The person's other session keeps its socket.
        assert (await other.request({"type": "ping"}))["type"] == "pong"
    finally:
        for socket in (*sockets, other):
            await socket.close()
    assert await the_old_cookie_is_refused(server, old_cookie)


async def test_deactivation_closes_every_socket_and_ends_cookie_and_token(asgi_server, student):
    server = asgi_server(extra_env=production_profile())
    client, token = await orm(
        lambda: (session_of(student), account_services.issue_api_token(user=student))
    )()
    cookie = session_key(client)
    sockets = [await open_socket(server, cookie) for _ in range(2)]
    try:
        assert await orm(api_status)(token) == 200
        started = time.monotonic()
        await orm(account_services.set_active)(user=student, active=False)
        assert [await close_code_of(s) for s in sockets] == [4401, 4401]
        timed(started, "deactivation")
    finally:
        for socket in sockets:
            await socket.close()
    assert await the_old_cookie_is_refused(server, cookie)
    assert await orm(api_status)(token) == 401
    # Reactivated, they sign in afresh: nothing taken before works again.
    await orm(account_services.set_active)(user=student, active=True)
    assert await the_old_cookie_is_refused(server, cookie)
    assert await orm(api_status)(token) == 401


async def test_a_password_change_ends_the_other_sessions_cookie_and_the_token(asgi_server, student):
    server = asgi_server(extra_env=production_profile())
    mine, other, token = await orm(
        lambda: (
            session_of(student),
            session_of(student),
            account_services.issue_api_token(user=student),
        )
    )()
    other_cookie = session_key(other)
    socket = await open_socket(server, other_cookie)
    try:
        started = time.monotonic()
        response = await orm(mine.post)(
            reverse("password_change"),
            {
                "old_password": "pw-" + "x" * 12,
                "new_password1": NEW_PASSWORD,
                "new_password2": NEW_PASSWORD,
            },
        )
        assert response.status_code == 302, response.content
        assert await close_code_of(socket) == 4401
        timed(started, "password change")
    finally:
        await socket.close()
    assert await the_old_cookie_is_refused(server, other_cookie)
    assert await orm(api_status)(token) == 401


async def test_a_removed_member_is_pruned_and_gets_what_a_stranger_gets(
    asgi_server, assigned, make_user
):
    mentor, student = assigned
    server = asgi_server(extra_env=production_profile())

    def setup():
        group = services.create_conversation(
            creator=mentor, kind=ConversationType.GROUP, participants=[student], title="Study"
        )
        return group, session_key(session_of(student)), session_key(session_of(mentor))

    group, student_cookie, mentor_cookie = await orm(setup)()
    removed = await open_socket(server, student_cookie)
    sender = await open_socket(server, mentor_cookie)
    try:
        before = await sender.request(
            {
                "type": "message.send",
                "conversation_id": str(group.pk),
                "client_id": str(uuid.uuid4()),
                "content": "before",
            }
        )
        assert before["type"] == "ack", before
        await removed.recv_until(
            lambda f: f["type"] == "message.new" and f["message"]["content"] == "before"
        )

        started = time.monotonic()
        await orm(services.remove_participant)(actor=mentor, conversation_id=group.pk, user=student)
        pruned = await removed.recv_until(lambda f: f["type"] == "conversation.removed")
        timed(started, "removal")
        assert pruned["conversation_id"] == str(group.pk)

        after = await sender.request(
            {
                "type": "message.send",
                "conversation_id": str(group.pk),
                "client_id": str(uuid.uuid4()),
                "content": "after you left",
            }
        )
        assert after["type"] == "ack", after
        # The removed member's socket serves on, and its next answer comes
        # after anything the server could still have had for it.
        assert (await removed.request({"type": "ping"}))["type"] == "pong"
        later = removed.frames[removed.frames.index(pruned) + 1 :]
        assert [f["type"] for f in later if f["type"] == "message.new"] == []
        assert "after you left" not in str(later)

        # What the removed member asks about it is answered as for a
        # conversation that does not exist.
        def answer(conversation_id: str) -> dict:
            return {"type": "history.fetch", "conversation_id": conversation_id}

        theirs = await removed.request(answer(str(group.pk)))
        missing = await removed.request(answer(str(uuid.uuid4())))
        assert theirs["type"] == "error"
        assert "after you left" not in str(theirs)
        assert (theirs["code"], theirs["message"]) == (missing["code"], missing["message"])
        assert theirs["code"] == "not_found"
    finally:
        await removed.close()
        await sender.close()


async def test_a_role_change_closes_the_persons_sockets_and_they_come_back_with_the_new_role(
    asgi_server, make_user
):
    """A socket holds its person as they were when it connected: an admin
    made a mentor must not keep an admin's powers there. The admin site's
    save (``save_account`` with the fields its form changed) closes every
    socket of theirs with 4401; the session still holds, so the page's next
    socket opens, with the new role in its hello."""
    server = asgi_server(extra_env=production_profile())
    admin = await orm(make_user)(Role.ADMIN)
    cookie = await orm(lambda: session_key(session_of(admin)))()
    sockets = [await open_socket(server, cookie) for _ in range(2)]
    try:
        assert [s.hello["user"]["role"] for s in sockets] == ["admin", "admin"]

        def demote():
            admin.role = Role.MENTOR
            account_services.save_account(user=admin, changed=["role"])

        started = time.monotonic()
        await orm(demote)()
        assert [await close_code_of(s) for s in sockets] == [4401, 4401]
        timed(started, "role change")
    finally:
        for socket in sockets:
            await socket.close()
    again = await open_socket(server, cookie)
    try:
        assert again.hello["user"]["role"] == "mentor"
    finally:
        await again.close()
