"""A person using encrypted conversations from Python: the scheme of
``scheme.py`` over the REST API (a DRF token, docs/api.md "Authentication")
and the socket (the session cookie, docs/protocol.md), against a real server
process. Written from docs/e2e.md and the API documents, as a third-party
client would be."""

import contextlib
import json
import os
import time
import uuid
from urllib.parse import urlsplit

import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Origin

from tests.e2e import scheme
from tests.e2e.scheme import CannotDecrypt, DeviceKeys, EnvelopeRefused

WAIT_SECONDS = 20


class ApiError(AssertionError):
    def __init__(self, response: requests.Response):
        self.response = response
        self.status = response.status_code
        try:
            self.body = response.json()
        except ValueError:
            self.body = {"raw": response.text[:500]}
        self.code = (
            (self.body.get("error") or {}).get("code") if isinstance(self.body, dict) else None
        )
        request = response.request
        super().__init__(f"{request.method} {request.url} -> {self.status} {self.body}")


class Socket:
    """One socket of a person: JSON frames, kept until a test asks for them."""

    def __init__(self, ws_url: str, session_cookie: str, cookie_name: str = "sessionid"):
        parts = urlsplit(ws_url)
        origin = f"{'https' if parts.scheme == 'wss' else 'http'}://{parts.netloc}"
        # Entered as a context manager, as websockets asks; closed in close().
        self._context = contextlib.ExitStack()
        self.ws = self._context.enter_context(
            connect(
                ws_url,
                additional_headers={"Cookie": f"{cookie_name}={session_cookie}"},
                origin=Origin(origin),
                open_timeout=10,
            )
        )
        self.unread: list[dict] = []
        self.seen: list[dict] = []
        self.hello = self.wait_for(lambda f: f["type"] == "hello")

    def send(self, frame: dict) -> None:
        self.ws.send(json.dumps(frame))

    def wait_for(self, predicate, timeout: float = WAIT_SECONDS) -> dict:
        """The first frame, already received or still to come, matching;
        the others stay for later."""
        for index, frame in enumerate(self.unread):
            if predicate(frame):
                return self.unread.pop(index)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no such frame came; unread: {self.unread[-10:]}")
            try:
                frame = json.loads(self.ws.recv(timeout=left))
            except TimeoutError:
                continue
            self.seen.append(frame)
            if predicate(frame):
                return frame
            self.unread.append(frame)

    def close(self) -> None:
        with contextlib.suppress(ConnectionClosed, OSError):
            self._context.close()


def is_frame(kind: str, **fields):
    return lambda frame: (
        frame.get("type") == kind
        and all(frame.get(name) == value for name, value in fields.items())
    )


