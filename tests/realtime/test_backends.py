"""The presence store and the rate limiter behave the same on Redis (Lua
scripts, production) and in memory (Python, the embedded default): every
scenario runs on both with the same expectations, and random operation
sequences give identical transcripts."""

import asyncio
import random
import uuid

import pytest
from django.conf import settings

from messaging.errors import RateLimited
from messaging.realtime import backends
from messaging.realtime.backends import PresenceChange
from messaging.realtime.backends.memory import MemoryPresenceStore, MemoryRateLimiter
from messaging.realtime.backends.redis import RedisPresenceStore, RedisRateLimiter

pytestmark = [pytest.mark.services]

TTL = 90


def make_store(kind: str):
    if kind == "memory":
        return MemoryPresenceStore()
    return RedisPresenceStore(settings.REDIS_URL, settings.REDIS_KEY_PREFIX)


def make_limiter(kind: str):
    if kind == "memory":
        return MemoryRateLimiter()
    return RedisRateLimiter(settings.REDIS_URL, settings.REDIS_KEY_PREFIX)


@pytest.fixture(params=["memory", "redis"])
def kind(request, monkeypatch, fake_clock):
    monkeypatch.setitem(settings.PARLEY, "PRESENCE_TTL_SECONDS", TTL)
    monkeypatch.setitem(settings.PARLEY, "SEND_RATE_PER_SECOND", 2.0)
    monkeypatch.setitem(settings.PARLEY, "SEND_BURST", 3)
    return request.param


@pytest.fixture
def store(kind):
    return make_store(kind)


@pytest.fixture
def limiter(kind):
    return make_limiter(kind)


def new_user() -> str:
    return str(uuid.uuid4())


# --- Presence -----------------------------------------------------------------------


async def test_status_aggregates_over_sockets(store):
    user, nobody = new_user(), new_user()
    assert await store.put(user, "a", "online") == PresenceChange(user, "offline", "online", 1)
    assert await store.put(user, "b", "away") == PresenceChange(user, "online", "online", 2)
    assert await store.statuses([user, nobody]) == {user: "online", nobody: "offline"}
    assert await store.put(user, "a", "away") == PresenceChange(user, "online", "away", 2)
    assert store.statuses_sync([user]) == {user: "away"}
    assert await store.put(user, "b", "online") == PresenceChange(user, "away", "online", 2)
    assert await store.remove(user, "b") == PresenceChange(user, "online", "away", 1)
    assert await store.remove(user, "b") == PresenceChange(user, "away", "away", 1)
    assert await store.remove(user, "a") == PresenceChange(user, "away", "offline", 0)
    assert await store.statuses([user]) == {user: "offline"}
    assert store.statuses_sync([user]) == {user: "offline"}
    assert await store.due() == []


async def test_a_heartbeats_writes_at_once_report_what_each_write_would(
    kind, fake_clock, monkeypatch
):
    """``put_many`` (the heartbeat's, pipelined on Redis, past one
    pipeline's worth here) reports for each entry what ``put`` one after
    another reports, and leaves the same statuses."""
    from messaging.realtime.backends import redis as redis_backend

    monkeypatch.setattr(redis_backend, "PIPELINE_SCRIPTS", 7)
    users = [new_user() for _ in range(6)]
    entries = [
        (user, f"{user}-{n}", "online" if (i + n) % 3 else "away")
        for i, user in enumerate(users)
        for n in range(3)
    ]
    one_by_one, at_once = make_store(kind), make_store(kind)
    # The second store writes under keys of its own (Redis: another prefix).
    if kind == "redis":
        at_once = RedisPresenceStore(settings.REDIS_URL, f"{settings.REDIS_KEY_PREFIX}:many")
    await one_by_one.put(users[0], "older", "away")
    await at_once.put(users[0], "older", "away")
    fake_clock.advance(TTL + 1)  # "older" has expired, not yet swept
    expected = [await one_by_one.put(*entry) for entry in entries]
    assert await at_once.put_many(entries) == expected
    assert await at_once.statuses(users) == await one_by_one.statuses(users)
    assert await at_once.put_many([]) == []


async def test_entries_expire_and_are_swept(store, fake_clock):
    user = new_user()
    await store.put(user, "a", "online")
    fake_clock.advance(TTL)
    # At its expiry an entry still counts; it is due for a sweep, which keeps it.
    assert await store.statuses([user]) == {user: "online"}
    assert await store.due() == [user]
    assert await store.expire(user) == PresenceChange(user, "online", "online", 1)
    fake_clock.advance(0.5)
    # Past it, reads ignore the entry at once; a sweep removes it.
    assert await store.statuses([user]) == {user: "offline"}
    assert store.statuses_sync([user]) == {user: "offline"}
    assert await store.due() == [user]
    assert await store.expire(user) == PresenceChange(user, "online", "offline", 0)
    assert await store.due() == []
    assert await store.expire(user) == PresenceChange(user, "offline", "offline", 0)


