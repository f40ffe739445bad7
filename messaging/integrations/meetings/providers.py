"""Video-call providers behind one interface (``MeetingProvider``): make a
room name, make sure the room exists when someone joins, and make one
person's join URL. ``configured()`` is the provider the settings name
(``PARLEY_MEETINGS["PROVIDER"]``).

* ``jitsi``: any Jitsi Meet server. A server that requires tokens
  (``JITSI_APP_ID`` and ``JITSI_SECRET`` set) gets a JWT per person in the
  join URL, as Jitsi's token authentication documents it.
* ``bigbluebutton``: the BigBlueButton API's checksum-signed ``create``
  and ``join`` calls. ``create`` is an HTTP call to the BBB server, made
  when someone joins (``prepare``), never when the call is started: a BBB
  outage does not stop the call's message being posted, and since
  ``create`` is idempotent for a running meeting, every join makes sure
  the meeting exists (BBB ends an empty meeting on its own; the next join
  starts it again).
* ``link``: a URL template (``LINK_TEMPLATE``) with ``{room}`` in it, for
  anything else (Zoom, Teams, a fixed room).

A room name is unguessable (128 random bits): on a server without tokens,
knowing the name is what lets someone in.
"""

import hashlib
import hmac
import http.client
import secrets
import time
import urllib.request
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from urllib.parse import quote, urlencode, urlsplit

import jwt
from django.conf import settings
from django.utils.translation import gettext as _

from messaging.errors import MessagingError, ServiceUnavailable

# The BBB server's answer to create is a short XML document.
BBB_MAX_RESPONSE_BYTES = 64 * 1024
BBB_CHECKSUMS = ("sha1", "sha256", "sha384", "sha512")


class MeetingsOff(MessagingError):
    """Video calls are not set up on this server (no provider, or one
    missing what it needs)."""

    code = "meetings_off"
    http_status = 409


@dataclass(frozen=True)
class Participant:
    """Who joins, as the provider is told: ``moderator`` for the person
    who started the call."""

    id: str
    name: str
    email: str
    moderator: bool


@dataclass(frozen=True)
class Room:
    """A meeting as a provider sees it."""

    name: str
    title: str
    starts_at: datetime
    duration_minutes: int


class MeetingProvider(Protocol):
    name: str

    def new_room_name(self) -> str:
        """An unguessable room name (or meeting id) for a new call."""
        ...

    def prepare(self, room: Room) -> None:
        """Make sure the room exists on the provider before someone joins
        (an HTTP call for BigBlueButton; nothing for the others). Raises
        ``ServiceUnavailable`` when the provider does not answer in time."""
        ...

    def join_url(self, room: Room, person: Participant) -> str:
        """The URL that takes ``person`` into ``room``."""
        ...


def new_room_name() -> str:
    # Lower-case letters and digits only: every provider takes them as they
    # are (Jitsi lower-cases room names).
    return f"parley{secrets.token_hex(16)}"


def _settings() -> dict:
    return settings.PARLEY_MEETINGS


# --- Jitsi Meet -------------------------------------------------------------


