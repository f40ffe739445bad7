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
    memberships = [
        *selectors.inbox(user, archived=False),
        *selectors.inbox(user, archived=True),
    ]
    titles = {
        str(m.conversation_id): title_for(m.conversation, m.conversation.active_participants, user)
        for m in memberships
    }
    return render(request, "messaging/saved.html", {"page_data": {"titles": titles}})
