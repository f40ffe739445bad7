from django import forms
from django.contrib.auth import forms as auth_forms

from accounts import services
from accounts.models import MentorAssignment, User


class UserCreationForm(auth_forms.BaseUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "display_name", "role")


class UserChangeForm(auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class AdminPasswordChangeForm(auth_forms.AdminPasswordChangeForm):
    """The admin's password page stores through ``change_password``: the
    person's sessions end, their sockets close and their API tokens are
    revoked. When admins change their own password, the admin view keeps
    their current session (``update_session_auth_hash``)."""

    def save(self, commit=True):
        if not commit:
            raise NotImplementedError("Passwords are stored by accounts.services.")
        password = (
            self.cleaned_data["password1"] if self.cleaned_data["set_usable_password"] else None
        )
        return services.change_password(user=self.user, password=password, actor=None, via="admin")


class MentorAssignmentForm(forms.ModelForm):
    """A new mentor assignment (the admin's add page and the mentors inline
    on a student's page): refused with a form error unless the mentor is a
    mentor and the student a student, the same check ``assign_mentor`` makes
    when the admin stores it."""

    class Meta:
        model = MentorAssignment
        fields = ("mentor", "student")

    def clean(self):
        cleaned = super().clean() or {}
        mentor, student = cleaned.get("mentor"), cleaned.get("student")
        # Only new rows: existing ones are never edited, only removed.
        if self.instance._state.adding and mentor is not None and student is not None:
            services.check_assignment_roles(mentor=mentor, student=student)
        return cleaned
