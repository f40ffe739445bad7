"""ASGI entry point: HTTP to Django, WebSockets to the Parley consumer.

Follows the Channels example, with one handshake layer in place of its
origin check and auth stack (``messaging.realtime.handshake``): the origin
compared whole (scheme, host and port; ``config.origins``), then the
session identifies the user (or, with the database unreachable, the socket
is told to try again later).
"""

import gc
import os
import sys

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import get_resolver  # noqa: E402

from messaging.realtime.handshake import SocketHandshake  # noqa: E402
from messaging.realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # The origin, the session's user (or close 4503 while the database
        # cannot say), then the consumer (messaging.realtime.handshake).
        "websocket": SocketHandshake(URLRouter(websocket_urlpatterns)),
    }
)

# Every view module, now rather than on the first request (which would
# wait a third of a second or more for them), and so under gc.freeze too.
get_resolver().url_patterns  # noqa: B018 - loading them is the point

# Everything loaded so far (Django, the apps, their modules: ~145,000
# objects) lives as long as the process. Moved out of the collector's reach,
# a full collection no longer walks it: the tail of every request and every
# socket's event gets shorter (docs/benchmarks.md, the read path).
gc.freeze()

# A send's database thread needs the GIL again after each round trip (its
# rate check, the cache, the statement); the event loop, busy writing
# frames, gives it up only every switch interval (5 ms by default), so each
# trip could wait that long behind it. At 1 ms the 20 x 10 bench's p99 at
# 2,000 deliveries/s went from 28-31 to 9-19 ms, CPU unchanged
# (docs/benchmarks.md, "6 December").
sys.setswitchinterval(0.001)
