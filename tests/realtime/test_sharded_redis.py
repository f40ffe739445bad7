"""Scale-out on channels-redis sharded over two Redis servers
(``CHANNEL_LAYER_REDIS_URLS``), with two ASGI server processes: delivery,
typing, presence and revocation work across the processes whichever shard a
group hashes to, and one shard stopping leaves the other delivering live.

Everything is checked as a client sees it (frames and close codes on real
sockets). Which shard a group lives on is channels-redis's own hash of the
group's name; each case builds conversations, people or sessions until both
shards hold some, and checks on the Redis servers themselves that the
processes subscribed there, so the file fails if everything landed on one
shard or the servers ignored the setting.

The two redis-server processes and the two ASGI processes are shared by the
cases (each case makes its own people and conversations: the database is
emptied after each). Presence, rate limits and the cache stay on the suite's
``REDIS_URL``, as docs/operations.md recommends.
"""

import asyncio
import http.client
import itertools
import secrets
import string
from collections.abc import Callable

import pytest
import redis
from asgiref.sync import sync_to_async
from channels_redis.pubsub import RedisPubSubLoopLayer
from django.conf import settings

from accounts import services as account_services
from accounts.models import Role
from messaging import events, services
from messaging.models import ConversationType
from tests.faults.redis_server import PrivateRedis
from tests.realtime.clients import ProtocolClient
from tests.realtime.conftest import session_cookie
from tests.servers import ServerProcess

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

orm = sync_to_async

SHARDS = 2
# Conversations per shard in each case: more than one, so a shard is not
# covered by a single lucky group.
CONVERSATIONS_PER_SHARD = 2
# How many tries to find a group on each shard (each lands on a given shard
# with probability 1/2: failing to find one by chance is out of the question).
MAX_TRIES = 64

SERVER_ENV = {
    "PARLEY_SEND_RATE_PER_SECOND": "200",
    "PARLEY_SEND_BURST": "200",
    # No heartbeat during a case: its re-check of sessions and accounts would
    # close a revoked socket even if the revocation event never arrived.
    "PARLEY_PRESENCE_TTL_SECONDS": "10800",
    "PARLEY_PRESENCE_HEARTBEAT_SECONDS": "3600",
}

# How long a frame or a close may take to arrive before the case fails: a
# bound for "never", not a speed (the heartbeat that could stand in for a
# lost event is an hour away).
WAIT = 15


class Shards:
    """The channel layer's Redis servers, and which of them a group is on."""

    def __init__(self, servers: list[PrivateRedis]):
        self.servers = servers
        # channels-redis's own hashing, on the hosts the processes are given
        # (never connected: only its choice of shard is used).
        self._hashing = RedisPubSubLoopLayer(hosts=self.urls, prefix=settings.REDIS_KEY_PREFIX)

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]

    def _channel(self, group: str) -> str:
        return self._hashing._get_group_channel_name(group)

    def of(self, group: str) -> int:
        """The index of the shard ``group`` hashes to."""
        shards = self._hashing._shards
        return shards.index(self._hashing._get_shard(self._channel(group)))

    def subscribers(self, group: str) -> list[int]:
        """How many connections subscribe to ``group`` on each shard."""
        channel = self._channel(group)
        counts = []
        for server in self.servers:
            client = redis.Redis(port=server.port, socket_timeout=5)
            try:
                counts.append(dict(client.pubsub_numsub(channel))[channel.encode()])
            finally:
                client.close()
        return counts

    def subscriber_connections(self, index: int) -> set[str]:
        """The ids of the connections subscribed to anything on shard ``index``."""
        client = redis.Redis(port=self.servers[index].port, socket_timeout=5)
        try:
            return {entry["id"] for entry in client.client_list(_type="pubsub")}
        finally:
            client.close()

    def assert_served(self, group: str, processes: int = 2) -> None:
        """Each process subscribed to ``group`` on its shard, none elsewhere."""
        expected = [processes if index == self.of(group) else 0 for index in range(SHARDS)]
        assert self.subscribers(group) == expected, group

    def layers(self) -> dict:
        """``CHANNEL_LAYERS`` for this process on these shards, as the
        servers have them (a third process of the deployment: an admin's
        request, a worker)."""
        layer = settings.CHANNEL_LAYERS["default"]
        host = layer["CONFIG"]["hosts"][0]
        hosts = [{**host, "address": url} for url in self.urls]
        return {"default": {**layer, "CONFIG": {**layer["CONFIG"], "hosts": hosts}}}


