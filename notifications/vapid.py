"""The server's VAPID key pair (RFC 8292): it signs every push request, and
browsers bind each subscription to its public key.

Production reads ``VAPID_PRIVATE_KEY`` (PEM, or the raw 32 bytes in
base64url) from the environment; the embedded profile makes a key pair on
first use and keeps it in ``VAPID_KEY_FILE`` (under ``var/``, mode 0600), so
subscriptions outlive a restart. Changing the key orphans every
subscription: browsers must subscribe again.
"""

import base64
import contextlib
import functools
import os
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from py_vapid import Vapid02


class PushNotConfigured(Exception):
    """No VAPID private key: this deployment does not send push."""


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Base64url with or without padding; ``ValueError`` for anything else."""
    if not text or any(c not in _B64URL for c in text.rstrip("=")):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text.rstrip("=") + "=" * (-len(text.rstrip("=")) % 4))


_B64URL = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def _from_text(text: str) -> ec.EllipticCurvePrivateKey:
    text = text.strip()
    if "-----BEGIN" in text:
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
            raise ImproperlyConfigured("VAPID_PRIVATE_KEY must be a P-256 (prime256v1) EC key.")
        return key
    raw = b64url_decode(text)
    if len(raw) != 32:
        raise ImproperlyConfigured(
            "VAPID_PRIVATE_KEY must be PEM or the raw 32-byte key in base64url."
        )
    return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())


def _from_file(path: Path) -> ec.EllipticCurvePrivateKey:
    """The key kept in ``path``, made first when there is none. Several
    processes may start at once: each writes its own key to a temporary file
    and links it into place, and the one that loses the race reads the
    winner's."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".vapid-")
        try:
            os.fchmod(handle, 0o600)
            os.write(handle, pem)
            os.close(handle)
            # Another process linked its key first: that one is kept.
            with contextlib.suppress(FileExistsError):
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    return _from_text(path.read_text())


@functools.cache
def vapid() -> Vapid02:
    """The signer, loaded once per process. Raises ``PushNotConfigured``
    when the deployment has no key (production without ``VAPID_PRIVATE_KEY``)."""
    if settings.VAPID_PRIVATE_KEY:
        key = _from_text(settings.VAPID_PRIVATE_KEY)
    elif settings.VAPID_KEY_FILE:
        key = _from_file(Path(settings.VAPID_KEY_FILE))
    else:
        raise PushNotConfigured("Push is not configured on this server (no VAPID key).")
    signer = Vapid02(private_key=key)
    if settings.VAPID_PUBLIC_KEY and settings.VAPID_PUBLIC_KEY.strip() != _public(signer):
        raise ImproperlyConfigured("VAPID_PUBLIC_KEY does not match VAPID_PRIVATE_KEY.")
    if not settings.VAPID_SUBJECT:
        raise ImproperlyConfigured("VAPID_SUBJECT (mailto: or https: URL) is required for push.")
    return signer


def configured() -> bool:
    """Whether this deployment sends push (it has a VAPID key)."""
    try:
        vapid()
    except PushNotConfigured:
        return False
    return True


def _public(signer: Vapid02) -> str:
    return b64url(
        signer.public_key.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )


def public_key() -> str:
    """The application server key a browser subscribes with: the
    uncompressed P-256 point, base64url without padding."""
    return _public(vapid())


def claims_for(endpoint_origin: str) -> dict[str, str | int]:
    """The JWT claims for one push service (``aud`` is its origin; pywebpush
    adds ``exp``)."""
    return {"sub": settings.VAPID_SUBJECT, "aud": endpoint_origin}
