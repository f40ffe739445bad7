"""One call of an OpenAI-compatible chat-completions endpoint
(``POST {AI_BASE_URL}/chat/completions``), with the standard library only.

The call:

* goes only where ``AI_BASE_URL`` points, and only if every address its host
  resolves to is public (``messaging.threads.net.is_public_address``) or on
  the ``AI_ALLOW`` list (``net.AllowList``: hosts, addresses, CIDR ranges);
  it connects to the address it checked, never resolving again, with SNI
  and the certificate checked against the configured host for https (the
  link previews' and webhooks' resolver, watchdog and pinned connection:
  ``net.resolve``, ``net.Watchdog``, ``net.open_connection``);
* waits at most ``AI_TIMEOUT_SECONDS`` to connect and for each next bytes
  (the headers, every streamed chunk), and at most
  ``AI_TOTAL_TIMEOUT_SECONDS`` for the whole call: a watchdog shuts the
  socket at that deadline, so an endpoint trickling bytes cannot stretch it;
* asks for a stream (``stream: true``, server-sent events ``data: {…}``
  ending with ``data: [DONE]``) unless ``AI_STREAM`` is ``off``, and reads
  whichever answer comes: a ``text/event-stream`` chunk by chunk (each piece
  of text handed to ``on_text`` as it arrives), or one JSON completion.

Anything else raises ``CallFailed`` with a ``code``: ``refused`` (the
address rule), ``timeout``, ``status`` (an answer other than 200),
``malformed`` (an answer that is not a completion), ``connection``.
"""

import http.client
import json
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from messaging.threads import net
from messaging.threads.net import AllowList, IPAddress, is_public_address

USER_AGENT = "ParleyAssistant/1.0"
# An answer larger than this is not a chat completion we can post.
MAX_RESPONSE_BYTES = 2 * 1024 * 1024
PORTS = {"http": 80, "https": 443}


class CallFailed(Exception):
    """The endpoint gave no usable answer; ``code`` says why (module doc)."""

    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Completion:
    text: str
    streamed: bool
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(frozen=True)
class Endpoint:
    """Where and how the assistant calls (the settings, read once per call)."""

    base_url: str
    model: str
    api_key: str
    timeout: float
    total_timeout: float
    stream: str  # auto, on, off
    allowed: AllowList

    @classmethod
    def from_settings(cls) -> "Endpoint | None":
        """The configured endpoint, or None when the assistant is off."""
        if not settings.AI_BASE_URL:
            return None
        return cls(
            base_url=settings.AI_BASE_URL,
            model=settings.AI_MODEL,
            api_key=settings.AI_API_KEY,
            timeout=settings.AI_TIMEOUT_SECONDS,
            total_timeout=settings.AI_TOTAL_TIMEOUT_SECONDS,
            stream=settings.AI_STREAM,
            allowed=AllowList.parse(settings.AI_ALLOW),
        )


# getaddrinfo has no timeout of its own: it runs here and is waited for only
# as long as the call may take.
def checked_address(host: str, port: int, *, allowed: AllowList, timeout: float) -> IPAddress:
    """The address to connect to for ``host``: every address it resolves to
    must be public or allowed (``CallFailed("refused")`` otherwise)."""
    try:
        addresses = net.resolve(host, port, timeout=timeout)
    except net.Refused as refused:
        if refused.code == "timeout":
            raise CallFailed("timeout", "The endpoint's name did not resolve in time.") from None
        raise CallFailed("connection", "The endpoint's name does not resolve.") from None
    for address in addresses:
        if not (is_public_address(address) or allowed.allows(host, address)):
            raise CallFailed(
                "refused",
                "The endpoint is on a private or local address that AI_ALLOW does not name.",
            )
    return addresses[0]


