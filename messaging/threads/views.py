"""The Saved page (``/saved/``): a person's saved messages, newest first.

Thin: the page carries only the titles of the person's conversations, as
the pages call them (``title_for``); static/js/saved.js fetches the list
from ``GET /api/saved/`` (docs/api.md, "Pins and saved messages"), the same
answer any client gets, and keeps it current on ``saved.changed``.
"""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from messaging import selectors
from messaging.views import title_for


@login_required
def saved(request):
    """The person's saved messages (filled in by static/js/saved.js)."""
    user = request.user
    titles = {}
    # Both halves of the person's memberships: the inbox and the archived.
    for archived in (False, True):
        for row in selectors.inbox(user, archived=archived):
            titles[str(row.conversation_id)] = title_for(row.conversation, row.members, user)
    return render(request, "messaging/saved.html", {"page_data": {"titles": titles}})
