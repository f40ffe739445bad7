"""Two reference servers that speak the minimal relay protocol.

Relay protocol (JSON text frames):

* client → server ``{"type": "join", "rooms": ["r1", ...]}``; the server
  answers ``{"type": "joined", "rooms": [...]}``.
* client → server ``{"type": "send", "room": "r1", "body": "..."}``; every
  member of the room, on every server process, the sender included, gets
  ``{"type": "msg", "room": "r1", "body": "..."}``.
* client → server ``{"type": "ping"}`` (the heartbeat of idle sockets);
  the server answers ``{"type": "pong"}``.

``limit`` is the ceiling (raw ``websockets`` + Redis pub/sub, no framework);
``peer`` is what the Channels tutorial builds (daphne + channels-redis's
default layer, one group per room).
"""
