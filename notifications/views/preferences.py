"""The notification pages: the settings page, one-click unsubscribe from
email, and the conversation page's mute form for browsers without
JavaScript (with it, the same control talks to
``PUT/DELETE /api/conversations/<id>/mute/``). Thin: reads from
``selectors``, writes through ``services``."""

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from messaging import selectors as messaging_selectors
from messaging.errors import NotFound
from notifications import selectors, services
from notifications.forms import NotificationSettingsForm
from notifications.tokens import user_id_from_unsubscribe_token

MUTE_DURATIONS = {
    "1h": dt.timedelta(hours=1),
    "8h": dt.timedelta(hours=8),
    "1w": dt.timedelta(weeks=1),
    "forever": None,
}


@login_required
def notification_settings(request):
    preference = selectors.preferences_for(request.user)
    status = 200
    if request.method == "POST":
        form = NotificationSettingsForm(request.POST)
        if form.is_valid():
            try:
                services.update_preferences(user=request.user, **form.changes())
            except ValidationError as error:
                # Dict errors land next to the fields they name.
                form.add_error(None, error)
            else:
                messages.success(request, _("Saved. Your notification settings are up to date."))
                return redirect("notification_settings")
        status = 400
    else:
        form = NotificationSettingsForm(
            initial=NotificationSettingsForm.initial_for(preference, request.user.time_zone)
        )
    return render(
        request,
        "notifications/settings.html",
        {
            "form": form,
            # Never chosen: the page may offer the browser's zone instead of UTC.
            "zone_chosen": not preference._state.adding or request.user.time_zone != "UTC",
            "mutes": list(selectors.active_mutes(request.user)),
        },
        status=status,
    )


@login_required
@require_POST
def mute(request, conversation_id):
    """The mute menu without JavaScript: ``duration`` is 1h, 8h, 1w,
    forever, or off (unmute)."""
    duration = request.POST.get("duration", "")
    try:
        if duration == "off":
            services.unmute_conversation(user=request.user, conversation_id=conversation_id)
            messages.success(request, _("Unmuted: this conversation notifies you again."))
        elif duration in MUTE_DURATIONS:
            delta = MUTE_DURATIONS[duration]
            services.mute_conversation(
                user=request.user,
                conversation_id=conversation_id,
                until=timezone.now() + delta if delta else None,
            )
            messages.success(request, _("Muted: this conversation will not notify you."))
        else:
            messages.error(request, _("Choose how long to mute the conversation for."))
    except NotFound:
        raise Http404("No such conversation.") from None
    return redirect("conversation", conversation_id=conversation_id)


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
        services.update_preferences(user=user, email_enabled=False)
        return render(request, "notifications/unsubscribed.html", {"person": user})
    return render(request, "notifications/unsubscribe.html", {"person": user})
