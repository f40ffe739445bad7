from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from messaging import selectors


@login_required
def inbox(request):
    return render(request, "messaging/inbox.html", {"memberships": selectors.inbox(request.user)})