async def test_a_refreshed_entry_lives_on(store, fake_clock):
    user = new_user()
    await store.put(user, "a", "away")
    fake_clock.advance(TTL - 1)
    assert await store.put(user, "a", "away") == PresenceChange(user, "away", "away", 1)
    fake_clock.advance(TTL - 1)
    assert await store.statuses([user]) == {user: "away"}
    assert await store.due() == []


async def test_sweep_drops_only_the_expired_sockets(store, fake_clock):
    user, other = new_user(), new_user()
    await store.put(user, "dead", "online")
    await store.put(other, "x", "online")
    fake_clock.advance(50)
    await store.put(user, "alive", "away")
    await store.put(other, "x", "online")
    fake_clock.advance(TTL - 49)  # "dead" and other's first beat expired, the rest live
    assert await store.statuses([user, other]) == {user: "away", other: "online"}
    assert await store.due() == [user]
    assert await store.expire(user) == PresenceChange(user, "online", "away", 1)
    assert await store.due() == []


async def test_a_write_reports_stale_entries_as_what_was_last_told(store, fake_clock):
    user = new_user()
    await store.put(user, "a", "online")
    fake_clock.advance(TTL + 1)
    # Contacts still think "online": the change to away is reported as one.
    assert await store.put(user, "b", "away") == PresenceChange(user, "online", "away", 1)
    assert await store.due() == []


# --- Rate limits -----------------------------------------------------------------------


def retry_of(call) -> float | None:
    try:
        call()
    except RateLimited as error:
        return error.retry_after
    return None


async def async_retry_of(call) -> float | None:
    try:
        await call()
    except RateLimited as error:
        return error.retry_after
    return None


async def test_bucket_burst_refill_and_retry_after(limiter, fake_clock):
    user = new_user()
    # A burst of 3, sync and async callers spending from the same bucket.
    assert await async_retry_of(lambda: limiter.take(user)) is None
    assert retry_of(lambda: limiter.take_sync(user)) is None
    assert await async_retry_of(lambda: limiter.take(user)) is None
    assert retry_of(lambda: limiter.take_sync(user)) == 0.5  # 2 tokens a second
    fake_clock.advance(0.2)
    assert await async_retry_of(lambda: limiter.take(user)) == 0.3
    fake_clock.advance(0.3)
    assert retry_of(lambda: limiter.take_sync(user)) is None
    fake_clock.advance(0.45)
    # 0.05 s to go is reported as 0.1: no client should retry in a busy loop.
    assert retry_of(lambda: limiter.take_sync(user)) == 0.1
    fake_clock.advance(3600)
    # A long pause refills the burst, no more.
    for _ in range(3):
        assert retry_of(lambda: limiter.take_sync(user)) is None
    assert retry_of(lambda: limiter.take_sync(user)) == 0.5


async def test_buckets_are_per_user_and_kind(limiter):
    user, other = new_user(), new_user()
    for _ in range(3):
        await limiter.take(user)
    with pytest.raises(RateLimited):
        await limiter.take(user)
    await limiter.take(other)
    await limiter.take(user, kind="other")
    with pytest.raises(RateLimited):
        limiter.take_sync(user)


# --- The same random histories on both ---------------------------------------------------


async def presence_transcript(store, clock, seed: int) -> list:
    rng = random.Random(seed)
    users = [new_user() for _ in range(3)]
    names = {user: f"u{n}" for n, user in enumerate(users)}
    transcript = []
    for _ in range(200):
        op = rng.choice(["put", "put", "remove", "expire", "expire", "advance", "read", "due"])
        user, channel = rng.choice(users), rng.choice("abc")
        if op == "put":
            change = await store.put(user, channel, rng.choice(["online", "away"]))
        elif op == "remove":
            change = await store.remove(user, channel)
        elif op == "expire":
            change = await store.expire(user)
        elif op == "advance":
            clock.advance(rng.choice([0.001, 0.1, 1 / 3, 7, TTL / 2, TTL, TTL + 1]))
            continue
        elif op == "read":
            transcript.append(("read", [(await store.statuses(users))[u] for u in users]))
            transcript.append(("read_sync", [store.statuses_sync(users)[u] for u in users]))
            continue
        else:
            transcript.append(("due", sorted(names[u] for u in await store.due())))
            continue
        transcript.append((op, names[user], channel, *change[1:]))
    return transcript


