from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render

from accounts import services
from accounts.models import MentorAssignment


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
    assignments = MentorAssignment.objects.select_related("mentor", "student")
    return render(
        request,
        "accounts/profile.html",
        {
            "mentors": [a.mentor for a in assignments.filter(student=request.user)],
            "students": [a.student for a in assignments.filter(mentor=request.user)],
        },
    )
