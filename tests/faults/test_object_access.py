"""Case 10, object access: whoever may not see a conversation gets, from
every REST route, page, file URL, search and socket command that names it
(or anything of it), exactly the answer an id that does not exist gets, and
nothing of its content.

One conversation with content (messages, a thread reply, a sent file, a
reaction, a pin, a saved message, a support request and a notification of
its members) and four people who may not see it: a stranger, a removed
member, a student of another mentor's group, and a deactivated former
member. For each of the first three, every route of the URL resolver with
an id in its path is asked twice, once with the real ids and once with
fresh ones, and the two answers (status, headers that matter, body, with
the ids themselves masked) must be equal, with no content string in
either. The routes are enumerated from the resolver and the socket's
command table: a new route or command with an id that is not listed here
fails ``test_every_route_and_command_with_an_id_is_swept``. The deactivated
person cannot sign in at all: their old session and token are refused.
"""

import io
import json
import re
import uuid
from dataclasses import dataclass, fields
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import MentorAssignment, Role, User
from messaging import services
from messaging.files.models import AttachmentKind
from messaging.integrations.meetings import services as meetings
from messaging.integrations.reminders import services as reminders
from messaging.integrations.scheduling import services as scheduling
from messaging.integrations.webhooks.services import incoming
from messaging.models import AuditAction, AuditLog, Conversation, ConversationType
from messaging.realtime.consumers import COMMANDS
from messaging.support.models import SupportCategory
from messaging.support.services import requests as support_requests
from messaging.threads.models import Pin, Reaction
from messaging.threads.services import pins, reactions, saved
from notifications.models import Notification, PushSubscription
from tests.files.factories import make_attachment
from tests.realtime.clients import RawSocket

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

orm = sync_to_async

# Every piece of the conversation's content: none may appear in any answer
# to someone who may not see it.
TITLE = "Quarantine Orchard Syndicate"
ROOT_TEXT = "the vault code is 7741 plutonium"
REPLY_TEXT = "thread reply about marzipan logistics"
CAPTION = "caption of the zeppelin blueprint"
FILE_NAME = "zeppelin-blueprint.txt"
FILE_TEXT = "blueprint body: hydrogen cells and gondola"
SUBJECT = "Support subject about quicksilver"
MEETING_TITLE = "Saffron ledger review"
REMINDER_NOTE = "ask about the tamarind budget"
SCHEDULED_TEXT = "scheduled note about the juniper audit"
SECRETS = [
    "Saffron",
    "tamarind",
    "juniper",
    TITLE,
    ROOT_TEXT,
    "plutonium",
    REPLY_TEXT,
    "marzipan",
    CAPTION,
    "zeppelin",
    FILE_TEXT,
    "gondola",
    SUBJECT,
    "quicksilver",
]
EMOJI = "👍"


# --- The world ----------------------------------------------------------------------


@dataclass
class Objects:
    """The ids a route may name: the real ones, or fresh ones naming nothing."""

    conversation: uuid.UUID
    message: uuid.UUID
    attachment: uuid.UUID
    request: uuid.UUID
    notification: uuid.UUID
    subscription: uuid.UUID
    meeting: uuid.UUID
    reminder: uuid.UUID
    scheduled: uuid.UUID
    webhook: uuid.UUID

    def ids(self) -> list[str]:
        return [str(value) for value in vars(self).values()]

    @classmethod
    def missing(cls) -> "Objects":
        return cls(*(uuid.uuid4() for _ in range(len(fields(cls)))))


@dataclass
class World:
    owner: User
    member: User
    stranger: User
    removed: User
    other_student: User
    deactivated: User
    present: Objects
    reply_id: uuid.UUID
    deactivated_cookie: str
    deactivated_token: str


