"""The real-time part of messaging: the ``/ws/`` consumer and its routing,
live presence, typing and rate limits. It parses frames and relays events;
every write goes through ``messaging.services`` and every event through
``messaging.events``.

- ``consumers``, ``routing``: the socket endpoint (docs/protocol.md).
- ``hub``: the one subscriber per process: one channel, one subscription per
  group any local socket is in, each event received once and its frame
  handed to the group's local sockets.
- ``outbox``: a socket's frames in the order produced, one writer task while
  any wait, and the send-buffer bound (close 4008).
- ``backends``: the store of presence entries and rate-limit buckets,
  Redis or memory, chosen once per process.
- ``presence``: a socket's status changes, reads, and announcing changes.
- ``maintenance``: the per-process heartbeat, sweep, session re-check and
  live-delivery watch.
- ``health``: whether this process reaches Redis (live delivery degraded).
- ``layer``: the pub/sub channel layer, riding out Redis outages.
- ``database``: database calls from the event loop, faults as ``unavailable``.
- ``handshake``: the origin check and the session's user, or the answer to
  a socket the database cannot serve yet.
- ``typing``: a socket's typing indicators and their throttle.
- ``ratelimit``: the per-user send bucket, for the socket and the REST API.
- ``clock``: the time all of these read, replaceable in tests.
- ``selectors``: the reads presence needs.
"""
