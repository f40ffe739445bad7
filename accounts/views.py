from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from accounts import selectors, services


@login_required
def profile(request):
    status = 200
    if request.method == "POST":
        try:
            services.update_profile(
                user=request.user, display_name=request.POST.get("display_name", "")
            )
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
            status = 400  # the page again, with what was refused
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
        status=status,
    )