def _cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def build_world(make_user) -> World:
    owner = make_user(Role.MENTOR, name="Olga Owner")
    member, removed, deactivated = (make_user(Role.STUDENT) for _ in range(3))
    for student in (member, removed, deactivated):
        MentorAssignment.objects.create(mentor=owner, student=student)
    # A mentor: may talk to many people, but is in nothing of this group.
    stranger = make_user(Role.MENTOR)
    # A student in another mentor's group.
    other_mentor, other_student = make_user(Role.MENTOR), make_user(Role.STUDENT)
    MentorAssignment.objects.create(mentor=other_mentor, student=other_student)
    services.create_conversation(
        creator=other_mentor, kind=ConversationType.GROUP, participants=[other_student], title="B"
    )

    group = services.create_conversation(
        creator=owner,
        kind=ConversationType.GROUP,
        participants=[member, removed, deactivated],
        title=TITLE,
    )

    def send(sender, content, **extra):
        return services.send_message(
            sender=sender,
            conversation_id=group.pk,
            content=content,
            client_id=uuid.uuid4(),
            **extra,
        ).message

    root = send(owner, ROOT_TEXT)
    reply = send(member, REPLY_TEXT, parent_id=root.pk)
    upload = make_attachment(
        uploader=owner,
        conversation=group,
        kind=AttachmentKind.TEXT,
        data=FILE_TEXT.encode(),
        name=FILE_NAME,
    )
    send(owner, CAPTION, attachment_ids=[upload.pk])
    reactions.add_reaction(user=member, message_id=root.pk, emoji=EMOJI)
    pins.pin_message(user=owner, message_id=root.pk)
    saved.save_message(user=member, message_id=root.pk)
    category = SupportCategory.objects.create(slug="access-sweep", name="Access")
    request = support_requests.open_request(
        requester=member,
        category_id=category.pk,
        subject=SUBJECT,
        body="quicksilver body",
        client_id=uuid.uuid4(),
    )
    notification = Notification.objects.filter(user=member).first()
    assert notification is not None, "a member's notification to probe with"
    subscription = PushSubscription.objects.create(
        user=member, endpoint="https://push.example.test/member", p256dh="p", auth="a"
    )
    # The integrations' objects of the conversation and of its members.
    meeting = meetings.start_meeting(actor=owner, conversation_id=group.pk, title=MEETING_TITLE)
    later = timezone.now() + timedelta(hours=1)
    reminder = reminders.create_reminder(
        user=member, message_id=root.pk, remind_at=later, note=REMINDER_NOTE
    )
    scheduled = scheduling.schedule_message(
        author=member,
        conversation_id=group.pk,
        content=SCHEDULED_TEXT,
        send_at=later,
        time_zone="UTC",
    )
    webhook = incoming.create_incoming_webhook(
        actor=owner, conversation_id=group.pk, name="Orchard feed"
    ).webhook

    services.remove_participant(actor=owner, conversation_id=group.pk, user=removed)
    # The deactivated person's session and token, taken while they could sign in.
    deactivated_cookie = _cookie(deactivated)
    deactivated_token = Token.objects.get_or_create(user=deactivated)[0].key
    account_services.set_active(user=deactivated, active=False)

    return World(
        owner=owner,
        member=member,
        stranger=stranger,
        removed=removed,
        other_student=other_student,
        deactivated=deactivated,
        present=Objects(
            conversation=group.pk,
            message=root.pk,
            attachment=upload.pk,
            request=request.pk,
            notification=notification.pk,
            subscription=subscription.pk,
            meeting=meeting.pk,
            reminder=reminder.pk,
            scheduled=scheduled.pk,
            webhook=webhook.pk,
        ),
        reply_id=reply.pk,
        deactivated_cookie=deactivated_cookie,
        deactivated_token=deactivated_token,
    )


