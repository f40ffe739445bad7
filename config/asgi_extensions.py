"""The ASGI scope extension Parley's own uvicorn protocol offers
(``config.uvicorn_websockets``) and the socket's outbox uses
(``messaging.realtime.outbox``).

``scope["extensions"][WRITE_TEXT]`` is a callable ``write(text) -> bool``:
it writes ``text`` as one WebSocket text message at once, without the ASGI
``send``'s coroutine, and returns True; or, when a plain ``send`` must do it
(the handshake not done, the socket closing, the transport asking the
writer to wait, an extension such as compression in use), writes nothing
and returns False. Under daphne or granian the extension is absent and
every frame goes through ``send``.
"""

WRITE_TEXT = "parley.write_text"
