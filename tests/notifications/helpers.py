"""Helpers shared by the notifications tests and the admin walk."""

import os

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from notifications.services import push
from notifications.vapid import b64url


def browser_keys() -> dict:
    """A push subscription's keys as a browser makes them: a fresh P-256
    public point and a 16-byte auth secret, base64url."""
    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    return {"p256dh": b64url(point), "auth": b64url(os.urandom(16))}


def subscribe_device(user, endpoint):
    """A push subscription made as a browser makes it, with real keys."""
    subscription, _ = push.subscribe(user=user, endpoint=endpoint, **browser_keys())
    return subscription