@pytest.fixture
def world(make_user, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    # Every probe spends a send token where a send would: with the default
    # burst the later probes would be rate_limited, for present and missing
    # ids alike, and compare nothing.
    settings.PARLEY = {**settings.PARLEY, "SEND_BURST": 100_000}
    return build_world(make_user)


ACTORS = ("stranger", "removed", "other_student")


# --- Routes -------------------------------------------------------------------------

# Per route name (the resolver's), every method with a body that passes the
# route's own validation, so that the lookup is what answers. A callable
# body is given the world and the actor.
API_CALLS: dict = {
    "api-conversation": [("get", None), ("patch", {"title": "Renamed"})],
    "api-conversation-archive": [("post", None)],
    "api-conversation-unarchive": [("post", None)],
    "api-conversation-personal-archive": [("put", None), ("delete", None)],
    "api-participants": [("post", lambda w, a: {"user_ids": [str(w.member.pk)]})],
    "api-participant": [("delete", None)],  # the actor's own id: leaving
    "api-messages": [
        ("get", None),
        ("post", {"client_id": "6f1c8f58-3b0e-4d5e-9a55-0d6f0b8f2a11", "content": "hi"}),
    ],
    "api-read": [("post", {"seq": 1})],
    "api-message": [("patch", {"content": "edited"}), ("delete", None)],
    "api-thread": [("get", None)],
    "api-thread-messages": [("get", None)],
    "api-thread-read": [("post", {"seq": 1})],
    "api-thread-follow": [("put", None), ("delete", None)],
    "api-message-reaction": [("put", None), ("delete", None)],
    "api-message-pin": [("put", None), ("delete", None)],
    "api-message-saved": [("put", None), ("delete", None)],
    "api-conversation-pins": [("get", None)],
    "api-message-preview": [("delete", None)],
    "api-message-preview-image": [("get", None)],
    "api-conversation-warnings": [("get", None)],
    "api-message-report": [("post", {"reason": "spam"})],
    "api-conversation-mute": [("put", {"until": None}), ("delete", None)],
    "api-attachments-upload": [("post", "multipart")],
    "api-attachment": [("get", None), ("delete", None)],
    "api-attachment-content": [("get", None)],
    "api-attachment-thumbnail": [("get", None)],
    "api-attachment-preview": [("get", None)],
    "api-notification-read": [("post", None)],
    "api-push-subscription": [("delete", None)],
    "api-support-request": [("get", None)],
    "api-support-request-status": [("post", {"status": "resolved"})],
    "api-support-request-assign": [("post", {"assignee_id": None})],
    "api-support-request-priority": [("post", {"priority": "high"})],
    "api-support-request-rating": [("post", {"satisfied": True})],
    # The integrations (docs/integrations.md).
    "api-meetings": [("post", {"title": "A call"})],
    "api-meeting": [("get", None)],
    "api-meeting-join": [("get", None)],
    "api-meeting-ics": [("get", None)],
    "api-reminder": [("get", None), ("patch", {"note": "changed"}), ("delete", None)],
    "api-reminder-ics": [("get", None)],
    "api-scheduled-message": [("get", None), ("patch", {"content": "changed"}), ("delete", None)],
    "api-conversation-webhooks": [("get", None), ("post", {"name": "Another feed"})],
    "api-webhook": [("delete", None)],
    "api-assistant-summary": [("post", {})],
    # End-to-end encryption (docs/api.md): a conversation's key state and key
    # versions. The body's envelope is well formed; what it names is checked
    # only after the conversation is found.
    "api-e2e-conversation": [("get", None)],
    "api-e2e-conversation-keys": [("post", lambda w, a: _key_version_body(a))],
}


def _key_version_body(actor) -> dict:
    from tests.e2e.server.keys import Device

    device = Device(user_id=actor.pk)
    envelope = device.wrap(
        conversation_id=uuid.UUID(int=1),
        key_version=1,
        recipient_id=device.id,
        recipient_ecdh=device.ecdh_public,
        key=bytes(32),
    )
    return {"key_version": 1, "envelopes": [envelope]}


PAGE_CALLS: dict = {
    "conversation": [("get", None)],
    "members": [("get", None)],
    "add_members": [("post", lambda w, a: {"user_ids": [str(w.member.pk)]})],
    "remove_member": [("post", lambda w, a: {"user_id": str(a.pk)})],
    "rename": [("post", {"title": "Renamed"})],
    "archive": [("post", {"archived": "1"})],
    "put_away": [("post", {"archived": "1"})],
    "mute_conversation": [("post", {"duration": "1h"})],
    "file-preview": [("get", None)],
    "support_status": [("post", {"status": "resolved"})],
    "support_assign": [("post", {"assignee_id": ""})],
    "support_priority": [("post", {"priority": "high"})],
    "support_rating": [("post", {"satisfied": "1"})],
    "meeting_join": [("get", None)],
}

# Routes with a path parameter that names no conversation content.
NOT_CONTENT = {
    "api-block": "names a person (blocking is about people, not conversations)",
    "notifications_unsubscribe": "a signed token, not an object id: a bad one answers 400",
    "calendar-feed": "a secret token, not an object id: an unknown one answers 404",
    "incoming-webhook": "a secret token, not an object id: an unknown or revoked one "
    "answers 404 and stores nothing (tests/integrations/webhooks)",
    "api-bot": "names a bot, an account rather than conversation content: only its "
    "owner and admins see it, anyone else gets 404 (tests/integrations/bots)",
    "api-bot-token": "as api-bot",
    "api-e2e-device": "names one of the person's own devices: anyone else's answers 404 "
    "as a missing one (tests/e2e/server)",
    "api-e2e-device-approve": "as api-e2e-device",
    "api-e2e-user-devices": "names a person: their active devices' public keys, for whom "
    "may see their presence; 404 as for nobody otherwise (tests/e2e/server)",
}

# Answered 2xx whatever the id names: taking a message off one's own saved
# list works for any id (it changes only one's own list).
HARMLESS = {("api-message-saved", "delete")}

# Ids in query parameters rather than the path.
QUERY_CALLS = [
    ("api-search", lambda o: {"q": "plutonium", "conversation_id": str(o.conversation)}),
    ("api-saved", lambda o: {"conversation_id": str(o.conversation)}),
    ("api-notifications", lambda o: {"before": str(o.notification)}),
]


def _routes(patterns=None, prefix=""):
    """Every URL pattern of the site: (route text, name, callback)."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from _routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def _with_ids() -> dict[str, tuple[str, URLPattern]]:
    """The site's own routes (the admin's are swept apart) whose path names
    something, by name."""
    return {
        pattern.name: (route, pattern)
        for route, pattern in _routes()
        if not route.startswith("admin/") and pattern.pattern.converters
    }


def _admin_routes_with_ids() -> list[tuple[str, URLPattern]]:
    return [
        (route, pattern)
        for route, pattern in _routes()
        if route.startswith("admin/") and pattern.name and pattern.pattern.converters
    ]


def _kwargs(pattern: URLPattern, objects: Objects, actor: User) -> dict:
    values = {
        "conversation_id": objects.conversation,
        "message_id": objects.message,
        "root_id": objects.message,
        "attachment_id": objects.attachment,
        "request_id": objects.request,
        "notification_id": objects.notification,
        "subscription_id": objects.subscription,
        "user_id": actor.pk,
        "page": 1,
        "emoji": EMOJI,
        "object_id": objects.conversation,
        "meeting_id": objects.meeting,
        "reminder_id": objects.reminder,
        "scheduled_id": objects.scheduled,
        "webhook_id": objects.webhook,
    }
    return {name: values[name] for name in pattern.pattern.converters}


# --- Answers ------------------------------------------------------------------------

_TOKENS = [
    (re.compile(r"[A-Za-z0-9]{64}"), "<csrf>"),  # a masked CSRF token
    (re.compile(r'nonce="[^"]*"'), 'nonce="<nonce>"'),
]


def _masked(text: str, ids: list[str]) -> str:
    for value in ids:
        text = text.replace(value, "<id>").replace(value.replace("-", ""), "<id>")
    for pattern, mask in _TOKENS:
        text = pattern.sub(mask, text)
    return text


def _answer(response, ids: list[str]) -> dict:
    """What a client learns from a response, the ids it named masked."""
    chain = [(_masked(url, ids), status) for url, status in getattr(response, "redirect_chain", [])]
    return {
        "status": response.status_code,
        "content_type": response.get("Content-Type"),
        "location": _masked(response.get("Location", ""), ids),
        "redirects": chain,
        "body": _masked(response.content.decode("utf-8", "replace"), ids),
    }


def _assert_no_secret(response, where: str) -> None:
    seen = response.content.decode("utf-8", "replace") + str(dict(response.items()))
    for secret in SECRETS:
        assert secret not in seen, (where, secret)


def _call(client, world, actor, name, pattern, method, body, objects, *, page: bool):
    path = reverse(name, kwargs=_kwargs(pattern, objects, actor))
    if callable(body):
        body = body(world, actor)
    if page:
        return getattr(client, method)(path, body or {}, follow=True)
    if body == "multipart":
        upload = _upload_part()
        return client.post(path, {"file": upload}, format="multipart")
    return getattr(client, method)(path, body, format="json")


def _upload_part():
    part = io.BytesIO(b"probe text")
    part.name = "probe.txt"
    return part


def _sweep_http(world: World, actor: User) -> int:
    """Ask every route, page and query with an id as ``actor``, with the
    real ids and with missing ones; returns how many pairs were compared."""
    api = APIClient()
    api.force_login(actor)
    pages = Client()
    pages.force_login(actor)
    missing = Objects.missing()
    routes = _with_ids()
    compared = 0
    for calls, client, page in ((API_CALLS, api, False), (PAGE_CALLS, pages, True)):
        for name, methods in calls.items():
            _, pattern = routes[name]
            for method, body in methods:
                where = (actor.display_name, name, method)
                real = _call(
                    client, world, actor, name, pattern, method, body, world.present, page=page
                )
                none = _call(client, world, actor, name, pattern, method, body, missing, page=page)
                _assert_no_secret(real, where)
                assert _answer(real, world.present.ids()) == _answer(none, missing.ids()), where
                # Every one reaches its lookup: none is refused earlier (a
                # refusal before the lookup would compare nothing).
                assert real.status_code == 404 or (name, method) in HARMLESS, (where, real)
                compared += 1
    for name, query in QUERY_CALLS:
        real = api.get(reverse(name), query(world.present))
        none = api.get(reverse(name), query(missing))
        _assert_no_secret(real, (actor.display_name, name))
        assert _answer(real, world.present.ids()) == _answer(none, missing.ids()), name
        assert real.status_code == 404, (name, real.status_code)
        compared += 1
    return compared


# --- REST, pages, files, search -------------------------------------------------------


def test_every_route_and_command_with_an_id_is_swept():
    """The resolver's routes with a path parameter, and the socket's
    commands, are each swept below or named here as naming no content."""
    routes = _with_ids()
    swept = set(API_CALLS) | set(PAGE_CALLS)
    assert set(routes) == swept | set(NOT_CONTENT), set(routes) ^ (swept | set(NOT_CONTENT))
    for name, (_, pattern) in routes.items():
        view = getattr(pattern.callback, "cls", None)
        if view is None or name not in API_CALLS:
            continue
        implemented = {m for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m)}
        assert implemented == {m for m, _ in API_CALLS[name]}, name
    assert set(COMMANDS) == set(SOCKET_FRAMES) | NO_OBJECT, set(COMMANDS) ^ (
        set(SOCKET_FRAMES) | NO_OBJECT
    )


@pytest.mark.parametrize("who", ACTORS)
def test_every_route_answers_as_for_a_missing_object(world, who):
    actor = getattr(world, who)
    before = AuditLog.objects.filter(actor=actor, action=AuditAction.ACCESS_DENIED).count()
    compared = _sweep_http(world, actor)
    assert compared == sum(len(m) for m in (*API_CALLS.values(), *PAGE_CALLS.values())) + len(
        QUERY_CALLS
    )
    # The refusals are still in the audit log.
    assert AuditLog.objects.filter(actor=actor, action=AuditAction.ACCESS_DENIED).count() > before
    # And nothing changed: still one pin, the title, the member's reaction.
    assert Conversation.objects.get(pk=world.present.conversation).title == TITLE
    assert Pin.objects.filter(conversation_id=world.present.conversation).count() == 1
    assert list(Reaction.objects.values_list("user_id", flat=True)) == [world.member.pk]


def test_search_finds_nothing_of_it(world):
    """Search is over the conversations one reads: no hit, nothing of the
    content, by the API or the page."""
    for who in ACTORS:
        api = APIClient()
        api.force_login(getattr(world, who))
        for words in ("plutonium", "marzipan", "zeppelin", "quicksilver", "Orchard"):
            found = api.get(reverse("api-search"), {"q": words})
            assert found.status_code == 200 and found.json()["results"] == [], (who, words)
            page = Client()
            page.force_login(getattr(world, who))
            shown = page.get(reverse("search"), {"q": words})
            assert shown.status_code == 200
            body = shown.content.decode()
            for secret in SECRETS:
                if words not in secret:
                    assert secret not in body, (who, words, secret)
    # The member finds it: the probe words are there to find.
    api = APIClient()
    api.force_login(world.member)
    assert api.get(reverse("api-search"), {"q": "plutonium"}).json()["results"]


def test_the_admin_answers_a_non_staff_user_alike_for_any_id(world):
    """Every admin route with an id sends someone who is not staff to the
    admin's login, whatever the id names."""
    client = Client()
    client.force_login(world.stranger)
    missing = Objects.missing()
    routes = _admin_routes_with_ids()
    assert routes
    for _, pattern in routes:
        name = f"admin:{pattern.name}"
        names = pattern.pattern.converters
        real = client.get(reverse(name, kwargs=dict.fromkeys(names, world.present.conversation)))
        none = client.get(reverse(name, kwargs=dict.fromkeys(names, missing.conversation)))
        _assert_no_secret(real, name)
        assert real.status_code == 302, (name, real.status_code)
        assert _answer(real, world.present.ids()) == _answer(none, missing.ids()), name


