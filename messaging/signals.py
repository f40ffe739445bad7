"""Logging out ends that session's live sockets and push subscriptions too.

Django's LogoutView (and the admin's) send ``user_logged_out``; this is the
one place Parley listens for it, since there is no service of ours in that
path.
"""

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver

from messaging.services.sockets import close_session_sockets
from notifications.services.push import forget_session_devices


@receiver(user_logged_out)
def close_sockets_of_session(sender, request, user, **kwargs):
    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        close_session_sockets(session_key=session_key)
        forget_session_devices(session_key=session_key)
