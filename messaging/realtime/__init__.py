"""The real-time part of messaging: the ``/ws/`` consumer and its routing,
live presence, typing and rate limits. It parses frames and relays events;
every write goes through ``messaging.services`` and every event through
``messaging.events``.

- ``consumers``, ``routing``: the socket endpoint (docs/protocol.md).
- ``backends``: the store of presence entries and rate-limit buckets,
  Redis or memory, chosen once per process.
- ``presence``: a socket's status changes, reads, and announcing changes.
- ``maintenance``: the per-process heartbeat and sweep.
- ``typing``: a socket's typing indicators and their throttle.
- ``ratelimit``: the per-user send bucket, for the socket and the REST API.
- ``clock``: the time all of these read, replaceable in tests.
- ``selectors``: the reads presence needs.
"""