def test_a_deactivated_former_member_cannot_use_their_session_or_token(world):
    conversation = world.present.conversation
    token = APIClient()
    token.credentials(HTTP_AUTHORIZATION=f"Token {world.deactivated_token}")
    refused = token.get(f"/api/conversations/{conversation}/messages/")
    assert refused.status_code == 401
    _assert_no_secret(refused, "token")
    session = Client()
    session.cookies[settings.SESSION_COOKIE_NAME] = world.deactivated_cookie
    api = session.get(f"/api/conversations/{conversation}/messages/")
    assert api.status_code == 401
    page = session.get(reverse("conversation", args=[conversation]))
    assert page.status_code == 302 and page["Location"].startswith(reverse(settings.LOGIN_URL))
    _assert_no_secret(page, "page")
    files = session.get(f"/api/attachments/{world.present.attachment}/content/")
    assert files.status_code == 401


# --- The socket -----------------------------------------------------------------------

CLIENT_ID = "0e1d7c52-9a52-4f44-8d5f-3a0cbb1f2a77"

# Every command that names a conversation, a message or a thread.
SOCKET_FRAMES = {
    "message.send": lambda o: {
        "conversation_id": str(o.conversation),
        "client_id": CLIENT_ID,
        "content": "hi",
    },
    "message.edit": lambda o: {"message_id": str(o.message), "content": "edited"},
    "message.delete": lambda o: {"message_id": str(o.message)},
    "typing.start": lambda o: {"conversation_id": str(o.conversation)},
    "typing.stop": lambda o: {"conversation_id": str(o.conversation)},
    "read": lambda o: {"conversation_id": str(o.conversation), "seq": 1},
    "delivered": lambda o: {"conversation_id": str(o.conversation), "seq": 1},
    "resume": lambda o: {"cursors": {str(o.conversation): 0}},
    "history.fetch": lambda o: {"conversation_id": str(o.conversation)},
    "thread.fetch": lambda o: {"thread_id": str(o.message)},
    "thread.read": lambda o: {"thread_id": str(o.message), "seq": 2},
    "thread.follow": lambda o: {"thread_id": str(o.message), "following": True},
    "reaction.add": lambda o: {"message_id": str(o.message), "emoji": EMOJI},
    "reaction.remove": lambda o: {"message_id": str(o.message), "emoji": EMOJI},
    "message.pin": lambda o: {"message_id": str(o.message)},
    "message.unpin": lambda o: {"message_id": str(o.message)},
    "message.save": lambda o: {"message_id": str(o.message)},
    "message.unsave": lambda o: {"message_id": str(o.message)},
}
# Commands that name no conversation or message.
NO_OBJECT = {"presence.set", "presence.query", "ping"}
# Frames that are about other things than the probe (the person's presence).
CHATTER = {"presence", "notification.new", "notification.read"}


