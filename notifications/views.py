"""Pages of the notifications app: one-click unsubscribe from email."""

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from messaging import selectors as messaging_selectors
from messaging.errors import NotFound
from notifications.services.preferences import update_preferences
from notifications.tokens import user_id_from_unsubscribe_token


# RFC 8058: the mail client POSTs without cookies, session or CSRF token;
# the signed token in the URL is the only credential, and it can only
# switch email off.
@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a confirmation page with a button (a link scanner that
    follows links changes nothing); POST switches the person's email off."""
    try:
        user = messaging_selectors.user_by_id(user_id_from_unsubscribe_token(token))
    except (signing.BadSignature, NotFound):
        return render(request, "notifications/unsubscribe_invalid.html", status=400)
    if request.method == "POST":
        update_preferences(user=user, email_enabled=False)
        return render(request, "notifications/unsubscribed.html", {"person": user})
    return render(request, "notifications/unsubscribe.html", {"person": user})
