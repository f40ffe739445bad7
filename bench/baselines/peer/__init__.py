"""The ``peer`` baseline: the Channels tutorial's chat, speaking the relay
protocol. One group per room, ``group_send`` through channels-redis's default
``RedisChannelLayer``, served by daphne; no storage, no auth.

Run: ``DJANGO_SETTINGS_MODULE=bench.baselines.peer.settings
python -m daphne -p 9001 bench.baselines.peer.asgi:application``
"""
