"""Parley's ASGI application with one fault injected, for tests that need a
consumer to die the way a bug kills one: the text frame ``CRASH`` raises
out of the consumer, so Channels never runs ``disconnect()`` and daphne
drops the socket (close code 1011)."""

from config.asgi import application
from messaging.realtime.consumers import ChatConsumer

CRASH = "CRASH"


class InjectedCrash(Exception):
    pass


_receive = ChatConsumer.receive


async def _crashing_receive(self, text_data=None, bytes_data=None):
    if text_data == CRASH:
        raise InjectedCrash("a consumer bug, injected by the test")
    return await _receive(self, text_data=text_data, bytes_data=bytes_data)


ChatConsumer.receive = _crashing_receive

__all__ = ["application"]
