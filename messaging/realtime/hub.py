"""One subscriber per process: the hub fans each event out to the local
sockets of its group.

A socket has no channel-layer channel of its own. Each process (each running
event loop, as ``maintenance`` keeps its task per loop) has one hub, which
holds ONE channel, one subscription per group any local socket is in
(``subscribe`` when the first local socket joins, ``unsubscribe`` when the
last leaves), one receive loop on that channel, and the map group → local
sockets. Each event is received once per process, however many local
sockets it reaches, and its already-serialized frame is handed to each of
them (``Member.deliver``, the socket's outbox: ``messaging.realtime.outbox``).

The guarantees a channel per socket gave hold here:

- membership changes are synchronous and dispatch reads the membership as
  it is, so an event for a conversation a socket has just left never
  reaches it;
- a conversation's events go through ``LiveOrder``
  (``messaging.realtime.ordering``), which releases them to the fan-out;
  it forgets a conversation when its last local socket leaves;
- an event for many people at once (a presence change, to every contact:
  ``events.apublish_to_users``) is one layer message to the people group,
  which every hub subscribes to when it starts; the hub hands its frame to
  the local sockets of each person it names;
- ``conversation.added`` joins every local socket of the user's group to the
  conversation (subscribed) before the frame goes out;
  ``conversation.removed`` removes them first; ``session.revoked`` closes
  every local socket of the session (4401); typing skips the typist's own
  sockets;
- a Redis outage: subscriptions are the layer's (``messaging.realtime.layer``
  registers them at once and ``resubscribe()`` renews the hub's channel and
  groups when Redis is back).

The receive loop never dies of one bad event or one failing socket (logged,
and the next event goes on); if its task ends anyway it is started again,
on a fresh channel subscribed to every group.
"""

import asyncio
import functools
import logging
import sys
import weakref
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol

from django.conf import settings

from messaging import events
from messaging.realtime.ordering import LiveOrder

__all__ = ["Hub", "Member", "hub", "send_buffer_bytes"]

logger = logging.getLogger(__name__)

# Events of a conversation about one person (routed with their ``user_id``)
# that are not for that person's own sockets.
NOT_TO_THEIR_OWN_SOCKETS = frozenset({"typing", "e2e_devices"})

# How long the receive loop waits before it subscribes again after the layer
# failed to receive (not to spin while a broken layer fails at once).
RETRY_SECONDS = 0.5


def send_buffer_bytes() -> int:
    """How many bytes of live frames a socket may have queued unwritten
    before it is closed with 4008 (``PARLEY_SOCKET_SEND_BUFFER_BYTES``)."""
    return int(settings.PARLEY_SOCKET_SEND_BUFFER_BYTES)


class Member(Protocol):
    """A local socket, as the hub sees it (the consumer)."""

    # The user's id (str), the typist's own sockets skip their typing.
    user_id: str
    # The groups the hub has this socket in: the hub keeps it (the names are
    # interned, one string per group however many sockets are in it).
    hub_groups: set[str]

    def deliver(self, text: str, size: int, limit: int) -> None:
        """Queue a live frame (``size`` bytes) for the socket, within ``limit``."""

    def left_conversation(self, conversation: str) -> None:
        """The socket was removed from conversation ``conversation`` (hex)."""

    def revoke(self) -> None:
        """The session no longer stands: close the socket with 4401."""


