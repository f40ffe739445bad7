"""Helpers shared by the notifications tests and the admin walk."""

import os

from notifications.services import push


def subscribe_device(user, endpoint):
    """A push subscription made as a browser makes it, with real keys."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from notifications.vapid import b64url

    point = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    subscription, _ = push.subscribe(
        user=user, endpoint=endpoint, p256dh=b64url(point), auth=b64url(os.urandom(16))
    )
    return subscription
