"""Bots: who creates them, what they may do, how they authenticate (REST
token; no password), and the REST API that manages them."""

import uuid

import pytest
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Role
from messaging import policy, services
from messaging.errors import AccessDenied, InvalidInput, Muted, NotVisible, TooManyBots
from messaging.integrations.bots import services as bot_services
from messaging.integrations.models import Bot, BotKind
from messaging.integrations.webhooks.services import incoming
from messaging.models import AuditAction, AuditLog, ConversationType
from messaging.moderation.services.actions import mute_user

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture
def issued(mentor):
    return bot_services.create_bot(owner=mentor, display_name="Helper Bot")


@pytest.fixture
def group(assigned):
    mentor, student = assigned
    return services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student], title="Study"
    )


def token_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def send(user, conversation, content="hello"):
    return services.send_message(
        sender=user, conversation_id=conversation.pk, content=content, client_id=uuid.uuid4()
    ).message


def test_a_mentor_creates_a_bot_with_a_token_and_no_password(mentor, issued):
    bot = issued.bot
    assert bot.user.role == Role.BOT
    assert bot.owner == mentor
    assert bot.kind == BotKind.WEBHOOK
    assert not bot.user.has_usable_password()
    assert Token.objects.get(user=bot.user).key == issued.token
    assert len(bot.signing_secret) == 64
    assert AuditLog.objects.filter(
        actor=mentor, action=AuditAction.BOT_CREATE, target_user_id=bot.user_id
    ).exists()


def test_deactivating_the_owner_deactivates_their_bots(mentor, issued, group):
    """A person cut off does not go on through a bot of theirs: its token
    and its incoming webhooks stop with them, and stay off when the person
    is let back in (an admin turns each bot on again)."""
    from accounts import services as account_services
    from messaging.integrations.webhooks import selectors as webhook_selectors
    from messaging.integrations.webhooks.services import incoming as webhook_services

    services.add_participants(actor=mentor, conversation_id=group.pk, users=[issued.bot.user])
    hook = webhook_services.create_incoming_webhook(
        actor=mentor, conversation_id=group.pk, name="CI"
    )
    bot_api = token_client(issued.token)
    assert bot_api.get(f"/api/conversations/{group.pk}/messages/").status_code == 200
    account_services.set_active(user=mentor, active=False)
    issued.bot.user.refresh_from_db()
    assert not issued.bot.user.is_active
    assert bot_api.get(f"/api/conversations/{group.pk}/messages/").status_code == 401
    assert webhook_selectors.webhook_for_token(hook.token) is None
    account_services.set_active(user=mentor, active=True)
    issued.bot.user.refresh_from_db()
    assert not issued.bot.user.is_active


def test_a_mentor_made_a_student_loses_their_bots(mentor, issued, group):
    """A student owns no bots: the change of role deactivates them (token,
    incoming webhooks), as deactivating the person does."""
    from accounts import services as account_services
    from messaging.integrations.webhooks import selectors as webhook_selectors
    from messaging.integrations.webhooks.services import incoming as webhook_services

    hook = webhook_services.create_incoming_webhook(
        actor=mentor, conversation_id=group.pk, name="CI"
    )
    mentor.role = Role.STUDENT
    account_services.save_account(user=mentor, changed=["role"])
    issued.bot.user.refresh_from_db()
    assert not issued.bot.user.is_active
    assert token_client(issued.token).get("/api/me/").status_code == 401
    assert webhook_selectors.webhook_for_token(hook.token) is None
    assert mentor.is_active


def test_students_cannot_create_bots(student, api):
    with pytest.raises(AccessDenied):
        bot_services.create_bot(owner=student, display_name="Sneaky")
    response = api(student).post("/api/bots/", {"display_name": "Sneaky"}, format="json")
    assert response.status_code == 403
    assert not Bot.objects.exists()


def test_only_admins_create_assistant_bots(mentor, admin_user):
    with pytest.raises(AccessDenied):
        bot_services.create_bot(owner=mentor, display_name="AI", kind=BotKind.ASSISTANT)
    made = bot_services.create_bot(owner=admin_user, display_name="AI", kind=BotKind.ASSISTANT)
    assert made.bot.kind == BotKind.ASSISTANT


def test_a_bot_cannot_log_in_with_a_password(issued):
    email = issued.bot.user.email
    page = Client()
    response = page.post("/login/", {"username": email, "password": "anything-at-all-1"})
    assert response.status_code == 200  # the form again, with its error
    assert "_auth_user_id" not in page.session
    answer = APIClient().post(
        "/api/auth/token/", {"email": email, "password": "anything-at-all-1"}, format="json"
    )
    assert answer.status_code == 400


