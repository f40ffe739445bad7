# The socket fixtures of tests/realtime: real sessions, the real ASGI stack,
# presence cleared between tests.
from tests.realtime.conftest import _fresh_presence, open_socket  # noqa: F401
