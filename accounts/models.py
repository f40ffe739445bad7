import uuid

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    STUDENT = "student", _("Student")
    MENTOR = "mentor", _("Mentor")
    ADMIN = "admin", _("Administrator")
    # Not a person: a bot (messaging.integrations.models.Bot) with an API token.
    BOT = "bot", _("Bot")


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email, password=None, **fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username):
        # Emails are stored lowercase (create_user, User.clean); people type
        # them as they like at the login form.
        return self.get(**{self.model.USERNAME_FIELD: (username or "").lower()})

    def create_superuser(self, email, password=None, **fields):
        fields.setdefault("role", Role.ADMIN)
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


# What decides a person's powers (messaging.policy reads the role; support
# and moderation read is_staff). An open socket holds them as they were when
# it connected, so a change of any of them closes the person's sockets.
POWER_FIELDS = ("role", "is_staff", "is_superuser")

# The roles that create and own bots (messaging.policy.may_create_bot).
BOT_OWNER_ROLES = (Role.MENTOR, Role.ADMIN)


class User(AbstractBaseUser, PermissionsMixin):
    """A person on the platform. Logs in with an email address."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    display_name = models.CharField(max_length=150)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.STUDENT)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May log in to the Django admin site.")
    date_joined = models.DateTimeField(default=timezone.now)
    # An IANA zone name: quiet hours and digests follow the person's clock.
    time_zone = models.CharField(max_length=64, default="UTC")
    # One of settings.LANGUAGES, or empty for the browser's language.
    language = models.CharField(max_length=16, blank=True, default="", db_default="")

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["display_name"]

    class Meta:
        db_table = "users"
        ordering = ["display_name"]
        indexes = [models.Index(fields=["role"], name="users_role_idx")]

    def __str__(self):
        return f"{self.display_name} <{self.email}>"

    def clean(self):
        super().clean()
        # Forms (admin, sign-up) store the same lowercase form as create_user,
        # so the unique constraint also holds across letter case.
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self):
        return self.display_name

    def get_short_name(self):
        return self.display_name

    @property
    def powers(self) -> tuple:
        """The values of ``POWER_FIELDS``, to compare with a later read."""
        return tuple(getattr(self, field) for field in POWER_FIELDS)

    @property
    def is_platform_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def is_bot(self) -> bool:
        return self.role == Role.BOT

    @property
    def initials(self) -> str:
        parts = [p for p in self.display_name.split() if p]
        letters = "".join(p[0] for p in parts[:2]) or self.email[:1]
        return letters.upper()


class MentorAssignment(models.Model):
    """Which mentor looks after which student."""

    mentor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentees"
    )
    student = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mentors"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "mentor_assignments"
        constraints = [
            models.UniqueConstraint(fields=["mentor", "student"], name="uniq_mentor_student"),
            models.CheckConstraint(
                condition=~Q(mentor=F("student")), name="mentor_is_not_own_student"
            ),
        ]

    def __str__(self):
        return f"{self.mentor} → {self.student}"


class AccountSession(AbstractBaseSession):
    """A signed-in browser's session (``accounts.sessions``, the session
    engine): Django's database session with the account it is signed in as
    kept beside the signed blob, so a password change ends a person's
    sessions by an indexed column instead of decoding every stored session.
    No foreign-key constraint: a session saved while its account is being
    deleted must not fail the request (deleting the account still deletes
    its sessions, through the ORM)."""

    user = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        db_constraint=False,
        related_name="+",
    )

    class Meta:
        db_table = "account_sessions"

    @classmethod
    def get_session_store_class(cls):
        from accounts.sessions import SessionStore

        return SessionStore