async def _probe(send, recv, command: str, objects: Objects) -> list[dict]:
    """Everything the socket answers to one command, up to the ``pong`` of
    a ``ping`` sent after it (replies come in order)."""
    await send({"type": command, "ref": "probe", **SOCKET_FRAMES[command](objects)})
    await send({"type": "ping", "ref": "end"})
    frames = []
    while True:
        frame = await recv()
        if frame["type"] == "pong" and frame.get("ref") == "end":
            return frames
        if frame["type"] not in CHATTER:
            frames.append(frame)


def _masked_frames(frames: list[dict], ids: list[str]) -> str:
    return _masked(json.dumps(frames, sort_keys=True), ids)


async def _sweep_socket(send, recv, world: World, who: str) -> int:
    missing = Objects.missing()
    for command in SOCKET_FRAMES:
        real = await _probe(send, recv, command, world.present)
        none = await _probe(send, recv, command, missing)
        text = _masked_frames(real, world.present.ids())
        for secret in SECRETS:
            assert secret not in text, (who, command, secret)
        assert text == _masked_frames(none, missing.ids()), (who, command, real, none)
        # A refusal, as for the missing id (typing.stop is silent, and
        # message.unsave takes any id off one's own list).
        if command not in ("typing.stop", "message.unsave"):
            assert real and real[0]["type"] == "error", (who, command, real)
            assert real[0]["code"] == "not_found", (who, command, real)
    return len(SOCKET_FRAMES)