class JitsiProvider:
    """A Jitsi Meet server at ``url``. With ``app_id`` and ``secret`` the
    server checks tokens: each join URL carries ``?jwt=`` signed with
    HS256, whose claims are those of Jitsi's token authentication (``aud``
    "jitsi", ``iss`` the app id, ``sub`` the server's domain, ``room``,
    ``exp``, and ``context.user`` with the person's name, email, id and
    ``moderator``). Without them, the name is passed in the URL's fragment
    (``#userInfo.displayName``), which never reaches the server."""

    name = "jitsi"

    def __init__(self, *, url: str, app_id: str = "", secret: str = ""):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise MeetingsOff(_("Video calls are not set up: the Jitsi server's URL is invalid."))
        self.url = url.rstrip("/")
        self.domain = parts.hostname
        self.app_id = app_id
        self.secret = secret

    @property
    def uses_tokens(self) -> bool:
        return bool(self.app_id and self.secret)

    def new_room_name(self) -> str:
        return new_room_name()

    def prepare(self, room: Room) -> None:
        """A Jitsi room exists as soon as someone opens it."""

    def token(self, room: Room, person: Participant) -> str:
        """The person's JWT for ``room``: valid until the planned end of the
        call plus its length again (late joiners), at least an hour from
        now."""
        now = int(time.time())
        planned_end = room.starts_at + timedelta(minutes=2 * room.duration_minutes)
        expires = max(int(planned_end.timestamp()), now + 3600)
        claims = {
            "aud": "jitsi",
            "iss": self.app_id,
            "sub": self.domain,
            "room": room.name,
            "iat": now,
            "nbf": now - 60,
            "exp": expires,
            "context": {
                "user": {
                    "id": person.id,
                    "name": person.name,
                    "email": person.email,
                    # As Jitsi documents it: the string "true" or "false".
                    "moderator": "true" if person.moderator else "false",
                }
            },
        }
        return jwt.encode(claims, self.secret, algorithm="HS256")

    def join_url(self, room: Room, person: Participant) -> str:
        base = f"{self.url}/{quote(room.name, safe='')}"
        if self.uses_tokens:
            return f"{base}?{urlencode({'jwt': self.token(room, person)})}"
        # Jitsi reads its settings from the fragment as JSON values.
        display_name = quote(f'"{person.name}"', safe="")
        return f"{base}#userInfo.displayName={display_name}"


# --- BigBlueButton ----------------------------------------------------------


def bbb_checksum(call: str, query: str, secret: str, algorithm: str = "sha1") -> str:
    """The BBB API's checksum: the hex digest of the call's name, its query
    string (as sent, without ``checksum``) and the shared secret, one after
    the other."""
    return hashlib.new(algorithm, f"{call}{query}{secret}".encode()).hexdigest()


class BigBlueButtonProvider:
    """A BigBlueButton server's API at ``url`` (ending in
    ``/bigbluebutton/api/``). The server is the operator's own choice and
    trusted: it is called at any address, private ones included, with a
    timeout and a size limit on its answer."""

    name = "bigbluebutton"

    def __init__(self, *, url: str, secret: str, checksum: str = "sha1", timeout: float = 5.0):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname or not secret:
            raise MeetingsOff(
                _("Video calls are not set up: BigBlueButton needs its API URL and secret.")
            )
        if checksum not in BBB_CHECKSUMS:
            raise MeetingsOff(
                _("Video calls are not set up: unknown BigBlueButton checksum %(name)s.")
                % {"name": checksum}
            )
        self.url = url if url.endswith("/") else f"{url}/"
        self.secret = secret
        self.checksum = checksum
        self.timeout = timeout

    def new_room_name(self) -> str:
        return new_room_name()

    def passwords(self, room: Room) -> tuple[str, str]:
        """The meeting's (attendee, moderator) passwords: derived from the
        secret and the room, so they need no storing and nobody can work
        them out. Servers before BBB 2.4 tell roles apart by them; later
        ones read ``role``."""
        key = self.secret.encode()
        attendee = hmac.new(key, f"attendee:{room.name}".encode(), hashlib.sha256).hexdigest()
        moderator = hmac.new(key, f"moderator:{room.name}".encode(), hashlib.sha256).hexdigest()
        return attendee[:32], moderator[:32]

    def signed_url(self, call: str, params: dict[str, str]) -> str:
        """The URL of API call ``call`` with ``params`` and its checksum."""
        query = urlencode(params)
        checksum = bbb_checksum(call, query, self.secret, self.checksum)
        return f"{self.url}{call}?{query}&checksum={checksum}"

    def create_url(self, room: Room) -> str:
        attendee, moderator = self.passwords(room)
        return self.signed_url(
            "create",
            {
                "meetingID": room.name,
                "name": room.title or room.name,
                "attendeePW": attendee,
                "moderatorPW": moderator,
            },
        )

    def prepare(self, room: Room) -> None:
        """Call ``create`` on the BBB server: a new meeting, or the running
        one (BBB answers SUCCESS for both). No answer within the timeout, a
        refused connection, or an answer that is not SUCCESS is
        ``ServiceUnavailable``."""
        refusal = _("The video call server did not answer; try again shortly.")
        deadline = time.monotonic() + self.timeout
        try:
            with urllib.request.urlopen(  # noqa: S310 - the operator's own BBB server
                self.create_url(room), timeout=self.timeout
            ) as response:
                body = _read_until(response, deadline)
        except (OSError, http.client.HTTPException):
            raise ServiceUnavailable(refusal, retry_after=10) from None
        try:
            # The operator's own server, its answer size-limited (_read_until).
            answer = ElementTree.fromstring(body)  # noqa: S314
        except ElementTree.ParseError:
            raise ServiceUnavailable(refusal, retry_after=10) from None
        if (answer.findtext("returncode") or "").strip() != "SUCCESS":
            raise ServiceUnavailable(
                _("The video call server refused to start the call."), retry_after=10
            )

    def join_url(self, room: Room, person: Participant) -> str:
        attendee, moderator = self.passwords(room)
        return self.signed_url(
            "join",
            {
                "meetingID": room.name,
                "fullName": person.name,
                "role": "MODERATOR" if person.moderator else "VIEWER",
                "password": moderator if person.moderator else attendee,
                "userID": person.id,
                "redirect": "true",
            },
        )