def complete(
    endpoint: Endpoint,
    messages: list[dict],
    *,
    max_tokens: int,
    on_text: Callable[[str], None] | None = None,
) -> Completion:
    """Ask ``endpoint`` for the next assistant message after ``messages``
    (``[{"role": …, "content": …}]``). ``on_text`` receives the text so far
    each time a streamed chunk adds some (the full text at the end either
    way is the returned ``Completion.text``). Raises ``CallFailed``."""
    parts = urlsplit(endpoint.base_url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".").lower()
    if scheme not in PORTS or not host:
        raise CallFailed("connection", "AI_BASE_URL is not an http(s) URL.")
    port = parts.port or PORTS[scheme]
    path = (parts.path.rstrip("/") or "") + "/chat/completions"
    body: dict = {
        "messages": messages,
        "max_tokens": max_tokens,
        "stream": endpoint.stream != "off",
    }
    if endpoint.model:
        body["model"] = endpoint.model
    headers = {
        "Host": host if port == PORTS[scheme] else f"{host}:{port}",
        "User-Agent": USER_AGENT,
        "Content-Type": "application/json",
        "Accept": "text/event-stream, application/json",
        "Accept-Encoding": "identity",
        "Connection": "close",
    }
    if endpoint.api_key:
        headers["Authorization"] = f"Bearer {endpoint.api_key}"
    deadline = net.Deadline(endpoint.total_timeout)
    watchdog = net.Watchdog(deadline)
    connection = None
    try:
        address = checked_address(
            host,
            port,
            allowed=endpoint.allowed,
            timeout=min(endpoint.timeout, endpoint.total_timeout),
        )
        connection = net.open_connection(
            scheme=scheme,
            address=address,
            port=port,
            server_name=host,
            watchdog=watchdog,
            timeout=endpoint.timeout,
        )
        connection.request("POST", path, body=json.dumps(body).encode(), headers=headers)
        response = connection.getresponse()
        if response.status != 200:
            raise CallFailed("status", f"The endpoint answered {response.status}.")
        media_type = (response.getheader("Content-Type") or "").split(";")[0].strip().lower()
        if media_type == "text/event-stream":
            completion = _read_stream(response, on_text)
        else:
            completion = _read_json(response)
        if watchdog.fired:
            # The body ended because the watchdog shut the socket.
            raise CallFailed("timeout", "The endpoint did not finish in time.")
        return completion
    except CallFailed as failure:
        if watchdog.fired and failure.code != "timeout":
            # A body cut by the watchdog reads as malformed: it was time.
            raise CallFailed("timeout", "The endpoint did not finish in time.") from None
        raise
    except TimeoutError:
        raise CallFailed("timeout", "The endpoint did not answer in time.") from None
    except (OSError, http.client.HTTPException, ssl.CertificateError, ValueError) as error:
        if watchdog.fired or deadline.passed():
            raise CallFailed("timeout", "The endpoint did not answer in time.") from None
        raise CallFailed("connection", f"The call failed ({type(error).__name__}).") from None
    finally:
        watchdog.cancel()
        if connection is not None:
            connection.close()


def _usage(payload: dict) -> tuple[int | None, int | None]:
    usage = payload.get("usage")
    if not isinstance(usage, dict):
        return None, None

    def count(name: str) -> int | None:
        value = usage.get(name)
        return value if isinstance(value, int) and value >= 0 else None

    return count("prompt_tokens"), count("completion_tokens")


def _read_json(response: http.client.HTTPResponse) -> Completion:
    raw = response.read(MAX_RESPONSE_BYTES + 1)
    if len(raw) > MAX_RESPONSE_BYTES:
        raise CallFailed("malformed", "The answer is too large.")
    try:
        payload = json.loads(raw)
        content = payload["choices"][0]["message"]["content"]
    except (ValueError, RecursionError, KeyError, IndexError, TypeError):
        raise CallFailed("malformed", "The answer is not a chat completion.") from None
    if not isinstance(content, str):
        raise CallFailed("malformed", "The answer has no text.")
    prompt_tokens, completion_tokens = _usage(payload)
    return Completion(
        text=content,
        streamed=False,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
    )


def _read_stream(
    response: http.client.HTTPResponse, on_text: Callable[[str], None] | None
) -> Completion:
    """Server-sent events: ``data: <chunk JSON>`` lines until ``data: [DONE]``
    (or the end of the body). Each chunk's ``choices[0].delta.content`` adds
    to the text; a chunk with ``usage`` gives the token counts."""
    pieces: list[str] = []
    size = 0
    prompt_tokens = completion_tokens = None
    while True:
        line = response.readline(MAX_RESPONSE_BYTES)
        if not line:
            break
        size += len(line)
        if size > MAX_RESPONSE_BYTES:
            raise CallFailed("malformed", "The answer is too large.")
        text = line.decode("utf-8", "replace").strip()
        if not text.startswith("data:"):
            continue  # blank separators, comments, event names
        data = text[5:].strip()
        if data == "[DONE]":
            break
        try:
            chunk = json.loads(data)
            choices = chunk.get("choices") or []
            delta = choices[0].get("delta") or {} if choices else {}
            piece = delta.get("content") or ""
        except (ValueError, RecursionError, AttributeError, TypeError):
            raise CallFailed("malformed", "A streamed chunk is not a completion chunk.") from None
        if not isinstance(piece, str):
            raise CallFailed("malformed", "A streamed chunk's text is not text.")
        prompt, completion = _usage(chunk)
        prompt_tokens = prompt if prompt is not None else prompt_tokens
        completion_tokens = completion if completion is not None else completion_tokens
        if piece:
            pieces.append(piece)
            if on_text is not None:
                on_text("".join(pieces))
    return Completion(
        text="".join(pieces),
        streamed=True,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
    )
