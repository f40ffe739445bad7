"""The WebSocket endpoint: one socket per tab, all of a user's conversations.

The consumer parses frames, checks them, calls services and selectors, and
writes replies; docs/protocol.md is its contract. It has no channel-layer
channel of its own: the process's hub (``messaging.realtime.hub``) receives
each event once and hands the frame to the socket (``deliver``), and every
frame leaves through the socket's outbox (``messaging.realtime.outbox``), in
the order it was produced. Every command is authorized
on its own (services and selectors check membership); an error frame never
closes the socket.
"""

import logging
import uuid
from typing import Any

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from accounts.locale import accepted_language, speaking_to
from config.asgi_extensions import WRITE_TEXT
from messaging import (
    events,
    limits,
    policy,
    selectors,
    services,
    shared_versions,
    strict_json,
    validation,
)
from messaging.e2e import messages as e2e_messages
from messaging.errors import InvalidInput, MessagingError, ServiceUnavailable
from messaging.models import PresenceStatus, ReceiptStatus
from messaging.moderation.filtering import rules as filter_rules
from messaging.realtime import clock, health, maintenance, ratelimit
from messaging.realtime import presence as presence_store
from messaging.realtime.bucket import SocketBucket
from messaging.realtime.database import db
from messaging.realtime.hub import hub, send_buffer_bytes
from messaging.realtime.outbox import Outbox
from messaging.realtime.presence_pace import PresencePace
from messaging.realtime.receipts import Receipts
from messaging.realtime.typing import Typing
from messaging.threads import validation as thread_validation
from messaging.threads.socket import COMMANDS as THREAD_COMMANDS
from messaging.threads.socket.threads import THREAD_READ, apply_thread_read

logger = logging.getLogger(__name__)

CLOSE_UNAUTHENTICATED = 4401
CLOSE_TOO_MANY_SOCKETS = 4429
# The database cannot serve a new socket now; try again later. (RFC 6455's
# 1013 says the same, but ASGI servers only send 1000 and 3000-4999.)
CLOSE_TRY_AGAIN_LATER = 4503
# The socket fell too far behind reading its frames (more than
# PARLEY_SOCKET_SEND_BUFFER_BYTES of them queued): reconnect and resume.
CLOSE_TOO_FAR_BEHIND = 4008
MAX_REF_CHARS = 64
# How many of a resume's cursors one frame of the socket's budget pays for
# (each is a history page read): docs/protocol.md, Limits.
RESUME_CURSORS_PER_FRAME = 10

# What a send asks the shared cache besides its bucket: whether this
# process's role limits and filter rules are current. Read in one trip.
SEND_VERSIONS = (limits.ROLE_LIMITS_VERSION_KEY, filter_rules.VERSION_KEY)


def _socket_limits(role: str) -> tuple[int, limits.SendAllowance]:
    """The role's socket limit and send bucket, in one trip to the thread pool."""
    return limits.max_sockets_per_user(role), limits.send_allowance(role)