def _read_until(response, deadline: float) -> bytes:
    """The body, at most ``BBB_MAX_RESPONSE_BYTES``, read before
    ``deadline`` (each read also waits at most the socket's timeout: a
    server that trickles is cut off)."""
    chunks: list[bytes] = []
    size = 0
    while size <= BBB_MAX_RESPONSE_BYTES:
        if time.monotonic() > deadline:
            raise TimeoutError("the BBB server is too slow")
        chunk = response.read1(8192)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
        size += len(chunk)
    raise OSError("the BBB server's answer is too large")


# --- A link template ----------------------------------------------------------


class LinkProvider:
    """A URL template for anything else: ``{room}`` becomes the room name
    (nothing else is substituted). A template without ``{room}`` is one
    fixed room for every call."""

    name = "link"

    def __init__(self, *, template: str):
        parts = urlsplit(template.replace("{room}", "room"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise MeetingsOff(
                _("Video calls are not set up: the meeting link template is not an http(s) URL.")
            )
        self.template = template

    def new_room_name(self) -> str:
        return new_room_name()

    def prepare(self, room: Room) -> None:
        """Nothing to create."""

    def join_url(self, room: Room, person: Participant) -> str:
        return self.template.replace("{room}", quote(room.name, safe=""))


# --- Choosing one ---------------------------------------------------------------

PROVIDER_NAMES = ("jitsi", "bigbluebutton", "link")


def by_name(name: str) -> MeetingProvider:
    """The provider ``name`` as the settings configure it; ``MeetingsOff``
    when there is none, or it lacks what it needs."""
    config = _settings()
    if name == "jitsi":
        return JitsiProvider(
            url=config["JITSI_URL"], app_id=config["JITSI_APP_ID"], secret=config["JITSI_SECRET"]
        )
    if name == "bigbluebutton":
        return BigBlueButtonProvider(
            url=config["BBB_URL"],
            secret=config["BBB_SECRET"],
            checksum=config["BBB_CHECKSUM"],
            timeout=config["BBB_TIMEOUT_SECONDS"],
        )
    if name == "link":
        return LinkProvider(template=config["LINK_TEMPLATE"])
    raise MeetingsOff(_("Video calls are not set up on this server."))


def configured() -> MeetingProvider:
    """The provider new calls use (``PARLEY_MEETINGS["PROVIDER"]``)."""
    return by_name(_settings()["PROVIDER"].strip().lower())


def enabled() -> bool:
    """Whether calls can be started here (the call button's question)."""
    try:
        configured()
    except MeetingsOff:
        return False
    return True