@pytest.fixture(scope="module")
def shards():
    servers: list[PrivateRedis] = []
    try:
        for _ in range(SHARDS):
            servers.append(PrivateRedis())
        yield Shards(servers)
    finally:
        for server in servers:
            server.stop()


@pytest.fixture(scope="module")
def processes(django_db_setup, shards):
    """Two ASGI server processes, the channel layer sharded over ``shards``."""
    env = {**SERVER_ENV, "CHANNEL_LAYER_REDIS_URLS": ",".join(shards.urls)}
    started: list[ServerProcess] = []
    try:
        for _ in range(2):
            started.append(ServerProcess(extra_env=env))
        yield started
    finally:
        for server in started:
            server.stop()


def is_type(kind: str, **fields) -> Callable[[dict], bool]:
    return lambda frame: (
        frame["type"] == kind and all(_get(frame, key) == value for key, value in fields.items())
    )


def _get(frame, dotted: str):
    for part in dotted.split("__"):
        frame = frame.get(part) if isinstance(frame, dict) else None
    return frame


def on_each_shard(shards: Shards, make, group_of, per_shard: int = 1) -> list[list]:
    """Call ``make()`` until ``per_shard`` of what it returns have their
    group (``group_of(thing)``) on each shard; those, by shard."""
    found: list[list] = [[] for _ in range(SHARDS)]
    for _ in range(MAX_TRIES):
        thing = make()
        shard = shards.of(group_of(thing))
        if len(found[shard]) < per_shard:
            found[shard].append(thing)
        if all(len(things) == per_shard for things in found):
            return found
    raise AssertionError(f"no group on some shard after {MAX_TRIES} tries: {found}")


_titles = itertools.count(1)


def conversations_on_both_shards(shards: Shards, creator, members) -> list[list[str]]:
    """Group conversations of ``creator`` and ``members``, by shard."""

    def make() -> str:
        conversation = services.create_conversation(
            creator=creator,
            kind=ConversationType.GROUP,
            participants=members,
            title=f"Sharded {next(_titles)}",
        )
        return str(conversation.pk)

    return on_each_shard(shards, make, events.conversation_group, CONVERSATIONS_PER_SHARD)


async def connect(name: str, cookie: str, server: ServerProcess) -> ProtocolClient:
    client = ProtocolClient(name, cookie, [server.ws_url])
    await client.connect()
    await client.wait_resumed()
    return client


async def close_all(clients) -> None:
    for client in clients:
        await client.close()


class World:
    """An admin and three students, their sockets alternating between the
    two processes, in conversations on both shards."""

    def __init__(self, people, clients, conversations):
        self.people = people
        self.clients = clients
        self.conversations = conversations  # conversation ids, by shard


@pytest.fixture
async def world(make_user, shards, processes):
    admin = await orm(make_user)(Role.ADMIN)
    students = [await orm(make_user)(Role.STUDENT) for _ in range(3)]
    people = [admin, *students]
    conversations = await orm(conversations_on_both_shards)(shards, admin, students)
    clients = []
    try:
        for index, person in enumerate(people):
            cookie = await orm(session_cookie)(person)
            server = processes[index % 2]
            clients.append(await connect(person.display_name, cookie, server))
        yield World(people, clients, conversations)
    finally:
        await close_all(clients)


