from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts import locale, selectors, services
from accounts.forms import ProfilePasswordChangeForm
from config.redirects import safe_next
from notifications.services import push


class SameSiteRedirects(auth_views.RedirectURLMixin):
    """Login and logout follow ``next`` only within this site, through the
    same check as every other page (``config.redirects.safe_next``)."""

    request: HttpRequest

    def get_redirect_url(self, request: HttpRequest | None = None) -> str:
        return safe_next(request or self.request) or ""


class LoginView(SameSiteRedirects, auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(SameSiteRedirects, auth_views.LogoutView):
    pass


def _render_profile(request, *, password_form=None, status=200):
    return render(
        request,
        "accounts/profile.html",
        {
            "mentors": list(selectors.mentors_of(request.user)),
            "students": list(selectors.students_of(request.user)),
            "password_form": password_form or ProfilePasswordChangeForm(request.user),
            "languages": locale.language_choices(),
        },
        status=status,
    )


@login_required
def profile(request):
    status = 200
    if request.method == "POST":
        try:
            services.update_profile(
                user=request.user,
                display_name=request.POST.get("display_name", ""),
                language=request.POST.get("language"),
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            status = 400  # the page again, with what was refused
        else:
            # The confirmation reads in the language just chosen.
            with locale.speaking_to(request.user):
                messages.success(request, _("Profile saved."))
            return redirect("profile")
    return _render_profile(request, status=status)


@login_required
@require_POST
def password_change(request):
    """The profile page's password form: checks the old password, then
    ``change_password`` ends the person's other sessions, closes every socket
    of theirs and revokes their API tokens. This session goes on under the
    new password and a new key (a stolen copy of its old cookie is dead); its
    pages reconnect their sockets with it."""
    form = ProfilePasswordChangeForm(request.user, request.POST)
    if not form.is_valid():
        return _render_profile(request, password_form=form)
    kept = request.session.session_key
    services.change_password(
        user=request.user,
        password=form.cleaned_data["new_password1"],
        actor=request.user,
        via="profile",
        keep_session_key=kept,
    )
    update_session_auth_hash(request, request.user)
    # The session's push subscriptions follow it to its new key, so its
    # logout still ends them.
    push.move_session_devices(old_key=kept, new_key=request.session.session_key)
    messages.success(
        request, _("Password changed. Your other sessions and API tokens have been signed out.")
    )
    return redirect("profile")
