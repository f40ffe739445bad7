"""Where outgoing webhooks may go, and how their requests are signed.

A bot's URL is checked with the link previews' guard
(``messaging.threads.net``: public addresses only, standard ports, no cloud
metadata address) against ``PARLEY_OUTGOING_WEBHOOK_ALLOW``: when it is saved,
so its owner hears of a refused URL at once, and again at every call, since
what a name resolves to can change.
"""

import hashlib
import hmac

from django.conf import settings
from django.utils.translation import gettext as _

from messaging.errors import InvalidInput
from messaging.threads import net

SIGNATURE_VERSION = "v1"


def allow_list() -> net.AllowList:
    """``PARLEY_OUTGOING_WEBHOOK_ALLOW``: targets allowed although not public."""
    return net.AllowList.parse(settings.PARLEY_OUTGOING_WEBHOOK_ALLOW)


def timeout_seconds() -> float:
    return float(settings.PARLEY_OUTGOING_WEBHOOK_TIMEOUT_SECONDS)


def check_outgoing_url(url: str) -> str:
    """``url`` stripped, once an outgoing call to it would be allowed (empty
    stays empty: no outgoing calls); ``InvalidInput`` saying why not."""
    url = (url or "").strip()
    if not url:
        return ""
    if len(url) > 500:
        raise InvalidInput(_("The URL is longer than 500 characters."))
    try:
        net.check_target(url, timeout=timeout_seconds(), allowed=allow_list())
    except net.Refused as refused:
        raise InvalidInput(refused_reason(refused)) from None
    return url


def refused_reason(refused: net.Refused) -> str:
    """Why a URL is refused, in words for the bot's owner."""
    reasons = {
        "scheme": _("Only http and https URLs, without a user name or password, are allowed."),
        "port": _("Only the standard ports (80, 443) are allowed."),
        "address": _(
            "The URL leads to a private, local or metadata address; an admin may "
            "allow it (PARLEY_OUTGOING_WEBHOOK_ALLOW), except a metadata address."
        ),
        "resolve": _("The URL's host name does not resolve."),
        "timeout": _("The URL's host name did not resolve in time."),
    }
    return reasons.get(refused.code, str(refused))


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``v1=`` and the hex HMAC-SHA256 of ``{timestamp}.{body}`` under
    ``secret`` (the ``X-Parley-Signature`` header)."""
    signed = timestamp.encode("ascii") + b"." + body
    digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"