class ChatConsumer(AsyncWebsocketConsumer):
    # No channel-layer channel per socket (``__call__`` opens none): the hub
    # subscribes once per process for all of them.

    # --- Connection -------------------------------------------------------------

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.user: Any = None  # the scope's user, set in connect()
        self.user_id = ""  # str(user.pk) once authenticated (the hub's typing check)
        # This socket's key in presence (Redis) and this process's socket map.
        self.socket_id = uuid.uuid4().hex
        self.hub_groups: set[str] = set()  # kept by the hub
        self._typing: Typing | None = None  # made with the first typing frame
        self._receipts: Receipts | None = None  # made with the first receipt
        self._frames: SocketBucket | None = None  # made with the first frame
        self._presence_pace: PresencePace | None = None  # made with the first presence.set
        self.outbox: Outbox | None = None  # set in connect(), once send exists
        self.registered = False
        self.released = False
        self.greeted = False  # hello sent: the client may hear other frames now
        # What this socket's client was last told of live delivery: it
        # assumes it works until told otherwise (docs/protocol.md, degraded).
        self.live_delivery_told = True
        # The browser's language, from the handshake: the error frames of a
        # person who chose none on their profile are written in it.
        self.browser_language: str | None = None

    async def __call__(self, scope, receive, send):
        """Channels' ``AsyncConsumer.__call__`` for a consumer with one
        source, the socket: it reads the next message and dispatches it.
        Channels' own loop (``await_many_dispatch``) wraps every read in a
        task and waits on it with ``asyncio.wait``, a task and a waiter
        held by every idle socket to choose among sources this consumer
        does not have (its channel layer is the hub's)."""
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass
        finally:
            # A consumer that crashed or was cancelled never ran disconnect():
            # its presence entry and groups must not outlive it.
            await self._release()

    @property
    def typing_state(self) -> Typing:
        """This socket's typing state, made when it first types: most
        sockets never do, and an idle one need not hold it."""
        if self._typing is None:
            self._typing = Typing(self.user)
        return self._typing

    @property
    def receipts(self) -> Receipts:
        """This socket's receipt budget, made with its first receipt."""
        if self._receipts is None:
            self._receipts = Receipts(self._apply_receipt)
        return self._receipts

    @property
    def session_key(self) -> str | None:
        return self.scope.get("session_key")

    def _speaking_to_user(self):
        """Translation for what this socket tells its person: their profile's
        language, else their browser's."""
        return speaking_to(self.user, default=self.browser_language)

    async def connect(self):
        self.outbox = Outbox(self.base_send, self.scope.get("extensions", {}).get(WRITE_TEXT))
        self.user = self.scope.get("user")
        self.browser_language = self._handshake_language()
        self._forget_handshake_headers()
        await self.accept()
        if self.user is None or not self.user.is_authenticated:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        with self._speaking_to_user():
            await self._greet()

    def _handshake_language(self) -> str | None:
        for name, value in self.scope.get("headers", ()):
            if name == b"accept-language":
                return accepted_language(value.decode("latin-1"))
        return None

    def _forget_handshake_headers(self) -> None:
        """Empty the scope's headers (cookie, user agent, ...: about 1.3 KB
        a socket, more from a browser): nothing reads them after the
        handshake (the origin and the session, ``messaging.realtime.
        handshake``) and the language above. Emptied in place, since the
        server's scope and each layer's copy of it share the one list and
        live as long as the socket."""
        headers = self.scope.get("headers")
        if isinstance(headers, list):
            headers.clear()

    async def _greet(self) -> None:
        """Register the socket, join its groups and send ``hello`` (or an
        error frame and a close)."""
        self.user_id = str(self.user.pk)
        change = await presence_store.connect(self.user.pk, self.socket_id, consumer=self)
        self.registered = True
        maintenance.ensure_running()
        # The role's own figures (RoleLimits); the deployment's settings if
        # the database cannot say (the conversations read below reports it).
        try:
            max_sockets, allowance = await db(_socket_limits)(self.user.role)
        except ServiceUnavailable:
            max_sockets, allowance = limits.max_sockets_per_user(), limits.send_allowance()
        if change.connections > max_sockets:
            await self._send_error(
                "too_many_connections",
                ngettext(
                    "At most %(count)s open tab per person.",
                    "At most %(count)s open tabs per person.",
                    max_sockets,
                )
                % {"count": max_sockets},
            )
            await self.close(code=CLOSE_TOO_MANY_SOCKETS)
            return

        # The user's own group first: a conversation added from now on
        # reaches this socket even while it joins the others. Live frames
        # that come before the hello wait in the outbox until it is queued.
        own = [events.user_group(self.user.pk)]
        if self.session_key:
            own.append(events.session_group(self.session_key))
        await hub().join(self, own)
        try:
            conversations = await db(selectors.socket_conversations)(self.user)
        except ServiceUnavailable as error:
            await self._send_error(error.code, error.message, retry_after=error.retry_after)
            await self.close(code=CLOSE_TRY_AGAIN_LATER)
            return
        await hub().join(self, (events.conversation_group(c["id"]) for c in conversations))
        await self._send_frame(
            {
                "type": "hello",
                "user": events.user_payload(self.user),
                "conversations": conversations,
                "heartbeat_seconds": limits.presence_heartbeat_seconds(),
                "limits": {
                    "max_frame_bytes": limits.max_frame_bytes(),
                    "max_content_chars": limits.max_content_chars(),
                    "send_rate_per_second": allowance.rate,
                    "send_burst": allowance.burst,
                },
            }
        )
        self.greeted = True
        assert self.outbox is not None
        self.outbox.release()
        if not health.live():
            await self.tell_live_delivery(False, health.reason())
        await presence_store.announce(change)

    async def disconnect(self, code):
        await self._release()

    async def _release(self) -> None:
        """Leave every group and drop this socket's presence and outbox,
        once, whether the socket closed or the consumer died. Best effort: a
        Redis fault leaves the entry to expire."""
        if self.released:
            return
        self.released = True
        if self.hub_groups:
            hub().leave_all(self)
        if self.outbox is not None:
            self.outbox.discard()
        if self._receipts is not None:
            self._receipts.discard()
        if self._presence_pace is not None:
            self._presence_pace.close()
        if not self.registered:
            return
        try:
            if self._typing is not None:
                await self._typing.stop_all()
        except Exception:
            logger.debug("Could not stop typing", exc_info=True)
        change = await presence_store.disconnect(self.user.pk, self.socket_id)
        await presence_store.announce(change)

    async def tell_live_delivery(self, live: bool, reason: str | None = None) -> None:
        """Tell the client whether live events reach it (docs/protocol.md,
        ``degraded``). Queued like a live frame: a socket that does not read
        holds up no one."""
        self.live_delivery_told = live
        if live:
            maintenance.told_stopped().discard(self)
        else:
            maintenance.told_stopped().add(self)
        frame = {"type": "degraded", "live": live}
        if not live:
            frame["reason"] = reason or "redis_unavailable"
        text = events.to_json(frame)
        self.deliver(text, len(text), send_buffer_bytes())

    def revoke(self) -> None:
        """The session or account no longer stands: close with 4401 once what
        is queued is written (not waited for)."""
        if self.outbox is not None:
            self.outbox.close(CLOSE_UNAUTHENTICATED)

    async def close(self, code=None, reason=None):
        """Close after the frames already queued, through the outbox."""
        if self.outbox is not None:
            self.outbox.close(code)

    async def dispatch(self, message):
        """Channels' dispatch, without its per-message ``close_old_connections``.

        Channels 4.2 runs that on a thread before every handler, so that
        handlers touching the ORM get fresh connections. Here the only
        messages are the socket's own (connect, frames, disconnect), and
        every database call goes through ``database_sync_to_async``, which
        closes old connections itself.
        """
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- Frames from the hub (messaging.realtime.hub.Member) -----------------------

    def deliver(self, text: str, size: int, limit: int) -> None:
        """Queue a live frame; past ``limit`` queued bytes the socket is too
        far behind: it leaves its groups and is closed with 4008."""
        if self.outbox is None or self.outbox.put_live(text, size, limit):
            return
        logger.warning(
            "A socket of user %s fell more than %d bytes behind: closed with %d",
            self.user_id,
            limit,
            CLOSE_TOO_FAR_BEHIND,
        )
        hub().leave_all(self)
        self.outbox.abandon(CLOSE_TOO_FAR_BEHIND)

    def left_conversation(self, conversation: str) -> None:
        if self._typing is not None:
            self._typing.forget(str(uuid.UUID(conversation)))

    # --- Frames in ----------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        """Answer one frame: its reply, or an ``error`` frame. Nothing a
        client sends ends the socket: an unexpected failure anywhere is
        logged and answered ``internal`` (never a 1011 close). Messages
        are in the person's language."""
        await self._pace()
        # Live frames that come while a command is answered follow its
        # replies, as they did when each socket's events waited in its own
        # channel until the consumer was free.
        if self.greeted and self.outbox is not None:
            self.outbox.hold()
        try:
            with self._speaking_to_user():
                try:
                    await self._receive(text_data, bytes_data)
                except Exception:
                    logger.exception("A frame could not be handled")
                    await self._send_error("internal", _("Something went wrong; try again."))
        finally:
            if self.greeted and self.outbox is not None:
                self.outbox.release()

    async def _pace(self) -> None:
        """Past its frame budget a socket's next frame waits its turn, not
        refused: the server reads nothing more from the socket meanwhile,
        so TCP holds the client back, and a flood costs the process the
        budget's frames a second and nothing more (docs/protocol.md,
        Limits)."""
        if self._frames is None:
            self._frames = SocketBucket()
        rate, burst = limits.socket_frames_per_second(), limits.socket_frame_burst()
        while not self._frames.take(rate, burst):
            await clock.sleep(self._frames.seconds_to_next(rate))

    async def _receive(self, text_data: str | None, bytes_data: bytes | None) -> None:
        if bytes_data is not None or text_data is None:
            await self._send_error("binary_unsupported", _("Send JSON text frames."))
            return
        max_bytes = limits.max_frame_bytes()
        # surrogatepass: a str that reached us with a lone surrogate in it is
        # measured, not refused here (the text rule names the field later).
        encoded_bytes = len(text_data.encode("utf-8", "surrogatepass"))
        if len(text_data) > max_bytes or encoded_bytes > max_bytes:
            await self._send_error(
                "frame_too_large",
                _("A frame has at most %(count)s bytes.") % {"count": max_bytes},
            )
            return
        try:
            frame = strict_json.loads(text_data)
        except (ValueError, RecursionError):
            # RecursionError: nested deeper than the parser goes.
            await self._send_error("bad_json", _("The frame is not valid JSON."))
            return
        bad_frame = _("A frame is a JSON object with a string type.")
        if not isinstance(frame, dict):
            await self._send_error("bad_frame", bad_frame)
            return
        # The echo first: every answer to an object says which command it
        # answers (docs/protocol.md), unless its ref is itself the fault.
        ref = frame.get("ref")
        ref_problem = _ref_problem(ref)
        if ref_problem is not None:
            await self._send_error("invalid", ref_problem)
            return
        echo = {} if ref is None else {"ref": ref}
        client_id = frame.get("client_id")
        if (
            isinstance(client_id, str)
            and len(client_id) <= 64
            and validation.is_plain_text(client_id)
        ):
            echo["client_id"] = client_id
        if not isinstance(frame.get("type"), str):
            await self._send_error("bad_frame", bad_frame, **echo)
            return
        handler = COMMANDS.get(frame["type"])
        if handler is None:
            await self._send_error(
                "unknown_type",
                _("Unknown type %(type)s.") % {"type": repr(frame["type"][:40])},
                **echo,
            )
            return
        try:
            await handler(self, frame, echo)
        except MessagingError as error:
            extra = error.fields()
            if isinstance(frame.get("conversation_id"), str):
                extra["conversation_id"] = validation.echo_id(frame["conversation_id"])
            await self._send_error(error.code, error.message, **echo, **extra)
        except Exception:
            logger.exception("Command %s failed", frame["type"])
            await self._send_error("internal", _("Something went wrong; try again."), **echo)

    # Sends, edits and deletes spend a token of the sender's bucket first;
    # the token and the write take one trip to the thread pool together.

    async def send_message(self, frame, echo):
        result = await db(self._send_message)(frame)
        await self._send_frame(
            {
                "type": "ack",
                **echo,
                "client_id": str(result.message.client_id),
                "duplicate": not result.created,
                "message": events.message_payload(result.message),
            }
        )

    def _send_message(self, frame) -> services.SendResult:
        with shared_versions.read_together(*SEND_VERSIONS):
            return self._send_message_now(frame)

    def _send_message_now(self, frame) -> services.SendResult:
        ratelimit.spend_send(self.user)
        attachment_ids = validation.clean_attachment_ids(frame.get("attachments"))
        e2e = None
        if "e2e" in frame:
            # End-to-end encrypted (docs/e2e.md): the e2e object (checked
            # first: a null one is a malformed e2e, not encrypted content),
            # and no content.
            e2e = e2e_messages.clean_e2e(frame["e2e"])
            e2e_messages.clean_plain_content_absent(frame.get("content"))
            content = ""
        elif attachment_ids:
            # With files the text is a caption, and may be empty.
            content = validation.clean_caption(frame.get("content"))
        else:
            content = validation.clean_content(frame.get("content"))
        return services.send_message(
            sender=self.user,
            conversation_id=validation.parse_uuid(
                frame.get("conversation_id"), what="conversation_id"
            ),
            client_id=validation.parse_uuid(frame.get("client_id"), what="client_id"),
            content=content,
            attachment_ids=attachment_ids,
            # Replies and threads (docs/protocol.md, "Replies and threads").
            parent_id=thread_validation.parse_optional_uuid(
                frame.get("parent_id"), what="parent_id"
            ),
            reply_to_id=thread_validation.parse_optional_uuid(
                frame.get("reply_to_id"), what="reply_to_id"
            ),
            also_to_conversation=thread_validation.clean_flag(
                frame.get("also_to_conversation"), what="also_to_conversation", default=False
            ),
            e2e=e2e,
        )

    async def edit_message(self, frame, echo):
        await db(self._edit_message)(frame)
        await self._send_frame({"type": "ok", **echo})

    def _edit_message(self, frame) -> None:
        ratelimit.spend_send(self.user)
        message_id = validation.parse_uuid(frame.get("message_id"), what="message_id")
        if "e2e" in frame:
            e2e = e2e_messages.clean_e2e(frame["e2e"])
            e2e_messages.clean_plain_content_absent(frame.get("content"))
            services.edit_message(editor=self.user, message_id=message_id, e2e=e2e)
            return
        services.edit_message(
            editor=self.user,
            message_id=message_id,
            content=validation.clean_content(frame.get("content")),
        )

    async def delete_message(self, frame, echo):
        await db(self._delete_message)(frame)
        await self._send_frame({"type": "ok", **echo})

    def _delete_message(self, frame) -> None:
        ratelimit.spend_send(self.user)
        services.delete_message(
            actor=self.user,
            message_id=validation.parse_uuid(frame.get("message_id"), what="message_id"),
        )

    async def typing_start(self, frame, echo):
        conversation = validation.parse_uuid(frame.get("conversation_id"), what="conversation_id")
        conversation_id = str(conversation)
        if not self.typing_state.admit(start=True):
            return  # over the typing budget: ignored (docs/protocol.md, Typing)
        if self.typing_state.start_matters(conversation_id) and await db(_may_type)(
            self.user, conversation
        ):
            await self.typing_state.start(conversation_id)

    async def typing_stop(self, frame, echo):
        conversation_id = str(
            validation.parse_uuid(frame.get("conversation_id"), what="conversation_id")
        )
        self.typing_state.admit(start=False)
        await self.typing_state.stop(conversation_id)

    async def mark_read(self, frame, echo):
        await self._receipt(frame, echo, ReceiptStatus.READ)

    async def mark_delivered(self, frame, echo):
        await self._receipt(frame, echo, ReceiptStatus.DELIVERED)

    async def _receipt(self, frame, echo, kind: str) -> None:
        """A ``read`` or ``delivered`` frame, within the socket's receipt
        budget: applied now, or held and applied as the budget refills
        (``coalesced``; docs/protocol.md, "Receipts")."""
        conversation = validation.parse_uuid(frame.get("conversation_id"), what="conversation_id")
        seq = validation.clean_seq(frame.get("seq"))
        # Held only for a conversation this socket is in (the hub's groups
        # follow its membership): another is no receipt to promise.
        joined = events.conversation_group(conversation) in self.hub_groups
        await self.answer_receipt(conversation, kind, seq, echo, may_hold=joined)

    async def answer_receipt(
        self, target: uuid.UUID, kind: str, seq: int, echo: dict, *, may_hold: bool = True
    ) -> None:
        """Spend the receipt budget on a receipt for ``target`` (see
        ``_apply_receipt``) and answer ``ok``, ``coalesced`` when it was held."""
        applied = await self.receipts.receive(target, kind, seq, may_hold=may_hold)
        await self._send_frame({"type": "ok", **echo, **({} if applied else {"coalesced": True})})

    async def _apply_receipt(self, target: uuid.UUID, kind: str, seq: int) -> None:
        """Apply a receipt: ``target`` is a conversation (``read``,
        ``delivered``) or a thread's root (``thread.read``)."""
        if kind == THREAD_READ:
            await db(apply_thread_read)(self.user, target, seq)
            return
        mark = services.mark_read if kind == ReceiptStatus.READ else services.mark_delivered
        await db(mark)(user=self.user, conversation_id=target, up_to_seq=seq)

    async def resume(self, frame, echo):
        # Each conversation once, however its id is spelled: a foreign one is
        # refused (and audited) once per frame, not once per spelling.
        parsed = validation.clean_resume_cursors(frame.get("cursors"))
        # A page read per cursor: every RESUME_CURSORS_PER_FRAME of them
        # beyond the first cost the frame budget one frame more, so a resume
        # of 500 cursors is paced as 50 frames, not 1.
        for _frame in range((len(parsed.cursors) - 1) // RESUME_CURSORS_PER_FRAME):
            await self._pace()
        for given, error in parsed.refused:
            await self._send_error(
                error.code, error.message, conversation_id=validation.echo_id(given), **echo
            )
        for conversation_id, after_seq in parsed.cursors.items():
            try:
                await self._send_history(
                    echo, conversation_id, after_seq=after_seq, limit=limits.resume_page_size()
                )
            except MessagingError as error:
                # With the error's own fields (retry_after, until…), as any
                # command's error frame carries them.
                extra = {**error.fields(), "conversation_id": str(conversation_id)}
                await self._send_error(error.code, error.message, **echo, **extra)
                # A refused cursor costs what a history.fetch of it would, a
                # frame: its refusal is looked up and audited, and a resume
                # of 500 strangers' ids is not 500 audit rows for 50 frames.
                await self._pace()
        await self._send_frame({"type": "resume.done", **echo})

    async def fetch_history(self, frame, echo):
        conversation_id = validation.parse_uuid(
            frame.get("conversation_id"), what="conversation_id"
        )
        after_seq = validation.clean_optional_seq(frame.get("after_seq"), what="after_seq")
        before_seq = validation.clean_optional_seq(frame.get("before_seq"), what="before_seq")
        validation.clean_history_cursors(after_seq, before_seq)
        await self._send_history(
            echo,
            conversation_id,
            after_seq=after_seq,
            before_seq=before_seq,
            limit=validation.clean_page_size(frame.get("limit")),
        )

    async def _send_history(
        self,
        echo: dict,
        conversation_id: uuid.UUID,
        *,
        after_seq: int | None = None,
        before_seq: int | None = None,
        limit: int,
    ):
        page = await db(self._history_page)(
            conversation_id, after_seq=after_seq, before_seq=before_seq, limit=limit
        )
        await self._send_frame(
            {"type": "history", **echo, "conversation_id": str(conversation_id), **page}
        )

    def _history_page(self, conversation_id: uuid.UUID, **kwargs) -> dict:
        page = selectors.history_page(user=self.user, conversation_id=conversation_id, **kwargs)
        return {
            "messages": [events.message_payload(m) for m in page.messages],
            "has_more": page.has_more,
        }

    async def set_presence(self, frame, echo):
        status = frame.get("status")
        if status not in (PresenceStatus.ONLINE, PresenceStatus.AWAY):
            raise InvalidInput(_("status must be online or away."))
        change = await presence_store.set_status(self.user.pk, self.socket_id, status)
        if not change.changed:
            return
        # Told at a pace (messaging.realtime.presence_pace): held changes end
        # in one announcement of the status the person then has.
        if self._presence_pace is None:
            user_id = self.user.pk
            self._presence_pace = PresencePace(lambda: presence_store.announce_current(user_id))
        if self._presence_pace.admit():
            await presence_store.announce(change)

    async def query_presence(self, frame, echo):
        user_ids = frame.get("user_ids")
        if not isinstance(user_ids, list) or len(user_ids) > validation.MAX_PRESENCE_IDS:
            raise InvalidInput(
                _("user_ids must be a list of up to %(count)s ids.")
                % {"count": validation.MAX_PRESENCE_IDS}
            )
        ids = validation.parse_uuids(user_ids, what="user_ids")
        # Only the people the policy lets this user see; other ids are left out.
        visible = await db(selectors.presence_visible_ids)(self.user, ids)
        states = await presence_store.statuses(visible) if visible else {}
        await self._send_frame(
            {
                "type": "presence.state",
                **echo,
                "users": [{"user_id": uid, **state} for uid, state in states.items()],
            }
        )

    async def ping(self, frame, echo):
        await self._send_frame({"type": "pong", **echo, "server_time": timezone.now().isoformat()})

    # --- Sending ----------------------------------------------------------------------

    async def _send_frame(self, frame: dict) -> None:
        """A reply (or the hello): written after every frame queued before
        it; returns once written."""
        if self.outbox is not None:
            await self.outbox.reply(events.to_json(frame))

    async def _send_error(self, code: str, message: str, **fields) -> None:
        await self._send_frame({"type": "error", "code": code, "message": message, **fields})


def _may_type(user, conversation_id: uuid.UUID) -> bool:
    """Whether ``user`` may be shown typing there: a member (else the refusal
    a read gets) who may also post (not blocked by the other person of a
    direct conversation, not muted, the conversation not archived); a
    start from someone who may not post is not told, and not answered."""
    membership = selectors.membership_for(user, conversation_id, attempted="typing")
    return policy.may_post(user, membership.conversation, membership=membership)


def _ref_problem(ref: object) -> str | None:
    """Why a command's ``ref`` cannot be echoed (docs/protocol.md): not text,
    longer than ``MAX_REF_CHARS``, or against the text rule (a lone
    surrogate has no UTF-8: a strict JSON reader refuses the frame that
    carries one back). None for a good ref, or none at all."""
    if ref is None:
        return None
    if not isinstance(ref, str) or len(ref) > MAX_REF_CHARS:
        return _("ref must be text of at most %(count)s characters.") % {"count": MAX_REF_CHARS}
    try:
        validation.check_text(ref, what="ref")
    except MessagingError as error:
        return error.message
    return None


COMMANDS = {
    "message.send": ChatConsumer.send_message,
    "message.edit": ChatConsumer.edit_message,
    "message.delete": ChatConsumer.delete_message,
    "typing.start": ChatConsumer.typing_start,
    "typing.stop": ChatConsumer.typing_stop,
    "read": ChatConsumer.mark_read,
    "delivered": ChatConsumer.mark_delivered,
    "resume": ChatConsumer.resume,
    "history.fetch": ChatConsumer.fetch_history,
    "presence.set": ChatConsumer.set_presence,
    "presence.query": ChatConsumer.query_presence,
    "ping": ChatConsumer.ping,
    # Threads, reactions, pins and saved messages (messaging.threads.socket).
    **THREAD_COMMANDS,
}