class Person:
    """One person and the devices whose private keys this client holds."""

    def __init__(self, name: str, server, user_id: str, token: str, session_cookie: str):
        self.name = name
        self.server = server
        self.user_id = str(user_id)
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Token {token}"
        self.session_cookie = session_cookie
        self.device: DeviceKeys | None = None
        self.held: dict[str, DeviceKeys] = {}  # every device of theirs this client holds
        self.keys: dict[str, dict[int, bytes]] = {}  # conversation -> version -> key
        self.socket: Socket | None = None

    def __repr__(self) -> str:
        return f"<Person {self.name}>"

    # --- HTTP ------------------------------------------------------------

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        url = path if path.startswith("http") else f"{self.server.http_url}/api/{path}"
        if path.startswith("/"):
            url = f"{self.server.http_url}{path}"
        return self.http.request(method, url, timeout=30, **kwargs)

    def call(self, method: str, path: str, **kwargs):
        """The JSON answer of a request that must succeed (else ``ApiError``)."""
        response = self.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise ApiError(response)
        return response.json() if response.content else None

    def refused(self, method: str, path: str, **kwargs) -> ApiError:
        """The error of a request that must fail."""
        response = self.request(method, path, **kwargs)
        assert response.status_code >= 400, f"{method} {path} succeeded: {response.text[:500]}"
        return ApiError(response)

    # --- socket ----------------------------------------------------------

    def connect(self) -> Socket:
        self.socket = Socket(self.server.ws_url, self.session_cookie)
        return self.socket

    def close(self) -> None:
        if self.socket:
            self.socket.close()
            self.socket = None

    # --- devices ---------------------------------------------------------

    def register_device(self, name: str = "Python", *, kind: str = "browser", approval="self"):
        """A new device: ``approval`` is ``"self"`` (a first device), a held
        device that approves it, or ``None`` (pending). Returns the keys and
        the server's record."""
        device = DeviceKeys(user_id=self.user_id, kind=kind)
        signer = device if approval == "self" else approval
        record = self.call("POST", "e2e/devices/", json=device.registration(name, approver=signer))
        self.held[device.id] = device
        return device, record

    def first_device(self, name: str = "Python") -> DeviceKeys:
        self.device, record = self.register_device(name)
        assert record["status"] == "active", record
        # Self-signed, and the record carries the signature that made it active.
        assert record["approved_by"] == self.device.id, record
        assert scheme.device_signature_valid(record, self.user_id, self.device.signing_public)
        return self.device

    def devices(self) -> list[dict]:
        return self.call("GET", "e2e/devices/")["devices"]

    def rewrapped_for(self, signer: DeviceKeys, recipient: dict) -> list[dict]:
        """Every key ``signer`` holds an envelope for, wrapped again for
        ``recipient`` (a device record) and signed by ``signer``."""
        envelopes = self.call("GET", "e2e/envelopes/", params={"device_id": signer.id})["envelopes"]
        states: dict[str, tuple[int, list[str]]] = {}
        out = []
        for envelope in envelopes:
            cid = envelope["conversation_id"]
            if cid not in states:
                states[cid] = self.signers_allowed(cid)
            current, members = states[cid]
            key = scheme.unwrap(
                envelope,
                signer,
                conversation_id=cid,
                key_version=envelope["key_version"],
                member_user_ids=members if envelope["key_version"] == current else None,
            )
            self.keys.setdefault(cid, {})[envelope["key_version"]] = key
            out.append(
                scheme.wrap(
                    key,
                    conversation_id=cid,
                    key_version=envelope["key_version"],
                    recipient=recipient,
                    signer=signer,
                )
            )
        return out

    def approve(self, pending: dict, signer: DeviceKeys | None = None) -> dict:
        """Approve one of this person's pending devices (a record), with
        every envelope ``signer`` can open re-wrapped for it."""
        signer = signer or self.device
        assert signer is not None
        body = {
            "signer_device_id": signer.id,
            "signature": signer.approve(pending, self.user_id),
            "envelopes": self.rewrapped_for(signer, pending),
        }
        return self.call("POST", f"e2e/devices/{pending['id']}/approve/", json=body)

    def revoke(self, device_id: str) -> None:
        self.call("DELETE", f"e2e/devices/{device_id}/")

    # --- conversations and keys ------------------------------------------

    def create_conversation(self, others, *, kind: str = "group", title: str = "Encrypted") -> str:
        body = {
            "type": kind,
            "participant_ids": [str(o.user_id) for o in others],
            "encrypted": True,
        }
        if kind == "group":
            body["title"] = title
        conversation = self.call("POST", "conversations/", json=body)
        assert conversation["e2e"] == {"key_version": 0, "rotation_required": True}, conversation
        return conversation["id"]

    def state(self, cid: str) -> dict:
        return self.call("GET", f"e2e/conversations/{cid}/")

    def member_ids(self, cid: str) -> list[str]:
        return [member["user_id"] for member in self.state(cid)["members"]]

    def signers_allowed(self, cid: str) -> tuple[int, list[str]]:
        """The current key version and the members who may have signed it."""
        state = self.state(cid)
        return state["key_version"], [member["user_id"] for member in state["members"]]

    def rotate(self, cid: str) -> int:
        """Make the next key version and wrap it for every active device of
        every current member."""
        assert self.device is not None
        state = self.state(cid)
        version = state["key_version"] + 1
        key = os.urandom(scheme.KEY_BYTES)
        envelopes = scheme.wrap_for(
            key,
            scheme.member_devices(state),
            conversation_id=cid,
            key_version=version,
            signer=self.device,
        )
        answer = self.call(
            "POST",
            f"e2e/conversations/{cid}/keys/",
            json={"key_version": version, "envelopes": envelopes},
        )
        assert answer["key_version"] == version and answer["rotation_required"] is False, answer
        self.keys.setdefault(cid, {})[version] = key
        return version

    def envelopes(self, cid: str, device: DeviceKeys | None = None) -> list[dict]:
        device = device or self.device
        assert device is not None
        return self.call(
            "GET", "e2e/envelopes/", params={"device_id": device.id, "conversation_id": cid}
        )["envelopes"]

    def fetch_keys(self, cid: str) -> dict[int, bytes]:
        """Open every envelope of ``cid`` addressed to the current device;
        one that fails the checks is left out."""
        assert self.device is not None
        keys = self.keys.setdefault(cid, {})
        try:
            current, members = self.signers_allowed(cid)
        except ApiError as error:
            if error.status != 404:
                raise
            return keys  # no longer a member: nothing more to fetch
        keys = self.keys.setdefault(cid, {})
        for envelope in self.envelopes(cid):
            with contextlib.suppress(EnvelopeRefused):
                keys[envelope["key_version"]] = scheme.unwrap(
                    envelope,
                    self.device,
                    conversation_id=cid,
                    key_version=envelope["key_version"],
                    member_user_ids=members if envelope["key_version"] == current else None,
                )
        return keys

    # --- messages --------------------------------------------------------

    def encrypt(self, cid: str, text: str, *, files=(), client_id: str | None = None, version=None):
        """A send's body (without ``type``) and its payload, under the
        current key (or ``version``)."""
        assert self.device is not None
        keys = self.keys.get(cid) or self.fetch_keys(cid)
        version = version or max(keys)
        client_id = client_id or str(uuid.uuid4())
        e2e, payload = scheme.encrypt_message(
            keys[version],
            conversation_id=cid,
            client_id=client_id,
            key_version=version,
            device_id=self.device.id,
            text=text,
            files=list(files),
        )
        body = {"client_id": client_id, "e2e": e2e}
        attachments = [entry["attachment_id"] for entry in files]
        if attachments:
            body["attachments"] = attachments
        return body, payload

    def send_rest(self, cid: str, text: str, *, files=(), version=None) -> tuple[dict, dict]:
        """Send over REST; the stored message and the payload. A stale key
        (someone rotated since) is fetched and the send encrypted again."""
        for attempt in (1, 2):
            body, payload = self.encrypt(cid, text, files=files, version=version)
            try:
                message = self.call("POST", f"conversations/{cid}/messages/", json=body)
                assert message["e2e"] == body["e2e"], "stored as sent"
                return message, payload
            except ApiError as error:
                if attempt == 2 or not self._newer_key(
                    cid, error.code, error.body.get("error", {})
                ):
                    raise
        raise AssertionError("unreachable")

    def send_socket(self, cid: str, text: str, *, files=(), version=None) -> tuple[dict, dict]:
        """Send over the socket; the ack's message and the payload (a stale
        key handled as in ``send_rest``)."""
        assert self.socket is not None
        for attempt in (1, 2):
            body, payload = self.encrypt(cid, text, files=files, version=version)
            self.socket.send({"type": "message.send", "conversation_id": cid, **body})
            reply = self.socket.wait_for(
                lambda f: f["type"] in ("ack", "error") and f.get("client_id") == body["client_id"]
            )
            if reply["type"] == "ack":
                assert reply["message"]["e2e"] == body["e2e"], "stored as sent"
                return reply["message"], payload
            if attempt == 2 or not self._newer_key(cid, reply["code"], reply):
                raise AssertionError(f"send refused: {reply}")
        raise AssertionError("unreachable")

    def _newer_key(self, cid: str, code: str | None, error: dict) -> bool:
        """After ``e2e_key_stale``: whether a newer key was there to fetch
        (a rotation that is still required is someone's to make first)."""
        if code != "e2e_key_stale" or error.get("rotation_required"):
            return False
        return error.get("key_version") in self.fetch_keys(cid)

    def read(self, message: dict) -> dict:
        """The payload of a stored encrypted message; ``CannotDecrypt`` when
        this person holds no key that opens it."""
        assert message["message_type"] == "encrypted", message
        assert message["content"] == "" and message.get("content_html", "") == "", message
        cid = message["conversation_id"]
        version = message["e2e"]["key_version"]
        if version not in self.keys.get(cid, {}):
            self.fetch_keys(cid)
        return scheme.decrypt_message(
            self.keys.get(cid, {}),
            conversation_id=cid,
            client_id=message["client_id"],
            e2e=message["e2e"],
        )

    def text_of(self, message: dict) -> str:
        try:
            return self.read(message)["text"]
        except CannotDecrypt:
            return "<cannot decrypt>"

    def history(self, cid: str) -> list[dict]:
        return self.call("GET", f"conversations/{cid}/messages/", params={"limit": 200})["messages"]

    # --- files -----------------------------------------------------------

    def upload(self, cid: str, data: bytes, *, name: str, content_type: str) -> dict:
        """Encrypt and upload ``data``; the payload's file entry."""
        uploaded, entry = scheme.encrypt_file(data, conversation_id=cid)
        attachment = self.call(
            "POST",
            f"conversations/{cid}/attachments/",
            data={"encrypted": "true"},
            files={"file": ("blob", uploaded, "application/octet-stream")},
        )
        return {
            "attachment_id": attachment["id"],
            "name": name,
            "type": content_type,
            "size": len(data),
            **entry,
        }

    def open_file(self, message: dict, entry: dict) -> bytes:
        attachment = next(a for a in message["attachments"] if a["id"] == entry["attachment_id"])
        response = self.request("GET", attachment["url"])
        if response.status_code != 200:
            raise ApiError(response)
        return scheme.decrypt_file(
            response.content, entry, conversation_id=message["conversation_id"]
        )

    # --- reports ---------------------------------------------------------

    def report(self, message: dict, text: str, franking_key: str) -> requests.Response:
        return self.request(
            "POST",
            f"messages/{message['id']}/report/",
            json={"reason": "harassment", "e2e": {"text": text, "franking_key": franking_key}},
        )

    # --- recovery --------------------------------------------------------

    def set_up_recovery(self) -> str:
        """A recovery device approved by the current one, its keys stored
        encrypted under a new recovery key; the key, shown once."""
        recovery, record = self.register_device(
            "Recovery key", kind="recovery", approval=self.device
        )
        assert record["status"] == "active", record
        recovery_key = scheme.make_recovery_key()
        self.call("PUT", "e2e/recovery/", json=scheme.encrypt_recovery(recovery, recovery_key))
        del self.held[recovery.id]  # forgotten, as the browser does
        return recovery_key

    def recover(self, recovery_key: str, name: str = "New Python") -> DeviceKeys:
        """A new device, approved by the recovery device whose keys the
        recovery key opens, with its envelopes re-wrapped for it."""
        backup = self.call("GET", "e2e/recovery/")
        recovery = scheme.decrypt_recovery(backup, recovery_key, user_id=self.user_id)
        device, record = self.register_device(name, approval=None)
        assert record["status"] == "pending", record
        approved = self.approve(record, signer=recovery)
        assert approved["status"] == "active", approved
        self.device = device
        return device

    def forget_devices(self) -> None:
        """Lose every device: no private key, no conversation key."""
        self.device = None
        self.held.clear()
        self.keys.clear()
