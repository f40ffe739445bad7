"""The API client and socket helpers of tests/api and tests/realtime."""

from tests.api.conftest import api, send  # noqa: F401
from tests.realtime.conftest import _fresh_presence, open_socket  # noqa: F401