async def test_messages_reach_every_member_on_both_processes_from_either_shard(world, shards):
    for shard, conversation_ids in enumerate(world.conversations):
        for number, cid in enumerate(conversation_ids):
            # Senders take turns, so each process publishes to each shard.
            sender = world.clients[(shard + number) % len(world.clients)]
            content = f"shard {shard}, conversation {number}"
            await sender.send(cid, content)
            for client in world.clients:
                new = await client.wait_for(
                    is_type("message.new", message__content=content), timeout=WAIT
                )
                assert new["message"]["conversation_id"] == cid
            shards.assert_served(events.conversation_group(cid))


async def test_typing_reaches_the_other_process_from_either_shard(world):
    for shard, conversation_ids in enumerate(world.conversations):
        cid = conversation_ids[0]
        for typist_index, typist in enumerate(world.clients):
            if typist_index % 2 != shard % 2:
                continue  # one typist per process and shard is enough
            typist_id = str(world.people[typist_index].pk)
            await typist.command({"type": "typing.start", "conversation_id": cid})
            for index, client in enumerate(world.clients):
                if index == typist_index:
                    continue  # nobody is told of their own typing
                typing = await client.wait_for(
                    is_type("typing", conversation_id=cid, user__id=typist_id, is_typing=True),
                    timeout=WAIT,
                )
                assert typing["is_typing"] is True


async def test_presence_reaches_the_other_process_whichever_shard_the_watcher_is_on(
    make_user, shards, processes
):
    mover = await orm(make_user)(Role.ADMIN)
    watchers = [
        found[0]
        for found in await orm(on_each_shard)(
            shards, lambda: make_user(Role.STUDENT), lambda user: events.user_group(user.pk)
        )
    ]
    await orm(services.create_conversation)(
        creator=mover, kind=ConversationType.GROUP, participants=watchers, title="Presence"
    )
    clients = []
    try:
        for watcher in watchers:
            cookie = await orm(session_cookie)(watcher)
            clients.append(await connect(watcher.display_name, cookie, processes[1]))
        moving = await connect("mover", await orm(session_cookie)(mover), processes[0])
        clients.append(moving)
        mover_id = str(mover.pk)
        for client in clients[:-1]:
            await client.wait_for(is_type("presence", user_id=mover_id, status="online"), WAIT)
        for watcher in watchers:
            shards.assert_served(events.user_group(watcher.pk), processes=1)

        await moving.close()
        for client in clients[:-1]:
            await client.wait_for(is_type("presence", user_id=mover_id, status="offline"), WAIT)
    finally:
        await close_all(clients)


async def closed_with(client: ProtocolClient) -> int | None:
    """The close code of ``client``'s socket, once the server closed it."""
    await asyncio.wait_for(client.socket.wait_closed(), WAIT)
    return client.socket.close_code


async def still_open(client: ProtocolClient) -> bool:
    """The socket answers a ping (the server has not closed it)."""
    ref = secrets.token_hex(6)
    await client.command({"type": "ping", "ref": ref})
    await client.wait_for(is_type("pong", ref=ref), WAIT)
    return not client.closed


def log_out(server: ServerProcess, cookie: str) -> int:
    """Log the session ``cookie`` out, as its page's logout button does;
    the answer's status."""
    csrf = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT)
    try:
        connection.request(
            "POST",
            "/logout/",
            headers={
                "Cookie": f"{settings.SESSION_COOKIE_NAME}={cookie}; "
                f"{settings.CSRF_COOKIE_NAME}={csrf}",
                "X-CSRFToken": csrf,
            },
        )
        return connection.getresponse().status
    finally:
        connection.close()


