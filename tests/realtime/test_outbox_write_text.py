"""The outbox and the server's ``parley.write_text`` extension
(``config.asgi_extensions``): a frame with nothing queued before it is
written at once; anything else keeps the outbox's order and bound. (On a
real uvicorn server: ``test_hub``'s stalled reader, closed with 4008 because
the extension declines while the transport's buffer is full.)"""

import asyncio

import pytest
from websockets.frames import Frame, Opcode

from config.uvicorn_websockets import text_frame_header
from messaging.realtime.outbox import Outbox

LIMIT = 1000


@pytest.mark.parametrize("length", [0, 1, 125, 126, 65535, 65536, 70000])
def test_the_header_is_the_one_websockets_writes(length):
    payload = b"x" * length
    assert text_frame_header(length) + payload == Frame(Opcode.TEXT, payload).serialize(mask=False)


class Server:
    """The server's side of one socket: what ``write_text`` wrote at once,
    and what ``send`` wrote (``send`` waits while ``blocked`` is clear)."""

    def __init__(self) -> None:
        self.written: list[str] = []
        self.accepting = True
        self.blocked = asyncio.Event()
        self.blocked.set()

    def write_text(self, text: str) -> bool:
        if self.accepting:
            self.written.append(f"now:{text}")
        return self.accepting

    async def send(self, message: dict) -> None:
        await self.blocked.wait()
        self.written.append(f"send:{message.get('text', message.get('code'))}")


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_frame_with_nothing_before_it_is_written_at_once():
    server = Server()
    outbox = Outbox(server.send, server.write_text)
    outbox.release()
    assert outbox.put_live("a", 1, LIMIT)
    await outbox.reply("b")
    assert server.written == ["now:a", "now:b"]
    assert outbox.live_bytes == 0
    assert outbox._writer is None and outbox._frames is None


async def test_frames_held_back_follow_the_replies():
    server = Server()
    outbox = Outbox(server.send, server.write_text)  # held until the hello
    assert outbox.put_live("live", 4, LIMIT)
    await outbox.reply("hello")
    assert server.written == ["now:hello"]
    outbox.release()
    await settle()
    assert server.written == ["now:hello", "send:live"]


async def test_a_declined_frame_is_queued_and_what_follows_keeps_its_place():
    server = Server()
    outbox = Outbox(server.send, server.write_text)
    outbox.release()
    server.accepting = False  # the transport's buffer is full
    server.blocked.clear()
    assert outbox.put_live("first", 5, LIMIT)
    await settle()
    server.accepting = True  # room again, but "first" is still queued
    assert outbox.put_live("second", 6, LIMIT)
    assert outbox.live_bytes == 11
    server.blocked.set()
    await settle()
    assert server.written == ["send:first", "send:second"]
    assert outbox.live_bytes == 0
    assert outbox.put_live("third", 5, LIMIT)
    assert server.written[-1] == "now:third"


async def test_a_declined_frame_counts_towards_the_bound():
    server = Server()
    outbox = Outbox(server.send, server.write_text)
    outbox.release()
    server.accepting = False
    server.blocked.clear()
    assert outbox.put_live("x" * 600, 600, LIMIT)
    assert not outbox.put_live("y" * 600, 600, LIMIT)  # past the bound: the owner closes
    outbox.abandon(4008)
    server.blocked.set()
    await settle()
    assert server.written == ["send:4008"]


async def test_without_the_extension_every_frame_goes_through_send():
    server = Server()
    outbox = Outbox(server.send)
    outbox.release()
    assert outbox.put_live("a", 1, LIMIT)
    await outbox.reply("b")
    assert server.written == ["send:a", "send:b"]


async def test_nothing_is_written_after_a_close():
    server = Server()
    outbox = Outbox(server.send, server.write_text)
    outbox.release()
    outbox.close(1000)
    assert outbox.put_live("late", 4, LIMIT)
    await outbox.reply("late reply")
    await settle()
    assert server.written == ["send:1000"]
