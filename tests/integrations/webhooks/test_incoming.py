"""Incoming webhooks over real HTTP, against one real ASGI server process
for the module: what a good post stores and delivers live, and how every
bad one is answered with nothing stored. Also the bot's token on the
socket."""

import asyncio
import json
import urllib.error
import urllib.request
import uuid

import pytest
from django.conf import settings
from django.db import connections
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from messaging import services
from messaging.integrations.bots import services as bot_services
from messaging.integrations.models import IncomingWebhook
from messaging.integrations.webhooks.services import incoming
from messaging.models import AuditAction, AuditLog, ConversationType, Message
from tests.realtime.clients import origin_of
from tests.realtime.conftest import session_cookie
from tests.servers import ServerProcess

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

BURST = 3


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    """One server for the module, each webhook's bucket a burst of three
    posts and then next to nothing."""
    with django_db_blocker.unblock():
        process = ServerProcess(
            extra_env={
                "PARLEY_INCOMING_WEBHOOK_BURST": str(BURST),
                "PARLEY_INCOMING_WEBHOOK_PER_SECOND": "0.001",
                "PARLEY_INCOMING_WEBHOOK_MAX_BYTES": "2048",
            }
        )
    yield process
    process.stop()


@pytest.fixture
def hook(assigned):
    """A group of a mentor and a student, and the mentor's webhook in it."""
    mentor, student = assigned
    group = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student], title="Builds"
    )
    issued = incoming.create_incoming_webhook(actor=mentor, conversation_id=group.pk, name="CI")
    return mentor, student, group, issued


def post(server, token: str, body: bytes, **headers) -> tuple[int, dict, dict]:
    request = urllib.request.Request(
        f"{server.http_url}/hooks/{token}",
        data=body,
        headers={"Content-Type": "application/json", **headers},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            headers = {k.lower(): v for k, v in response.headers.items()}
            return response.status, json.loads(response.read()), headers
    except urllib.error.HTTPError as error:
        headers = {k.lower(): v for k, v in error.headers.items()}
        return error.code, json.loads(error.read()), headers


def stored(group) -> list[str]:
    return list(
        Message.objects.filter(conversation=group, message_type="text").values_list(
            "content", flat=True
        )
    )


def test_a_post_is_stored_as_the_webhooks_bot_and_arrives_live(server, hook):
    mentor, student, group, issued = hook
    bot_user = issued.webhook.bot.user
    assert bot_user.display_name == "CI"
    assert AuditLog.objects.filter(action=AuditAction.WEBHOOK_CREATE, actor=mentor).exists()
    cookie = session_cookie(student)

    async def scenario():
        async with connect(
            server.ws_url,
            additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}"},
            origin=origin_of(server.ws_url),
            open_timeout=10,
        ) as socket:
            hello = json.loads(await asyncio.wait_for(socket.recv(), 10))
            assert hello["type"] == "hello"
            answer = await asyncio.to_thread(
                post,
                server,
                issued.token,
                json.dumps({"text": "Build 12 **passed**", "username": "ignored"}).encode(),
            )
            while True:
                frame = json.loads(await asyncio.wait_for(socket.recv(), 10))
                if frame["type"] == "message.new":
                    return answer, frame

    (status, body, _), frame = asyncio.run(scenario())
    assert status == 200
    assert body["ok"] is True
    message = Message.objects.get(pk=body["message_id"])
    assert message.sender_id == bot_user.pk
    assert "<strong>passed</strong>" in message.content_html
    assert frame["message"]["id"] == body["message_id"]
    assert frame["message"]["sender"]["display_name"] == "CI"
    assert IncomingWebhook.objects.get(pk=issued.webhook.pk).last_used_at is not None


def test_a_retried_post_with_an_idempotency_key_is_stored_once(server, hook):
    _, _, group, issued = hook
    body = json.dumps({"text": "deployed"}).encode()
    first = post(server, issued.token, body, **{"Idempotency-Key": "deploy-7"})
    again = post(server, issued.token, body, **{"Idempotency-Key": "deploy-7"})
    assert first[0] == again[0] == 200
    assert first[1]["message_id"] == again[1]["message_id"]
    assert stored(group) == ["deployed"]


