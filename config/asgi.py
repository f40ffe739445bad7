"""ASGI entry point: HTTP to Django, WebSockets to the Parley consumer.

Follows the Channels example, with one handshake layer in place of its
origin check and auth stack (``messaging.realtime.handshake``): the origin
compared whole (scheme, host and port; ``config.origins``), then the
session identifies the user (or, with the database unreachable, the socket
is told to try again later).
"""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

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

# Everything loaded so far (Django, the apps, their modules: ~145,000
# objects) lives as long as the process. Moved out of the collector's reach,
# a full collection no longer walks it: the tail of every request and every
# socket's event gets shorter (docs/benchmarks.md, the read path).
gc.freeze()
