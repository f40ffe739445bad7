from django.urls import path, re_path

from messaging.realtime.consumers import ChatConsumer


async def no_such_socket(scope, receive, send):
    """A WebSocket handshake to any other path is refused (HTTP 403), as a
    foreign origin is, rather than failing the router ("No route found"),
    which answered 500 and logged a traceback for every such handshake."""
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close"})


websocket_urlpatterns = [
    path("ws/", ChatConsumer.as_asgi()),
    re_path(r"", no_such_socket),
]
