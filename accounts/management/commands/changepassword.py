"""``manage.py changepassword``, through ``accounts.services.change_password``:
besides the new password, the person's sessions end, their sockets close and
their API tokens are revoked, as for a change on the profile page or in the
admin. (It replaces Django's command of the same name: ``accounts`` is
listed before ``django.contrib.auth`` in ``INSTALLED_APPS``.)"""

import getpass

from django.contrib.auth.management.commands import changepassword
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from accounts import services
from accounts.models import User

MAX_TRIES = 3


class Command(changepassword.Command):
    help = "Change a person's password, ending their sessions, sockets and API tokens."

    def _get_pass(self, prompt: str = "Password: ") -> str:
        password = getpass.getpass(prompt=prompt)
        if not password:
            raise CommandError("aborted")
        return password

    def handle(self, *args, **options):
        email = (options["username"] or "").strip().lower()
        if not email:
            raise CommandError("Name the account by its email address.")
        try:
            user = User.objects.using(options["database"]).get(email=email)
        except User.DoesNotExist:
            raise CommandError(f"user '{email}' does not exist") from None

        self.stdout.write(f"Changing password for user '{user}'")
        for _ in range(MAX_TRIES):
            first = self._get_pass()
            if first != self._get_pass("Password (again): "):
                self.stdout.write("Passwords do not match. Please try again.")
                continue
            try:
                validate_password(first, user)
            except ValidationError as error:
                self.stderr.write("\n".join(error.messages))
                continue
            services.change_password(user=user, password=first, actor=None, via="command")
            return f"Password changed successfully for user '{user}'"
        raise CommandError(f"Aborting password change for user '{user}' after {MAX_TRIES} attempts")