def test_the_bot_token_authenticates_on_rest_and_rotation_ends_the_old_one(mentor, issued):
    me = token_client(issued.token).get("/api/me/")
    assert me.status_code == 200
    assert me.json()["role"] == Role.BOT
    new = token_client(issued.token).post(f"/api/bots/{issued.bot.pk}/token/")
    assert new.status_code == 404  # a bot manages no bot, itself included
    rotated = APIClient()
    rotated.force_authenticate(mentor)
    answer = rotated.post(f"/api/bots/{issued.bot.pk}/token/")
    assert answer.status_code == 200
    key = answer.json()["token"]
    assert key != issued.token
    assert token_client(issued.token).get("/api/me/").status_code == 401
    assert token_client(key).get("/api/me/").status_code == 200


def test_a_bot_posts_only_where_it_is_a_member(mentor, issued, group):
    bot_user = issued.bot.user
    with pytest.raises(NotVisible):
        send(bot_user, group, "not a member yet")
    answer = token_client(issued.token).post(
        f"/api/conversations/{group.pk}/messages/",
        {"content": "hi", "client_id": str(uuid.uuid4())},
        format="json",
    )
    assert answer.status_code == 404
    services.add_participants(actor=mentor, conversation_id=group.pk, users=[bot_user])
    answer = token_client(issued.token).post(
        f"/api/conversations/{group.pk}/messages/",
        {"content": "Build **passed**", "client_id": str(uuid.uuid4())},
        format="json",
    )
    assert answer.status_code == 201, answer.content


def test_who_may_add_a_bot_to_a_group(make_user, mentor, student, issued, group, admin_user):
    bot_user = issued.bot.user
    other_mentor = make_user(Role.MENTOR)
    their_group = services.create_conversation(
        creator=other_mentor, kind=ConversationType.GROUP, participants=[], title="Theirs"
    )
    # Another mentor's group: the owner does not manage it.
    with pytest.raises(NotVisible):
        services.add_participants(actor=mentor, conversation_id=their_group.pk, users=[bot_user])
    # That mentor manages it, but the bot is not theirs.
    with pytest.raises(AccessDenied):
        services.add_participants(
            actor=other_mentor, conversation_id=their_group.pk, users=[bot_user]
        )
    assert not policy.addable_users(other_mentor, their_group).filter(pk=bot_user.pk).exists()
    # A student member does not manage the group.
    with pytest.raises(AccessDenied):
        services.add_participants(actor=student, conversation_id=group.pk, users=[bot_user])
    # The owner, managing the group; an admin in a group they are in.
    assert policy.addable_users(mentor, group).filter(pk=bot_user.pk).exists()
    services.add_participants(actor=mentor, conversation_id=group.pk, users=[bot_user])
    # Not in a group they are not in: the bot would read it for its token's holder.
    assert not policy.addable_users(admin_user, their_group).filter(pk=bot_user.pk).exists()
    with pytest.raises(AccessDenied):
        services.add_participants(
            actor=admin_user, conversation_id=their_group.pk, users=[bot_user]
        )
    services.add_participants(
        actor=other_mentor, conversation_id=their_group.pk, users=[admin_user]
    )
    services.add_participants(actor=admin_user, conversation_id=their_group.pk, users=[bot_user])


def test_direct_conversations_with_a_bot_its_owner_and_admins_only(
    make_user, mentor, student, issued, admin_user
):
    bot_user = issued.bot.user
    other_mentor = make_user(Role.MENTOR)
    for person, allowed in [
        (mentor, True),
        (admin_user, True),
        (student, False),
        (other_mentor, False),
    ]:
        assert policy.may_start_direct(person, bot_user) is allowed, person
        listed = policy.messageable_users(person).filter(pk=bot_user.pk).exists()
        assert listed is allowed, person
    with pytest.raises(AccessDenied):
        services.create_conversation(
            creator=student, kind=ConversationType.DIRECT, participants=[bot_user]
        )
    # A bot starts no conversation, not even with an admin or its owner.
    assert not policy.may_start_direct(bot_user, admin_user)
    assert not policy.may_start_direct(bot_user, mentor)
    assert not policy.messageable_users(bot_user).exists()
    assert not policy.may_open_support(bot_user, bot_user)
    direct = services.create_conversation(
        creator=mentor, kind=ConversationType.DIRECT, participants=[bot_user]
    )
    assert send(bot_user, direct, "at your service").sender_id == bot_user.pk


