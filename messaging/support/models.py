"""Support tables. Loaded by ``messaging.models``; nothing here imports it
back."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _


class SupportStatus(models.TextChoices):
    # In context: a request is feminine in Spanish ("abierta"), where a
    # moderation case is not; the browser words a status the same way.
    OPEN = "open", pgettext_lazy("support status", "Open")  # waiting for the admins
    PENDING = "pending", pgettext_lazy("support status", "Pending")  # waiting for the requester
    # the admins consider it done; the requester may rate
    RESOLVED = "resolved", pgettext_lazy("support status", "Resolved")
    # finished; a new message does not reopen it
    CLOSED = "closed", pgettext_lazy("support status", "Closed")


class SupportPriority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class SupportCategory(models.Model):
    """What a request is about (technical support, feedback, complaint…),
    edited in the admin. An inactive category is kept for its requests
    but offered to nobody."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=300, blank=True, default="")
    position = models.PositiveSmallIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    class Meta:
        db_table = "support_categories"
        ordering = ["position", "name"]
        verbose_name_plural = "support categories"

    def __str__(self):
        return self.name

    @property
    def display_name(self) -> str:
        return category_name(self.name)


def category_name(name: str) -> str:
    """A category's name in the active language: a default category's
    (``services.categories``) is in the catalogs; a name an admin wrote is
    shown as written (unless it is, word for word, another of the catalogs'
    texts). Pages and the notices that name one both ask here."""
    return gettext(name) if name else ""  # gettext("") is the catalog header


class SupportRequest(models.Model):
    """One request: its own support conversation (requester and admins).

    ``first_response_at`` is when someone other than the requester first
    wrote in the conversation; ``resolved_at`` when it was last resolved
    (cleared if it is reopened); ``closed_at`` when it was closed.
    ``legacy_key`` identifies a row imported from the old Messages page, so
    a second import adds nothing."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    conversation = models.OneToOneField(
        "messaging.Conversation", on_delete=models.CASCADE, related_name="support_request"
    )
    requester = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="support_requests"
    )
    category = models.ForeignKey(SupportCategory, on_delete=models.PROTECT, related_name="requests")
    subject = models.CharField(max_length=200)
    status = models.CharField(
        max_length=20, choices=SupportStatus.choices, default=SupportStatus.OPEN
    )
    priority = models.CharField(
        max_length=20, choices=SupportPriority.choices, default=SupportPriority.NORMAL
    )
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_support_requests",
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField(auto_now=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    satisfied = models.BooleanField(null=True, blank=True)
    rating_comment = models.TextField(blank=True, default="")
    rated_at = models.DateTimeField(null=True, blank=True)
    legacy_key = models.CharField(max_length=64, null=True, blank=True, unique=True)  # noqa: DJ001

    class Meta:
        db_table = "support_requests"
        indexes = [
            models.Index(fields=["status", "created_at"], name="support_status_created_idx"),
            models.Index(fields=["assignee", "status"], name="support_assignee_status_idx"),
            models.Index(fields=["requester", "created_at"], name="support_requester_idx"),
        ]
        permissions = [("work_support_queue", "Can work the support queue")]

    def __str__(self):
        return self.subject

    @property
    def is_finished(self) -> bool:
        return self.status in (SupportStatus.RESOLVED, SupportStatus.CLOSED)