async def test_logout_closes_the_sessions_sockets_on_both_processes_whichever_shard(
    make_user, shards, processes
):
    student = await orm(make_user)(Role.STUDENT)
    # One session whose group is on each shard, each with a socket on each process.
    sessions = [
        found[0]
        for found in await orm(on_each_shard)(
            shards, lambda: session_cookie(student), events.session_group
        )
    ]
    sockets = {
        cookie: [await connect(f"tab {n}", cookie, server) for n, server in enumerate(processes)]
        for cookie in sessions
    }
    try:
        for cookie in sessions:
            shards.assert_served(events.session_group(cookie))
        for index, cookie in enumerate(sessions):
            # Logged out through either process in turn.
            assert await asyncio.to_thread(log_out, processes[index % 2], cookie) == 302
            for client in sockets[cookie]:
                assert await closed_with(client) == 4401
            for other in sessions[index + 1 :]:
                for client in sockets[other]:
                    assert await still_open(client)
    finally:
        await close_all(itertools.chain(*sockets.values()))


async def test_deactivation_closes_every_socket_on_both_processes_whichever_shard(
    make_user, shards, processes, settings
):
    # The deactivation is made here, a third process of the deployment on the
    # same shards (as an admin's request or a worker would be).
    settings.CHANNEL_LAYERS = shards.layers()
    people = [
        found[0]
        for found in await orm(on_each_shard)(
            shards, lambda: make_user(Role.STUDENT), lambda user: events.user_group(user.pk)
        )
    ]
    sockets = {}
    for person in people:
        cookie = await orm(session_cookie)(person)
        sockets[person.pk] = [
            await connect(person.display_name, cookie, server) for server in processes
        ]
    try:
        for person in people:
            shards.assert_served(events.user_group(person.pk))
        for index, person in enumerate(people):
            await orm(account_services.set_active)(user=person, active=False)
            for client in sockets[person.pk]:
                assert await closed_with(client) == 4401
            for other in people[index + 1 :]:
                for client in sockets[other.pk]:
                    assert await still_open(client)
    finally:
        await close_all(itertools.chain(*sockets.values()))


async def test_one_shard_stopped_leaves_the_other_live_and_recovers(world, shards):
    """Shard 1 stops. Every socket is told live delivery is degraded (the
    processes cannot tell which of their sockets it touches); conversations
    on shard 0 still deliver live, on the same subscriptions; sends to shard
    1's conversations are stored and acknowledged, and nothing hangs. When
    shard 1 is back every socket is told, catches up with ``resume``, and
    its conversations deliver live again."""
    stopped, running = 1, 0
    live_cid = world.conversations[running][0]
    stopped_cid = world.conversations[stopped][0]
    clients = world.clients
    subscribed = shards.subscriber_connections(running)
    assert len(subscribed) == 2  # one for each process
    await asyncio.to_thread(shards.servers[stopped].kill)
    try:
        # (A process tells its sockets after it has tried, and failed, to
        # subscribe again to the stopped shard.)
        for client in clients:
            await client.wait_for(is_type("degraded", live=False), WAIT)
        for number in range(3):
            content = f"while shard 1 is down, {number}"
            await clients[number].send(live_cid, content)
            for client in clients:
                await client.wait_for(is_type("message.new", message__content=content), WAIT)
        # Shard 0 was never let go: replacing its connections would have
        # dropped what was published to it meanwhile.
        assert shards.subscriber_connections(running) == subscribed

        unheard = await clients[1].send(stopped_cid, "to the stopped shard")
        await clients[1].wait_for(is_type("ack", client_id=unheard), WAIT)
        for client in clients:
            assert await still_open(client)
    finally:
        await asyncio.to_thread(shards.servers[stopped].start)

    for client in clients:
        await client.wait_for(is_type("degraded", live=True), WAIT)
        await client.resume()
        await client.wait_resumed(WAIT)
        held = [m["content"] for m in client.held.values() if m["conversation_id"] == stopped_cid]
        assert "to the stopped shard" in held, client.name

    await clients[2].send(stopped_cid, "shard 1 is back")
    for client in clients:
        await client.wait_for(is_type("message.new", message__content="shard 1 is back"), WAIT)
    shards.assert_served(events.conversation_group(stopped_cid))
