"""Pages of the notifications app: the push devices page and the service
worker. Thin: reads come from selectors; the page's buttons call the API
(notifications/api/push.py) from static/js/push.js."""

import functools

from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from notifications.selectors import push as selectors


@functools.cache
def _service_worker_source() -> bytes:
    found = finders.find("js/sw.js")
    if not found or isinstance(found, list):
        raise FileNotFoundError("static/js/sw.js")
    with open(found, "rb") as source:
        return source.read()


@require_safe
def service_worker(request):
    """static/js/sw.js from the site root: a service worker controls only
    the pages under its own path, and Parley's are everywhere. Never cached,
    so a new version reaches browsers at their next visit."""
    response = HttpResponse(_service_worker_source(), content_type="application/javascript")
    response["Service-Worker-Allowed"] = "/"
    response["Cache-Control"] = "no-cache, no-store, must-revalidate"
    return response


@login_required
@require_safe
def push_settings(request):
    """This person's push devices, and "Enable push on this browser"."""
    return render(
        request,
        "notifications/push.html",
        {"subscriptions": list(selectors.subscriptions_of(request.user))},
    )
