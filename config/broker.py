"""Queueing Celery tasks through the broker's Redis circuit
(``config.redis_circuit``).

A publish to a Redis that does not answer waits out its socket timeout
(and kombu's publish retries): about four seconds each on a slow Redis, in
the request or socket that sent a message, once for every task it queued.
Through the circuit only the first publish after a failure waits; the next
ones fail at once until a trial call finds the server back. Callers log a
failed publish and go on (what the task would have done has a sweep behind
it, or is lost as the docs say: a preview, a nudge).

A broker that is not Redis (the embedded profile's filesystem transport)
is published to directly.
"""

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext

import redis
from celery import Task
from kombu.exceptions import OperationalError

from config.redis_circuit import circuit_for

# What a publish to a Redis that is away raises: kombu wraps the client's
# connection errors in its OperationalError; the circuit's CircuitOpen is an
# OSError.
PUBLISH_FAULTS = (OperationalError, redis.ConnectionError, redis.TimeoutError, OSError)


@contextmanager
def guarded(task: Task) -> Iterator[None]:
    """Publish ``task``'s messages inside this block through the circuit of
    its broker's Redis server."""
    url = str(task.app.conf.broker_url or "")
    if not url.startswith(("redis://", "rediss://")) or task.app.conf.task_always_eager:
        with nullcontext():
            yield
        return
    with circuit_for(url).guarded(PUBLISH_FAULTS):
        yield


def send(task: Task, *args, **options):
    """``task.apply_async(args, **options)`` through the broker's circuit."""
    with guarded(task):
        return task.apply_async(args=args, **options)