def test_bad_posts_are_refused_and_store_nothing(server, hook):
    mentor, _, group, issued = hook
    cases = [
        (str(uuid.uuid4()), b'{"text": "unknown token"}', 404, "not_found"),
        (issued.token, b"x" * 2049, 413, "too_large"),
        (issued.token, b'{"text": "unterminated', 400, "invalid"),
        (issued.token, b'{"username": "no text"}', 400, "invalid"),
        (issued.token, b'{"text": "   "}', 400, "invalid"),
    ]
    for token, body, status, code in cases:
        answer = post(server, token, body)
        assert (answer[0], answer[1]["ok"], answer[1]["error"]["code"]) == (
            status,
            False,
            code,
        ), body
    assert stored(group) == []
    # Revoked: 404, nothing stored, its bot deactivated.
    incoming.revoke_incoming_webhook(actor=mentor, webhook_id=issued.webhook.pk)
    answer = post(server, issued.token, b'{"text": "after revoking"}')
    assert (answer[0], answer[1]["error"]["code"]) == (404, "not_found")
    assert stored(group) == []
    issued.webhook.bot.user.refresh_from_db()
    assert not issued.webhook.bot.user.is_active


def test_past_its_rate_a_webhook_is_told_to_wait(server, hook):
    _, _, group, issued = hook
    answers = [post(server, issued.token, b'{"text": "tick"}') for _ in range(BURST + 1)]
    assert [a[0] for a in answers] == [200] * BURST + [429]
    assert answers[-1][1]["error"]["code"] == "rate_limited"
    assert int(answers[-1][2]["retry-after"]) >= 1
    assert stored(group) == ["tick"] * BURST


def test_only_a_manager_creates_and_revokes_webhooks_over_rest(api, hook, make_user):
    mentor, student, group, _ = hook
    refused = api(student).post(
        f"/api/conversations/{group.pk}/webhooks/", {"name": "Mine"}, format="json"
    )
    assert refused.status_code == 403
    stranger = api(make_user("mentor"))
    assert stranger.get(f"/api/conversations/{group.pk}/webhooks/").status_code == 404
    created = api(mentor).post(
        f"/api/conversations/{group.pk}/webhooks/", {"name": "Alerts"}, format="json"
    )
    assert created.status_code == 201, created.content
    url = created.json()["url"]
    assert "/hooks/" in url
    listed = api(mentor).get(f"/api/conversations/{group.pk}/webhooks/").json()["webhooks"]
    assert {w["name"] for w in listed} == {"CI", "Alerts"}
    assert all("url" not in w for w in listed)
    webhook_id = created.json()["id"]
    assert stranger.delete(f"/api/webhooks/{webhook_id}/").status_code == 404
    assert api(mentor).delete(f"/api/webhooks/{webhook_id}/").status_code == 204
    assert IncomingWebhook.objects.get(pk=webhook_id).revoked_at is not None


def test_a_bot_token_opens_the_socket_and_a_wrong_one_does_not(server, assigned):
    mentor, student = assigned
    issued = bot_services.create_bot(owner=mentor, display_name="Socket Bot")
    group = services.create_conversation(
        creator=mentor,
        kind=ConversationType.GROUP,
        participants=[student, issued.bot.user],
        title="Bots",
    )

    async def open_with(token: str):
        socket = await connect(
            server.ws_url,
            additional_headers={"Authorization": f"Token {token}"},
            origin=origin_of(server.ws_url),
            open_timeout=10,
        )
        try:
            frames = []
            while True:
                frame = json.loads(await asyncio.wait_for(socket.recv(), 10))
                frames.append(frame)
                if frame["type"] == "hello":
                    await socket.send(
                        json.dumps(
                            {
                                "type": "message.send",
                                "ref": "s1",
                                "conversation_id": str(group.pk),
                                "client_id": str(uuid.uuid4()),
                                "content": "beep",
                            }
                        )
                    )
                if frame["type"] == "ack":
                    return frames, None
        except ConnectionClosed as closed:
            return frames, closed.rcvd.code if closed.rcvd else None
        finally:
            await socket.close()

    frames, _ = asyncio.run(open_with(issued.token))
    assert frames[0]["user"]["role"] == "bot"
    assert str(group.pk) in {c["id"] for c in frames[0]["conversations"]}
    assert stored(group) == ["beep"]
    frames, code = asyncio.run(open_with("not-" + issued.token))
    assert (frames, code) == ([], 4401)


def test_rotating_a_bots_token_closes_its_socket(server, mentor):
    issued = bot_services.create_bot(owner=mentor, display_name="Rotated Bot")

    async def scenario():
        async with connect(
            server.ws_url,
            additional_headers={"Authorization": f"Token {issued.token}"},
            origin=origin_of(server.ws_url),
            open_timeout=10,
        ) as socket:
            hello = json.loads(await asyncio.wait_for(socket.recv(), 10))
            assert hello["type"] == "hello"
            await asyncio.to_thread(rotate)
            try:
                while True:
                    await asyncio.wait_for(socket.recv(), 10)
            except ConnectionClosed as closed:
                return closed.rcvd.code if closed.rcvd else None

    def rotate():
        try:
            bot_services.rotate_token(actor=mentor, bot=issued.bot)
        finally:
            connections.close_all()

    assert asyncio.run(scenario()) == 4401