async def limiter_transcript(limiter, clock, seed: int) -> list:
    rng = random.Random(seed)
    users = [new_user() for _ in range(2)]
    transcript = []
    for _ in range(120):
        if rng.random() < 0.3:
            clock.advance(rng.choice([0.01, 0.1, 1 / 3, 0.5, 1.7, 10]))
            continue
        user = rng.choice(users)
        if rng.random() < 0.5:
            retry = await async_retry_of(lambda user=user: limiter.take(user))
        else:
            retry = retry_of(lambda user=user: limiter.take_sync(user))
        transcript.append((users.index(user), retry))
    return transcript


@pytest.mark.parametrize("seed", range(5))
async def test_random_histories_agree(seed, monkeypatch):
    from messaging.realtime import clock

    monkeypatch.setitem(settings.PARLEY, "PRESENCE_TTL_SECONDS", TTL)
    monkeypatch.setitem(settings.PARLEY, "SEND_RATE_PER_SECOND", 1.5)
    monkeypatch.setitem(settings.PARLEY, "SEND_BURST", 4)
    results = {}
    for kind in ("memory", "redis"):
        with clock.replaced(clock.FakeClock()) as fake:
            results[kind] = (
                await presence_transcript(make_store(kind), fake, seed),
                await limiter_transcript(make_limiter(kind), fake, seed),
            )
    assert results["memory"] == results["redis"]
    presence, limited = results["memory"]
    # The histories exercise what they are meant to.
    swept = [entry for entry in presence if entry[0] == "expire" and entry[3] != entry[4]]
    assert swept, "some sweep found expired sockets"
    assert any(retry is not None for _, retry in limited)
    assert any(retry is None for _, retry in limited)


# --- Choosing the backend -------------------------------------------------------------------


def test_backend_is_chosen_once_from_settings(settings):
    chosen = backends.presence_store()
    assert isinstance(chosen, RedisPresenceStore)
    assert isinstance(backends.rate_limiter(), RedisRateLimiter)
    assert backends.presence_store() is chosen, "chosen once, not per call"

    settings.REDIS_URL = ""  # the embedded default
    assert isinstance(backends.presence_store(), MemoryPresenceStore)
    assert isinstance(backends.rate_limiter(), MemoryRateLimiter)
    limiter = backends.rate_limiter()
    backends.reset()
    assert backends.rate_limiter() is not limiter


async def test_a_burst_past_the_pool_waits_for_connections_instead_of_failing(monkeypatch):
    """More presence scripts at once than the process's Redis connections
    (a burst of sockets connecting): each waits for a connection and
    succeeds; none fails with "Too many connections"."""
    from messaging.realtime.backends import redis as redis_backend

    monkeypatch.setattr(settings, "REDIS_MAX_CONNECTIONS", 5)
    monkeypatch.setattr(redis_backend, "_async_clients", redis_backend.weakref.WeakKeyDictionary())
    store = make_store("redis")
    # Past redis-py's own default of 100, which raised "Too many connections".
    users = [new_user() for _ in range(150)]
    changes = await asyncio.gather(*(store.put(user, "socket", "online") for user in users))
    assert changes == [PresenceChange(user, "offline", "online", 1) for user in users]
    assert set((await store.statuses(users)).values()) == {"online"}
    assert redis_backend.async_client(settings.REDIS_URL).connection_pool.max_connections == 5


async def test_a_script_is_registered_once_per_client(monkeypatch):
    """redis-py hashes a script's text and builds its object on every
    ``register_script``: each client registers a script once, and a new
    client (another loop's) registers it again."""
    from messaging.realtime.backends import redis as redis_backend

    registered = []
    real = redis_backend.redis.Redis.register_script
    real_async = redis_backend.aioredis.Redis.register_script
    monkeypatch.setattr(
        redis_backend.redis.Redis,
        "register_script",
        lambda client, source: registered.append("sync") or real(client, source),
    )
    monkeypatch.setattr(
        redis_backend.aioredis.Redis,
        "register_script",
        lambda client, source: registered.append("async") or real_async(client, source),
    )
    script = redis_backend._Script("return ARGV[1]")
    url = settings.REDIS_URL
    assert [script.run_sync(url, [], [n]) for n in range(3)] == ["0", "1", "2"]
    assert [await script.run(url, [], [n]) for n in range(3)] == ["0", "1", "2"]
    assert registered == ["sync", "async"]
    monkeypatch.setattr(redis_backend, "_async_clients", redis_backend.weakref.WeakKeyDictionary())
    assert await script.run(url, [], ["again"]) == "again"
    assert registered == ["sync", "async", "async"]