@pytest.mark.parametrize(
    ("url", "allow"),
    [
        ("http://127.0.0.1:8080/hook", []),
        ("http://10.1.2.3/hook", []),
        ("http://[::1]/hook", []),
        ("http://169.254.169.254/latest/meta-data/", ["169.254.0.0/16"]),
        ("ftp://example.com/hook", []),
        ("http://user:pw@8.8.8.8/hook", []),
        ("http://8.8.8.8:6379/", []),
        ("not a url", []),
    ],
)
def test_outgoing_urls_are_checked_at_creation(mentor, settings, url, allow):
    settings.PARLEY_OUTGOING_WEBHOOK_ALLOW = allow
    with pytest.raises(InvalidInput):
        bot_services.create_bot(owner=mentor, display_name="Bot", outgoing_url=url)
    assert not Bot.objects.exists()


def test_an_allow_listed_intranet_url_is_accepted(mentor, settings):
    settings.PARLEY_OUTGOING_WEBHOOK_ALLOW = ["127.0.0.1"]
    made = bot_services.create_bot(
        owner=mentor, display_name="Local", outgoing_url="http://127.0.0.1:8080/hook"
    )
    assert made.bot.outgoing_url == "http://127.0.0.1:8080/hook"


def test_rest_lists_creates_changes_and_deactivates_ones_own_bots(api, mentor, make_user, settings):
    settings.PARLEY_OUTGOING_WEBHOOK_ALLOW = ["127.0.0.1"]
    client = api(mentor)
    created = client.post(
        "/api/bots/",
        {"display_name": "CI", "outgoing_url": "http://127.0.0.1:9000/ci"},
        format="json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["token"] and body["signing_secret"] and body["kind"] == "webhook"
    bot_id = body["id"]
    listed = client.get("/api/bots/").json()["bots"]
    assert [b["id"] for b in listed] == [bot_id]
    assert "token" not in listed[0]
    refused = client.patch(
        f"/api/bots/{bot_id}/", {"outgoing_url": "http://10.0.0.1/x"}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "invalid"
    renamed = client.patch(f"/api/bots/{bot_id}/", {"display_name": "CI Bot"}, format="json")
    assert renamed.json()["display_name"] == "CI Bot"
    # Another mentor does not see it.
    stranger = api(make_user(Role.MENTOR))
    assert stranger.get(f"/api/bots/{bot_id}/").status_code == 404
    assert stranger.post(f"/api/bots/{bot_id}/token/").status_code == 404
    assert stranger.delete(f"/api/bots/{bot_id}/").status_code == 404
    assert client.delete(f"/api/bots/{bot_id}/").status_code == 204
    bot = Bot.objects.select_related("user").get(pk=bot_id)
    assert not bot.user.is_active
    assert not Token.objects.filter(user=bot.user).exists()
    assert token_client(body["token"]).get("/api/me/").status_code == 401


def test_a_mentors_active_bots_are_bounded_and_an_admins_are_not(
    mentor, admin_user, group, settings
):
    """Each bot is an account with its own send budget and sockets; an
    incoming webhook is one too. Deactivating one makes room."""
    settings.PARLEY = {**settings.PARLEY, "BOTS_MAX_PER_OWNER": 2}
    first = bot_services.create_bot(owner=mentor, display_name="One").bot
    incoming.create_incoming_webhook(actor=mentor, conversation_id=group.pk, name="Alerts")
    with pytest.raises(TooManyBots) as refused:
        bot_services.create_bot(owner=mentor, display_name="Three")
    assert refused.value.code == "too_many_bots"
    with pytest.raises(TooManyBots):
        incoming.create_incoming_webhook(actor=mentor, conversation_id=group.pk, name="More")
    assert Bot.objects.filter(owner=mentor).count() == 2
    bot_services.deactivate_bot(actor=mentor, bot=first)
    bot_services.create_bot(owner=mentor, display_name="Three")
    for n in range(3):
        bot_services.create_bot(owner=admin_user, display_name=f"Admin's {n}")


def test_managing_bots_spends_from_the_send_bucket(api, mentor, settings):
    """Each creation, change, rotation and deactivation is an audit row:
    past the send budget they are refused, and nothing is written."""
    settings.PARLEY = {**settings.PARLEY, "SEND_BURST": 3, "SEND_RATE_PER_SECOND": 0.01}
    client = api(mentor)
    created = client.post("/api/bots/", {"display_name": "CI"}, format="json")
    bot_id = created.json()["id"]
    answers = [
        client.patch(f"/api/bots/{bot_id}/", {"display_name": "CI Bot"}, format="json"),
        client.post(f"/api/bots/{bot_id}/token/"),
        client.post("/api/bots/", {"display_name": "Another"}, format="json"),
    ]
    assert [a.status_code for a in [created, *answers]] == [201, 200, 200, 429]
    assert answers[2].json()["error"]["code"] == "rate_limited"
    assert Bot.objects.filter(owner=mentor).count() == 1


def test_a_bots_socket_stands_while_its_token_is_its_own(mentor, issued):
    from messaging.realtime.selectors import TOKEN_SOCKET_PREFIX, revoked_sockets

    socket = (TOKEN_SOCKET_PREFIX + issued.token, str(issued.bot.user_id))
    stranger = (TOKEN_SOCKET_PREFIX + issued.token, str(mentor.pk))
    assert revoked_sockets([socket, stranger]) == {stranger}
    bot_services.rotate_token(actor=mentor, bot=issued.bot)
    assert revoked_sockets([socket]) == {socket}


# --- A muted or removed owner does not go on through a bot --------------------------


def post_as_bot(issued, conversation):
    return token_client(issued.token).post(
        f"/api/conversations/{conversation.pk}/messages/",
        {"content": "still here", "client_id": str(uuid.uuid4())},
        format="json",
    )


def test_a_bot_is_muted_wherever_its_owner_is(mentor, issued, group, admin_user):
    services.add_participants(actor=mentor, conversation_id=group.pk, users=[issued.bot.user])
    assert post_as_bot(issued, group).status_code == 201
    mute_user(
        moderator=admin_user, user_id=mentor.pk, conversation_id=None, minutes=60, note="Spam"
    )
    answer = post_as_bot(issued, group)
    assert answer.status_code == 403 and answer.json()["error"]["code"] == "muted"
    assert not policy.may_post(issued.bot.user, group)


def test_someone_muted_neither_renames_nor_adds_nor_makes_groups(
    mentor, student, issued, group, admin_user
):
    mute_user(
        moderator=admin_user, user_id=mentor.pk, conversation_id=group.pk, minutes=60, note="x"
    )
    with pytest.raises(Muted):
        services.rename_conversation(actor=mentor, conversation_id=group.pk, title="ABUSIVE")
    with pytest.raises(Muted):
        services.add_participants(actor=mentor, conversation_id=group.pk, users=[issued.bot.user])
    group.refresh_from_db()
    assert group.title == "Study"
    mute_user(moderator=admin_user, user_id=mentor.pk, conversation_id=None, minutes=60, note="x")
    with pytest.raises(Muted):
        services.create_conversation(
            creator=mentor, kind=ConversationType.GROUP, participants=[student], title="New"
        )


def test_a_removed_owners_bots_leave_with_them(mentor, issued, group, admin_user, make_user):
    """Removed from a group, a person's bot went on reading and posting
    there for them (with its token, or an incoming webhook)."""
    colleague = make_user(Role.MENTOR)
    services.add_participants(actor=admin_user, conversation_id=group.pk, users=[colleague])
    services.add_participants(actor=mentor, conversation_id=group.pk, users=[issued.bot.user])
    services.remove_participant(actor=admin_user, conversation_id=group.pk, user=mentor)
    assert not policy.may_read(issued.bot.user, group)
    assert (
        token_client(issued.token).get(f"/api/conversations/{group.pk}/messages/").status_code
        == 404
    )
    assert post_as_bot(issued, group).status_code == 404
    removed = AuditLog.objects.filter(
        action=AuditAction.PARTICIPANT_REMOVE, conversation_id=group.pk
    ).values_list("target_user_id", flat=True)
    assert set(removed) == {mentor.pk, issued.bot.user_id}


def test_renaming_a_bot_renames_its_thread_replies_summary(mentor, issued):
    """A bot's new name reaches what was stored with the old one, as a
    person's does (``messaging.services.people.name_changed``)."""
    from messaging.threads.models import Thread

    bot = issued.bot
    group = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[bot.user], title="Lab"
    )
    root = services.send_message(
        sender=mentor, conversation_id=group.pk, client_id=uuid.uuid4(), content="Status?"
    ).message
    services.send_message(
        sender=bot.user,
        conversation_id=group.pk,
        client_id=uuid.uuid4(),
        content="All green",
        parent_id=root.pk,
    )
    bot_services.update_bot(actor=mentor, bot=bot, display_name="Status Bot")
    (shown,) = Thread.objects.get(root_id=root.pk).last_repliers
    assert shown["display_name"] == "Status Bot"