@pytest.mark.parametrize("who", ACTORS)
async def test_every_socket_command_answers_as_for_a_missing_object(world, who, open_socket):
    socket = await open_socket(getattr(world, who))
    assert str(world.present.conversation) not in str(socket.hello)
    swept = await _sweep_socket(socket.send, socket.recv, world, who)
    assert swept == len(SOCKET_FRAMES) == 18
    await socket.close()


async def test_a_deactivated_former_members_socket_is_refused(world, open_socket):
    socket = await open_socket(cookie=world.deactivated_cookie, expect_hello=False)
    closed = await socket.communicator.receive_output(timeout=5)
    assert closed == {"type": "websocket.close", "code": 4401}


async def test_over_a_real_server_the_socket_answers_as_for_a_missing_object(world, asgi_server):
    """The same sweep against a real server process, as an outside client
    speaks to it."""
    server = asgi_server(extra_env={"PARLEY_SEND_BURST": "100000"})
    for who in ACTORS:
        cookie = await orm(_cookie)(getattr(world, who))
        raw = await RawSocket.open(server.ws_url, cookie)
        assert str(world.present.conversation) not in str(raw.hello)
        try:
            assert await _sweep_socket(raw.send, raw.recv, world, who) == 18
        finally:
            await raw.socket.close()
