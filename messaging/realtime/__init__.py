"""The real-time part of messaging: the ``/ws/`` consumer and its routing,
live presence, rate limits and the Redis clients they share. It parses
frames and relays events; every write goes through ``messaging.services``."""
