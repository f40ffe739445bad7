"""Where a page may send someone next.

Forms carry a ``next`` field (or ``?next=``) so that an action returns to
the page it was made from. A target from the request is followed only when
it stays on this site: same host, and no downgrade from HTTPS. Anything
else (another site, ``//host``, ``\\\\host``, ``javascript:``) is replaced
by the page's usual destination, so a link cannot bounce a signed-in person
from Parley to a site of the link author's choosing.
"""

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

REDIRECT_FIELD_NAME = "next"


def safe_next(request: HttpRequest) -> str | None:
    """The request's ``next`` target (the form's, else the query string's)
    if it stays on this site, else ``None``."""
    target = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME)
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None
