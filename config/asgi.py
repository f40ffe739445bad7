"""ASGI entry point: HTTP to Django, WebSockets to the Parley consumer.

Follows the Channels example, with the origin check comparing the whole
origin (scheme, host and port; ``config.origins``), then the session
identifies the user (or, with the database unreachable, the socket is
told to try again later).
"""

import gc
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from config.origins import SameOriginValidator  # noqa: E402
from messaging.realtime.guard import DatabaseFaultGuard  # noqa: E402
from messaging.realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": SameOriginValidator(
            # A database fault while loading the session answers close 4503.
            DatabaseFaultGuard(AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))
        ),
    }
)

# Everything loaded so far (Django, the apps, their modules: ~145,000
# objects) lives as long as the process. Moved out of the collector's reach,
# a full collection no longer walks it: the tail of every request and every
# socket's event gets shorter (docs/benchmarks.md, the read path).
gc.freeze()
