from django.urls import path, re_path

from messaging.realtime.consumers import ChatConsumer

SOCKET_PATH = "/ws/"


async def no_such_socket(scope, receive, send):
    """A WebSocket handshake to any other path is refused (HTTP 403), as a
    foreign origin is, rather than failing the router ("No route found"),
    which answered 500 and logged a traceback for every such handshake."""
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close"})


def on_its_own_path(app):
    """``app`` for ``/ws/`` exactly: Channels' router strips every leading
    slash before it matches, so ``//ws/`` reached the consumer too."""

    async def only_there(scope, receive, send):
        path_below_root = scope["path"][len(scope.get("root_path", "")) :]
        if path_below_root != SOCKET_PATH:
            return await no_such_socket(scope, receive, send)
        return await app(scope, receive, send)

    return only_there


websocket_urlpatterns = [
    path("ws/", on_its_own_path(ChatConsumer.as_asgi())),
    re_path(r"", no_such_socket),
]
