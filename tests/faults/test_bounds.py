"""Every PostgreSQL and Redis call is bounded by a setting, and without
Redis the rate limit and presence degrade instead of failing."""

import json
import logging
import os
import subprocess
import sys
import uuid

import pytest
from django.conf import settings
from django.db import connection

from messaging.errors import RateLimited
from messaging.realtime import health, presence, ratelimit
from messaging.realtime.backends.redis import async_client, sync_client
from tests.servers import ROOT, free_port

pytestmark = [pytest.mark.services]


def test_redis_clients_have_timeouts_from_settings():
    layer_host = settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]
    assert layer_host["socket_timeout"] == settings.REDIS_SOCKET_TIMEOUT
    assert layer_host["socket_connect_timeout"] == settings.REDIS_CONNECT_TIMEOUT
    cache_options = settings.CACHES["default"]["OPTIONS"]
    assert cache_options["socket_timeout"] == settings.REDIS_SOCKET_TIMEOUT
    assert cache_options["socket_connect_timeout"] == settings.REDIS_CONNECT_TIMEOUT
    assert settings.CELERY_BROKER_TRANSPORT_OPTIONS["socket_timeout"] == (
        settings.REDIS_SOCKET_TIMEOUT
    )
    kwargs = sync_client(settings.REDIS_URL).connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == settings.REDIS_SOCKET_TIMEOUT
    assert kwargs["socket_connect_timeout"] == settings.REDIS_CONNECT_TIMEOUT


async def test_the_async_redis_client_has_them_too():
    kwargs = async_client(settings.REDIS_URL).connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == settings.REDIS_SOCKET_TIMEOUT
    assert kwargs["socket_connect_timeout"] == settings.REDIS_CONNECT_TIMEOUT


@pytest.mark.django_db
def test_database_connections_have_timeouts_from_settings():
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["connect_timeout"] == settings.DATABASE_CONNECT_TIMEOUT
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        shown = cursor.fetchone()[0]
    assert shown == f"{settings.DATABASE_STATEMENT_TIMEOUT_MS}ms" or shown == (
        f"{settings.DATABASE_STATEMENT_TIMEOUT_MS // 1000}s"
    )


def test_the_settings_read_the_database_bounds_from_the_environment():
    code = (
        "import json, django; django.setup(); from django.conf import settings as s;"
        " o = s.DATABASES['default']['OPTIONS'];"
        " print(json.dumps([o['connect_timeout'], o['pool']['timeout'], o['options']]))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PARLEY_PROFILE": "embedded",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/parley",
        "DATABASE_POOL": "true",
        "DATABASE_CONNECT_TIMEOUT": "4",
        "DATABASE_POOL_TIMEOUT": "1.5",
        "DATABASE_STATEMENT_TIMEOUT_MS": "2500",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [
        4,
        1.5,
        "-c statement_timeout=2500",
    ]


@pytest.fixture
def redis_away(settings):
    """Parley's presence store and rate limiter pointed at a closed port."""
    health.reset()
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    yield
    health.reset()


@pytest.mark.usefixtures("redis_away")
def test_without_redis_the_rate_limit_holds_per_process_and_warns_once(
    caplog, fake_clock, settings
):
    caplog.set_level(logging.WARNING, logger="messaging.realtime.health")
    user_id = uuid.uuid4()
    for _ in range(settings.PARLEY["SEND_BURST"]):
        ratelimit.take_sync(user_id)
    with pytest.raises(RateLimited):
        ratelimit.take_sync(user_id)
    fake_clock.advance(1 / settings.PARLEY["SEND_RATE_PER_SECOND"])
    ratelimit.take_sync(user_id)
    warnings = [r for r in caplog.records if "unreachable" in r.getMessage()]
    assert len(warnings) == 1
    assert not health.live()


@pytest.mark.django_db
@pytest.mark.usefixtures("redis_away")
def test_without_redis_presence_is_unknown(student):
    states = presence.statuses_sync([student.pk])
    assert states[str(student.pk)]["status"] == presence.UNKNOWN


def test_the_channel_layer_is_the_pubsub_layer_made_resilient():
    from channels_redis.pubsub import RedisPubSubChannelLayer
    from django.utils.module_loading import import_string

    backend = import_string(settings.CHANNEL_LAYERS["default"]["BACKEND"])
    # Still channels-redis's pub/sub layer: no per-channel capacity that
    # drops events under load (DESIGN.md).
    assert issubclass(backend, RedisPubSubChannelLayer)
