from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from accounts import selectors, services
from config.redirects import safe_next


class SameSiteRedirects:
    """Login and logout follow ``next`` only within this site, through the
    same check as every other page (``config.redirects.safe_next``)."""

    def get_redirect_url(self):
        return safe_next(self.request) or ""


class LoginView(SameSiteRedirects, auth_views.LoginView):
    template_name = "accounts/login.html"
    redirect_authenticated_user = True


class LogoutView(SameSiteRedirects, auth_views.LogoutView):
    pass


@login_required
def profile(request):
    if request.method == "POST":
        try:
            services.update_profile(
                user=request.user, display_name=request.POST.get("display_name", "")
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, "Profile saved.")
            return redirect("profile")
    return render(
        request,
        "accounts/profile.html",
        {
            "mentors": list(selectors.mentors_of(request.user)),
            "students": list(selectors.students_of(request.user)),
        },
    )
