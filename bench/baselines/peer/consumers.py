"""The tutorial's room consumer, joining any number of rooms."""

import json

from channels.generic.websocket import AsyncWebsocketConsumer


class RelayConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        self.rooms: list[str] = []
        await self.accept()

    async def disconnect(self, code):
        for room in self.rooms:
            await self.channel_layer.group_discard(room, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        try:
            frame = json.loads(text_data)
            kind = frame["type"]
        except (ValueError, KeyError, TypeError):
            await self.send(text_data='{"type":"error","code":"bad_frame"}')
            return
        if kind == "send":
            room = frame.get("room")
            if room not in self.rooms:
                await self.send(text_data='{"type":"error","code":"not_joined"}')
                return
            await self.channel_layer.group_send(
                room, {"type": "chat.message", "room": room, "body": frame.get("body")}
            )
        elif kind == "join":
            for room in frame.get("rooms", []):
                if isinstance(room, str) and room not in self.rooms:
                    await self.channel_layer.group_add(room, self.channel_name)
                    self.rooms.append(room)
            await self.send(text_data=json.dumps({"type": "joined", "rooms": self.rooms}))
        elif kind == "ping":
            await self.send(text_data='{"type":"pong"}')
        else:
            await self.send(text_data='{"type":"error","code":"unknown_type"}')

    async def chat_message(self, event):
        await self.send(
            text_data=json.dumps({"type": "msg", "room": event["room"], "body": event["body"]})
        )
