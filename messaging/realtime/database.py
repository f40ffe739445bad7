"""Database calls from the event loop: run in the thread pool, bounded
(``config.database``), and a database fault turned into the retryable
``unavailable`` error (``ServiceUnavailable``) that the socket reports
(docs/protocol.md) instead of ``internal``."""

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from channels.db import database_sync_to_async

from config.database import DATABASE_FAULTS
from messaging.errors import ServiceUnavailable

P = ParamSpec("P")
R = TypeVar("R")


def db(function: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """``function`` as a coroutine function that runs it on the thread pool,
    not on one shared thread, so one slow query does not hold up every socket
    of the process."""
    call = database_sync_to_async(function, thread_sensitive=False)

    @functools.wraps(function)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await call(*args, **kwargs)
        except DATABASE_FAULTS as error:
            raise ServiceUnavailable() from error

    return run
