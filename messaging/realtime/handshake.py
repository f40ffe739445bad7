"""The WebSocket handshake's one middleware: the origin, then the session's
user, then the consumer.

``SocketHandshake`` does in one layer what Channels' ``AuthMiddlewareStack``
(cookies, session and auth middleware) and the origin check did in four:
each of those kept its own copy of the scope, and its coroutine frame, for
the socket's whole life, and the session object (with its decoded data) was
kept in every copy after the session layer. The consumer's scope now holds
the ``user`` and the ``session_key``, nothing more of the session
(docs/benchmarks.md, "Memory per idle socket").

- An origin that is not allowed (``config.origins.origin_allowed``) gets
  HTTP 403 at the handshake.
- The user is the session cookie's, verified as Django and Channels verify
  it (``channels.auth.get_user``: the session's auth hash must match the
  user's password; a deactivated user is no one). Without a session
  cookie, a bot identifies itself with its API token in an
  ``Authorization: Token <key>`` header of the upgrade request (bots only:
  people use their session; a deactivated bot is no one). Without either
  the scope's user is anonymous and the consumer closes with 4401.
- When the database cannot be reached to load the session or the user
  (bounded by ``config.database``), the handshake would otherwise fail with
  HTTP 500; the socket opens instead, gets an ``error`` frame with code
  ``unavailable`` and ``retry_after``, and closes with 4503 (try again
  later), as docs/protocol.md documents.
"""

import logging

from channels.auth import get_user
from channels.db import database_sync_to_async
from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.cookie import parse_cookie
from django.utils.module_loading import import_string
from rest_framework.authtoken.models import Token

from accounts.models import Role
from config.database import DATABASE_FAULTS
from config.origins import origin_allowed
from messaging import events
from messaging.errors import ServiceUnavailable
from messaging.realtime.consumers import CLOSE_TRY_AGAIN_LATER
from messaging.realtime.selectors import TOKEN_SOCKET_PREFIX

logger = logging.getLogger(__name__)


class SocketHandshake:
    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.inner(scope, receive, send)
        if not origin_allowed(scope):
            return await WebsocketDenier()(scope, receive, send)
        try:
            user, session_key = await identify(scope)
        except DATABASE_FAULTS:
            logger.warning("Refused a socket: the database is unavailable", exc_info=True)
            return await answer_unavailable(receive, send)
        return await self.inner(dict(scope, user=user, session_key=session_key), receive, send)


def session_cookie(scope) -> str | None:
    """The session cookie of the handshake's ``Cookie`` headers."""
    values = [value.decode("latin-1") for name, value in scope["headers"] if name == b"cookie"]
    return parse_cookie("; ".join(values)).get(settings.SESSION_COOKIE_NAME) or None


def authorization_token(scope) -> str | None:
    """The key of the handshake's one ``Authorization: Token <key>`` header."""
    values = [
        value.decode("latin-1") for name, value in scope["headers"] if name == b"authorization"
    ]
    if len(values) != 1:
        return None
    scheme, _, key = values[0].strip().partition(" ")
    if scheme.lower() != "token" or not key.strip():
        return None
    return key.strip()


@database_sync_to_async
def bot_with_token(key: str):
    """The active bot whose API token is ``key``, or None."""
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active or token.user.role != Role.BOT:
        return None
    return token.user


async def identify(scope) -> tuple:
    """The handshake's user (anonymous when there is none) and, for a signed-in
    user, the session's key (for a bot, ``TOKEN_SOCKET_PREFIX`` and its
    token's key, ``realtime.selectors.revoked_sockets``)."""
    key = session_cookie(scope)
    if key is None:
        token = authorization_token(scope)
        bot = await bot_with_token(token) if token else None
        if bot is None or token is None:
            return AnonymousUser(), None
        # The token stands for the session: the heartbeat's re-check
        # closes the socket once it is rotated or deleted.
        return bot, TOKEN_SOCKET_PREFIX + token
    session = import_string(settings.SESSION_ENGINE + ".SessionStore")(session_key=key)
    user = await get_user({"session": session})
    return user, (session.session_key if user.is_authenticated else None)


async def answer_unavailable(receive, send) -> None:
    """Open the socket, say ``unavailable`` and close it with 4503."""
    error = ServiceUnavailable()
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    await send({"type": "websocket.accept"})
    await send(
        {
            "type": "websocket.send",
            "text": events.to_json(
                {"type": "error", "code": error.code, "message": error.message, **error.fields()}
            ),
        }
    )
    await send({"type": "websocket.close", "code": CLOSE_TRY_AGAIN_LATER})
