"""Fault tests: real server processes whose PostgreSQL or Redis fails under
them, and consumers that die without cleaning up."""

import asyncio
import json
import urllib.error
import urllib.request

import pytest
from asgiref.sync import sync_to_async
from rest_framework.authtoken.models import Token

from tests.realtime.conftest import (  # noqa: F401 - fixtures shared with the socket tests
    _fresh_presence,
    fake_clock,
    open_socket,
    session_cookie,
)

orm = sync_to_async


class HttpAnswer:
    def __init__(self, status: int, headers, body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self) -> dict:
        return json.loads(self.body)


def _http(method: str, url: str, headers: dict, body: bytes | None, timeout: float) -> HttpAnswer:
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 - local test server
            return HttpAnswer(answer.status, answer.headers, answer.read())
    except urllib.error.HTTPError as error:
        return HttpAnswer(error.code, error.headers, error.read())


async def http(
    method: str, url: str, *, token: str | None = None, data: dict | None = None, timeout=60
) -> HttpAnswer:
    """One HTTP request from outside, as an API client makes it."""
    headers = {"Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    body = None
    if data is not None:
        body = json.dumps(data).encode()
        headers["Content-Type"] = "application/json"
    return await asyncio.to_thread(_http, method, url, headers, body, timeout)


def api_token(user) -> str:
    return Token.objects.get_or_create(user=user)[0].key


@pytest.fixture
def token_of():
    return orm(api_token)


@pytest.fixture
def cookie_of():
    return orm(session_cookie)