class Hub:
    """This process's one subscriber; see the module's docstring."""

    def __init__(self) -> None:
        self.channel: str | None = None
        self.members: dict[str, set[Member]] = {}
        # How many events the layer delivered to this hub: once per event per
        # process, whatever the number of local sockets it reaches.
        self.received = 0
        self._order = LiveOrder(self._release)
        # The last subscribe/unsubscribe of each group still under way: the
        # next one for that group runs after it, so the layer sees them in
        # the order membership changed.
        self._pending: dict[str, asyncio.Task] = {}
        self._opening: asyncio.Task | None = None
        self._task: asyncio.Task | None = None
        self._people: asyncio.Task | None = None
        self._closed = False

    # --- Membership (synchronous; the layer follows) ---------------------------

    async def join(self, member: Member, groups: Iterable[str]) -> None:
        """Put ``member`` in ``groups``; return once this process is
        subscribed to each of them."""
        await self._start()
        pending = {p for group in groups if (p := self._add(member, group)) is not None}
        if pending:
            await asyncio.wait(pending)

    def leave(self, member: Member, group: str) -> None:
        """Take ``member`` out of ``group`` now: no event of it reaches the
        socket from here on. The last local socket out unsubscribes."""
        member.hub_groups.discard(group)
        members = self.members.get(group)
        if members is None or member not in members:
            return
        members.discard(member)
        if members:
            return
        del self.members[group]
        conversation = events.conversation_of_group(group)
        if conversation is not None:
            self._order.forget(conversation)
        self._layer_op(group, events.unsubscribe)

    def leave_all(self, member: Member) -> None:
        """Take ``member`` out of every group (the socket is closing)."""
        for group in list(member.hub_groups):
            self.leave(member, group)

    def _add(self, member: Member, group: str) -> asyncio.Task | None:
        """Put ``member`` in ``group``; the subscription still under way,
        if any."""
        members = self.members.get(group)
        if members is None:
            group = sys.intern(group)
            self.members[group] = {member}
            member.hub_groups.add(group)
            return self._layer_op(group, events.subscribe)
        if member not in members:
            members.add(member)
            member.hub_groups.add(sys.intern(group))
        return self._pending.get(group)

    def _layer_op(self, group: str, op: Callable[[str, str], Awaitable[None]]) -> asyncio.Task:
        previous = self._pending.get(group)
        task = asyncio.get_running_loop().create_task(self._run_layer_op(previous, op, group))
        self._pending[group] = task
        task.add_done_callback(lambda done: self._layer_op_done(group, done))
        return task

    async def _run_layer_op(
        self, previous: asyncio.Task | None, op: Callable[[str, str], Awaitable[None]], group: str
    ) -> None:
        if previous is not None:
            await asyncio.wait({previous})
        channel = self.channel
        if channel is None:
            return
        try:
            await op(group, channel)
        except Exception:
            # The layer rides out Redis faults itself (messaging.realtime.layer);
            # anything else is logged, and resubscribe() renews every group.
            logger.exception("Could not change the hub's subscription to %s", group)

    def _layer_op_done(self, group: str, task: asyncio.Task) -> None:
        if self._pending.get(group) is task:
            del self._pending[group]

    def live_delivery_restored(self) -> None:
        """Redis is back after an outage (``maintenance``): conversations'
        live order starts afresh (``LiveOrder.restart``), as the sockets
        resume what they missed."""
        self._order.restart()

    # --- Receiving ----------------------------------------------------------------

    async def _start(self) -> None:
        """Open the hub's channel and start its receive loop, once."""
        if self.channel is None:
            if self._opening is None:
                self._opening = asyncio.get_running_loop().create_task(events.open_channel())
            try:
                self.channel = await asyncio.shield(self._opening)
            except Exception:
                self._opening = None
                raise
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._receive())
            self._task.add_done_callback(self._receive_ended)
        if self._people is None:
            # Every hub is in the people group, with or without members.
            self._people = self._layer_op(events.PEOPLE_GROUP, events.subscribe)
        await asyncio.wait({self._people})

    def _receive_ended(self, task: asyncio.Task) -> None:
        self._task = None
        if self._closed or task.cancelled():
            return  # the process (its event loop) is ending
        error = task.exception()
        logger.error("The hub's receive loop ended; starting it again", exc_info=error)
        self._task = asyncio.get_running_loop().create_task(self._receive(resubscribe=True))
        self._task.add_done_callback(self._receive_ended)

    async def _receive(self, *, resubscribe: bool = False) -> None:
        if resubscribe:
            await self._reopen()
        while True:
            try:
                message = await events.receive(self.channel or "")
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("The hub could not receive; subscribing again")
                await asyncio.sleep(RETRY_SECONDS)
                await self._reopen()
                continue
            self.received += 1
            try:
                if message.get("group") == events.PEOPLE_GROUP:
                    self._release_to_people(message)
                elif message.get("type") == "conversation_added":
                    await self._conversation_added(message)
                elif "conversation" in message:
                    self._order.offer(message)
                else:
                    self._release(message)
            except Exception:
                logger.exception("Could not deliver a %s event", message.get("type"))

    async def _reopen(self) -> None:
        """A fresh channel, subscribed to every group a local socket is in."""
        old = self.channel
        try:
            self.channel = await events.open_channel()
        except Exception:
            logger.exception("Could not open a new channel for the hub")
            return
        for group in [events.PEOPLE_GROUP, *self.members]:
            self._layer_op(group, events.subscribe)
            if old is not None:
                self._layer_op(group, functools.partial(_unsubscribe_channel, old))

    # --- Fan-out ------------------------------------------------------------------

    def _release(self, event: dict) -> None:
        """Hand ``event``'s frame to each local socket of its group, as the
        membership stands now."""
        members = self.members.get(_group_of(event))
        if not members:
            return
        kind = event["type"]
        text = event["frame"]
        # The frame is ASCII JSON (events.to_json): characters are bytes.
        size = len(text)
        limit = send_buffer_bytes()
        if kind == "session_revoked":
            for member in tuple(members):
                member.revoke()
        elif kind == "conversation_removed":
            group = events.conversation_group(event["conversation_id"])
            conversation = events.conversation_of_group(group) or ""
            for member in tuple(members):
                self.leave(member, group)
                member.left_conversation(conversation)
                member.deliver(text, size, limit)
        elif kind in NOT_TO_THEIR_OWN_SOCKETS and event.get("user_id"):
            # Someone's typing, or a change to someone's devices told to a
            # conversation (their own sockets hear of it in their user group).
            author = event["user_id"]
            for member in tuple(members):
                if member.user_id != author:
                    member.deliver(text, size, limit)
        else:
            for member in tuple(members):
                member.deliver(text, size, limit)

    def _release_to_people(self, event: dict) -> None:
        """Hand an ``apublish_to_users`` event's frame to the local sockets
        of each person it names (their user groups)."""
        text = event["frame"]
        size = len(text)
        limit = send_buffer_bytes()
        for group in event.get("groups", ()):
            for member in tuple(self.members.get(group, ())):
                member.deliver(text, size, limit)

    async def _conversation_added(self, event: dict) -> None:
        """Join every local socket of the user's group to the conversation,
        subscribed, then hand them the frame."""
        members = self.members.get(event.get("group", ""))
        if not members:
            return
        group = events.conversation_group(event["conversation_id"])
        pending = {p for m in tuple(members) if (p := self._add(m, group)) is not None}
        if pending:
            await asyncio.wait(pending)
        self._release(event)

    async def close(self) -> None:
        """Stop receiving (the process is ending)."""
        self._closed = True
        if self._task is not None:
            self._task.cancel()
        await self._order.close()


async def _unsubscribe_channel(channel: str, group: str, _current: str) -> None:
    """Unsubscribe ``channel`` (the hub's former one) from ``group``."""
    await events.unsubscribe(group, channel)


def _group_of(event: dict) -> str:
    """The group an event was sent to; a conversation's event (say, one
    ``LiveOrder`` filled from PostgreSQL) may name only its conversation."""
    group = event.get("group")
    if group is None and "conversation" in event:
        group = f"conv.{event['conversation']}"
    return group or ""


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = weakref.WeakKeyDictionary()


def hub() -> Hub:
    """This process's hub (the running event loop's)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = Hub()
    return found
