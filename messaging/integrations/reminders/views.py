"""The Reminders page (filled in by static/js/reminders.js)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from messaging.integrations.reminders import presets


@login_required
def reminders(request):
    """The person's reminders, with snooze and cancel, and their calendar
    feed's URL."""
    return render(
        request,
        "reminders/reminders.html",
        {
            "page_data": {
                "presets": {name: str(label) for name, label in presets.PRESETS.items()},
                "time_zone": request.user.time_zone,
            }
        },
    )
