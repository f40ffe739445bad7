"""Creating, changing, re-keying and deactivating bots.

A bot is a ``User`` of role ``bot`` with an unusable password (it never
signs in to a page) and an email address of its own under ``.invalid``
(RFC 2606: it can receive no mail), plus its ``Bot`` row: its owner, its
kind, the URL it is told of messages at and the secret those requests are
signed with. It acts through an API token (DRF's ``Token``), on the REST
API and on the socket. Every change is audited.
"""

import secrets
import uuid
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _
from rest_framework.authtoken.models import Token

from accounts import services as account_services
from accounts.models import Role, User
from messaging import audit, limits, policy
from messaging.errors import AccessDenied, InvalidInput, TooManyBots
from messaging.integrations.models import Bot, BotKind
from messaging.integrations.webhooks import targets
from messaging.models import AuditAction
from messaging.services.people import name_changed
from messaging.services.sockets import close_user_sockets
from messaging.services.transactions import lock_person
from messaging.validation import clean_display_name

BOT_EMAIL_DOMAIN = "bots.parley.invalid"


@dataclass(frozen=True)
class IssuedBot:
    """A bot and its API token's key, shown to its owner once."""

    bot: Bot
    token: str | None


def _clean_kind(kind: str, actor: User) -> str:
    if kind not in BotKind.values:
        raise InvalidInput(_("Unknown bot kind %(kind)s.") % {"kind": repr(kind)})
    if kind == BotKind.ASSISTANT and actor.role != Role.ADMIN:
        # Its instructions (the system prompt) are an admin's to write.
        raise AccessDenied(_("Only admins create assistant bots."))
    return kind


def _check_room_for_one_more(owner: User) -> None:
    """Refuse a bot past the owner's cap. Their row is locked first, so two
    creations at once cannot both see room for one."""
    lock_person(owner)
    cap = limits.bots_max_per_owner()
    if Bot.objects.filter(owner=owner, user__is_active=True).count() >= cap:
        raise TooManyBots(
            _("You have %(count)s active bots already: deactivate one first.") % {"count": cap}
        )


def create_bot(
    *,
    owner: User,
    display_name: str,
    kind: str = BotKind.WEBHOOK,
    outgoing_url: str = "",
    instructions: str = "",
    issue_token: bool = True,
) -> IssuedBot:
    """A new bot owned by ``owner`` (who ``policy.may_create_bot``), with
    an API token unless ``issue_token`` is False (an incoming webhook's own
    bot posts through its URL only). ``outgoing_url`` is checked
    (``targets.check_outgoing_url``); ``InvalidInput`` says what is wrong.
    A mentor owns at most ``BOTS_MAX_PER_OWNER`` active bots
    (``TooManyBots``): each is an account with its own send budget and
    sockets. Platform admins are not held to it."""
    policy.check_acting(owner)
    if not policy.may_create_bot(owner):
        raise AccessDenied(_("Only mentors and admins create bots."))
    name = clean_display_name(display_name)
    kind = _clean_kind(kind, owner)
    url = targets.check_outgoing_url(outgoing_url) if kind == BotKind.WEBHOOK else ""
    if instructions and owner.role != Role.ADMIN:
        raise AccessDenied(_("Only admins write a bot's instructions."))
    with transaction.atomic():
        if owner.role != Role.ADMIN:
            _check_room_for_one_more(owner)
        user = User.objects.create_user(
            email=f"bot-{uuid.uuid4().hex}@{BOT_EMAIL_DOMAIN}",
            password=None,
            display_name=name,
            role=Role.BOT,
        )
        bot = Bot.objects.create(
            user=user,
            owner=owner,
            kind=kind,
            outgoing_url=url,
            signing_secret=secrets.token_hex(32),
            instructions=instructions,
        )
        token = Token.objects.create(user=user).key if issue_token else None
        audit.record(
            actor=owner,
            action=AuditAction.BOT_CREATE,
            target_user_id=user.pk,
            kind=kind,
            outgoing_url=url,
        )
    return IssuedBot(bot=bot, token=token)


def _managed(actor: User, bot: Bot) -> None:
    policy.check_acting(actor)
    if not policy.may_manage_bot(actor, bot):
        raise AccessDenied(_("Only the bot's owner and admins manage it."))


def update_bot(
    *,
    actor: User,
    bot: Bot,
    display_name: str | None = None,
    outgoing_url: str | None = None,
    instructions: str | None = None,
) -> Bot:
    """Change what is given (the rest stays). The URL is checked as at
    creation; instructions are an admin's to write."""
    _managed(actor, bot)
    changed: dict = {}
    if display_name is not None:
        bot.user.display_name = clean_display_name(display_name)
        changed["display_name"] = bot.user.display_name
    if outgoing_url is not None:
        if bot.kind != BotKind.WEBHOOK and outgoing_url.strip():
            raise InvalidInput(_("Only webhook bots have an outgoing URL."))
        bot.outgoing_url = targets.check_outgoing_url(outgoing_url)
        changed["outgoing_url"] = bot.outgoing_url
    if instructions is not None:
        if actor.role != Role.ADMIN:
            raise AccessDenied(_("Only admins write a bot's instructions."))
        bot.instructions = instructions
        changed["instructions"] = True
    if not changed:
        return bot
    with transaction.atomic():
        bot.user.save(update_fields=["display_name"])
        bot.save(update_fields=["outgoing_url", "instructions"])
        audit.record(
            actor=actor, action=AuditAction.BOT_UPDATE, target_user_id=bot.user_id, **changed
        )
        if "display_name" in changed:
            name_changed(bot.user)
    return bot


def rotate_token(*, actor: User, bot: Bot) -> str:
    """Replace the bot's API token (and its signing secret) and return the
    new key, shown once. The old token stops working at once and the bot's
    open sockets close (4401)."""
    _managed(actor, bot)
    if not bot.user.is_active:
        raise InvalidInput(_("This bot is deactivated."))
    with transaction.atomic():
        Token.objects.filter(user=bot.user).delete()
        key = Token.objects.create(user=bot.user).key
        bot.signing_secret = secrets.token_hex(32)
        bot.save(update_fields=["signing_secret"])
        close_user_sockets(user_id=bot.user_id)
        audit.record(actor=actor, action=AuditAction.BOT_TOKEN_ROTATE, target_user_id=bot.user_id)
    return key


def deactivate_bot(*, actor: User, bot: Bot) -> Bot:
    """Switch the bot off: its account is deactivated (it posts nothing
    more, its sockets close), its token deleted, its incoming webhooks stop
    answering. Its messages stay."""
    _managed(actor, bot)
    with transaction.atomic():
        Token.objects.filter(user=bot.user).delete()
        account_services.set_active(user=bot.user, active=False)
        audit.record(actor=actor, action=AuditAction.BOT_DEACTIVATE, target_user_id=bot.user_id)
    return bot
