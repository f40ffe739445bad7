"""The Redis circuit (config.redis_circuit) against a real redis-server:
after a call fails the next ones fail at once, without touching the
network; once the wait is over one call tries again, and its answer closes
the circuit. Presence and rate limits (the store) and the cache share the
circuit of the server they use."""

import pytest
from django.core.cache import caches

from config import redis_circuit
from config.redis_circuit import Circuit, CircuitOpen
from messaging.realtime.backends import StoreUnavailable
from messaging.realtime.backends.redis import RedisRateLimiter
from tests.faults.redis_server import PrivateRedis

pytestmark = [pytest.mark.services]


def test_after_a_failure_calls_fail_at_once_until_one_tries_again():
    circuit = Circuit("redis://example.test:1", retry_seconds=3600)
    circuit.check()  # closed: the call goes
    circuit.failed()
    with pytest.raises(CircuitOpen):
        circuit.check()
    # With no wait after a failure, the next call is at once the trial...
    circuit = Circuit("redis://example.test:2", retry_seconds=0)
    circuit.failed()
    circuit.check()
    with pytest.raises(CircuitOpen):
        circuit.check()  # ...and the others fail at once while it runs
    circuit.succeeded()
    circuit.check()


def test_one_circuit_per_server_whatever_the_database():
    assert redis_circuit.circuit_for("redis://h:6379/1") is redis_circuit.circuit_for(
        "redis://h:6379/6"
    )
    assert redis_circuit.circuit_for("redis://h:6379/1") is not redis_circuit.circuit_for(
        "redis://h:6380/1"
    )


async def test_a_stopped_redis_is_waited_for_once_then_the_store_and_cache_fail_at_once(settings):
    server = PrivateRedis()
    try:
        settings.CACHES = {
            "default": {
                "BACKEND": "config.cache.ProcessRedisCache",
                "LOCATION": server.url,
                "OPTIONS": {"socket_timeout": 2, "socket_connect_timeout": 2},
            }
        }
        limiter = RedisRateLimiter(server.url, "circuit-test")
        await limiter.take("someone")
        server.kill()
        with pytest.raises(StoreUnavailable):
            await limiter.take("someone")  # tried, refused: the circuit opens
        assert redis_circuit.circuit_for(server.url).is_open
        with pytest.raises(StoreUnavailable, match="failed moments ago"):
            await limiter.take("someone")
        with pytest.raises(CircuitOpen):
            caches["default"].get("anything")  # the same server's circuit
        server.start()
        redis_circuit.circuit_for(server.url).succeeded()  # as the probe does
        await limiter.take("someone")
        assert caches["default"].get("anything") is None
    finally:
        redis_circuit.reset()
        server.stop()


def test_after_a_failed_publish_the_next_tasks_fail_at_once_without_the_network():
    """Queueing a task (config.broker) goes through the broker's circuit:
    with the broker's Redis killed, the first publish tries and fails, the
    next fail at once (CircuitOpen: no connection made) until a trial call
    finds the server back, which closes the circuit again."""
    from celery import Celery

    from config import broker
    from config.redis_circuit import circuit_for

    server = PrivateRedis()
    app = Celery("circuit-test", broker=server.url, set_as_current=False)
    app.conf.broker_connection_timeout = 2
    app.conf.broker_transport_options = {"socket_timeout": 2, "socket_connect_timeout": 2}
    app.conf.task_publish_retry_policy = {"max_retries": 0}

    @app.task(name="circuit_test.noop", shared=False)
    def noop():
        """Never run: only queued."""

    try:
        broker.send(noop)
        server.kill()
        with pytest.raises(broker.PUBLISH_FAULTS) as first:
            broker.send(noop)
        assert not isinstance(first.value, CircuitOpen)  # this one tried
        assert circuit_for(server.url).is_open
        with pytest.raises(CircuitOpen):
            broker.send(noop)
        server.start()
        circuit_for(server.url).succeeded()  # as the trial call after the wait would
        broker.send(noop)
    finally:
        server.stop()
        app.close()
