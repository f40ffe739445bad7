"""Moderation tables. Loaded by ``messaging.models``; nothing here imports it
back (relations to messaging's models are by name)."""

import uuid

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.models import Role
from messaging.limits import ROLE_LIMIT_MINIMUMS

# --- Content filter ---------------------------------------------------------


class FilterKind(models.TextChoices):
    # ``pattern`` holds words or phrases, one per line, matched on whole
    # words after normalization (case, accents, zero-width and look-alike
    # characters, letter substitutions).
    TERM = "term", _("Blocked terms")
    # ``pattern`` is a regular expression matched against the normalized text.
    PATTERN = "pattern", _("Pattern (regular expression)")
    # Accounts younger than ``new_account_days`` may post at most
    # ``max_links`` links in one message.
    LINK_LIMIT = "link_limit", _("Link limit for new accounts")
    # The same text (normalized) ``repeat_count`` times within
    # ``repeat_window_seconds`` by one sender, in any conversation.
    REPEAT = "repeat", _("Repeated message (spam)")


class FilterAction(models.TextChoices):
    BLOCK = "block", _("Block: refuse with an error (the draft stays)")
    FLAG = "flag", _("Deliver and flag for review")


class FilterRule(models.Model):
    """One content rule, edited in the admin. ``roles`` lists the roles it
    applies to (empty: everyone), so a rule can be stricter for students."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=FilterKind.choices)
    action = models.CharField(max_length=10, choices=FilterAction.choices)
    pattern = models.TextField(blank=True, default="")
    roles = models.JSONField(default=list, blank=True)
    max_links = models.PositiveSmallIntegerField(null=True, blank=True)
    new_account_days = models.PositiveSmallIntegerField(null=True, blank=True)
    repeat_count = models.PositiveSmallIntegerField(null=True, blank=True)
    repeat_window_seconds = models.PositiveIntegerField(null=True, blank=True)
    # What the sender is told when the rule blocks (empty: a general refusal).
    message = models.CharField(max_length=200, blank=True, default="")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "moderation_filter_rules"
        ordering = ["name"]

    def __str__(self):
        return self.name


class FilterHit(models.Model):
    """A rule matched: a blocked send or edit (``message`` null) or a
    delivered, flagged one."""

    id = models.BigAutoField(primary_key=True)
    rule = models.ForeignKey(FilterRule, on_delete=models.SET_NULL, null=True, related_name="hits")
    rule_name = models.CharField(max_length=100)
    action = models.CharField(max_length=10, choices=FilterAction.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="filter_hits"
    )
    # Null when the refused write would have made the conversation: the
    # first message of a support request being opened rolls back with it.
    conversation = models.ForeignKey(
        "messaging.Conversation", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    message = models.ForeignKey(
        "messaging.Message", on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    # Where the rule matched: content, caption, file_name.
    field = models.CharField(max_length=20, default="content")
    excerpt = models.CharField(max_length=300, blank=True, default="")
    at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        db_table = "moderation_filter_hits"
        ordering = ["-at", "-id"]

    def __str__(self):
        return f"{self.rule_name}: {self.action}"


# --- Reports and the queue --------------------------------------------------


class CaseStatus(models.TextChoices):
    OPEN = "open", _("Open")
    ACTIONED = "actioned", _("Actioned")
    DISMISSED = "dismissed", _("Dismissed")


class ModerationCase(models.Model):
    """One message under review: opened by its first report or flag, closed
    by a moderator's action or dismissal; a new report reopens it. The
    moderation queue is the open cases."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message = models.OneToOneField(
        "messaging.Message", on_delete=models.CASCADE, related_name="moderation_case"
    )
    conversation = models.ForeignKey(
        "messaging.Conversation", on_delete=models.CASCADE, related_name="+"
    )
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField(max_length=20, choices=CaseStatus.choices, default=CaseStatus.OPEN)
    report_count = models.PositiveIntegerField(default=0)
    flag_count = models.PositiveIntegerField(default=0)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # What the message said (its text, its files' names) when the case last
    # opened: the author may edit or delete it afterwards, and moderators
    # must still read what was reported. Refreshed when a reopening finds
    # the message changed, so it is always the latest reported state.
    reported_content = models.TextField(blank=True, default="")
    reported_files = models.JSONField(blank=True, default=list)

    class Meta:
        db_table = "moderation_cases"
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["status", "opened_at"], name="moderation_case_queue_idx")]
        permissions = [("moderate", "Can moderate messages and people")]

    def __str__(self):
        # The admin's title and breadcrumbs: whose message, not its id.
        return _("Message from %(sender)s, reported %(opened)s") % {
            "sender": self.sender.display_name if self.sender else _("a deleted account"),
            # Written as the case's page writes its times.
            "opened": self.opened_at.strftime("%Y-%m-%d %H:%M"),
        }


class ReportReason(models.TextChoices):
    HARASSMENT = "harassment", _("Harassment or bullying")
    INAPPROPRIATE = "inappropriate", _("Inappropriate or sexual content")
    SAFEGUARDING = "safeguarding", _("Someone may be at risk")
    SPAM = "spam", _("Spam")
    OTHER = "other", _("Something else")


class Report(models.Model):
    """A participant's report of a message. One per (message, reporter)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    case = models.ForeignKey(ModerationCase, on_delete=models.CASCADE, related_name="reports")
    message = models.ForeignKey("messaging.Message", on_delete=models.CASCADE, related_name="+")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reports_made"
    )
    reason = models.CharField(max_length=20, choices=ReportReason.choices)
    details = models.TextField(blank=True, default="")
    # An end-to-end encrypted message's text as the reporter disclosed it,
    # checked against the tag stored when it was sent (messaging.e2e.franking);
    # ``franking_verified`` says which reports have one (the text may be empty).
    franking_verified = models.BooleanField(default=False)
    verified_text = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "moderation_reports"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["message", "reporter"], name="uniq_report_per_person"),
        ]

    def __str__(self):
        return _("Report by %(reporter)s") % {"reporter": self.reporter.display_name}


# --- Between people ---------------------------------------------------------


class UserBlock(models.Model):
    """``blocker`` blocked ``blocked``: no direct messages between them, in
    either direction, until it is lifted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    blocker = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_made"
    )
    blocked = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="blocks_received"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "moderation_blocks"
        constraints = [
            models.UniqueConstraint(fields=["blocker", "blocked"], name="uniq_block"),
            models.CheckConstraint(condition=~Q(blocker=models.F("blocked")), name="no_self_block"),
        ]

    def __str__(self):
        return f"{self.blocker} blocked {self.blocked}"


# --- Moderators' measures -----------------------------------------------------


class Mute(models.Model):
    """A moderator's mute: ``user`` may not post in ``conversation`` (or
    anywhere, when null) from ``starts_at`` until ``ends_at``, unless it was
    lifted earlier (``lifted_at``). Not the notification mute of
    ``notifications``: that one is a person's own choice of what they hear."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="moderation_mutes"
    )
    conversation = models.ForeignKey(
        "messaging.Conversation",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        db_table = "moderation_mutes"
        ordering = ["-starts_at"]
        indexes = [models.Index(fields=["user", "ends_at"], name="moderation_mute_user_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="mute_ends_after_start"
            ),
        ]

    def __str__(self):
        return f"{self.user} muted until {self.ends_at:%Y-%m-%d %H:%M}"


class Warning(models.Model):  # noqa: A001 - the moderation term
    """A moderator's warning to a sender about one of their messages: shown
    only to them, in that conversation, as a notice from the moderators."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="moderation_warnings"
    )
    conversation = models.ForeignKey(
        "messaging.Conversation", on_delete=models.CASCADE, related_name="+"
    )
    message = models.ForeignKey(
        "messaging.Message", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    text = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "moderation_warnings"
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["user", "conversation"], name="moderation_warning_user_idx")
        ]

    def __str__(self):
        return f"Warning to {self.user}"


# --- Limits per role ------------------------------------------------------------


class RoleLimits(models.Model):
    """Limits for one role, edited in the admin. A blank field falls back to
    the deployment's setting (``settings.PARLEY``, ``messaging.limits``)."""

    role = models.CharField(max_length=20, choices=Role.choices, primary_key=True)
    # The minimums (``messaging.limits.ROLE_LIMIT_MINIMUMS``) keep a figure
    # from breaking or locking out every send of the role.
    send_rate_per_second = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(ROLE_LIMIT_MINIMUMS["send_rate_per_second"])],
    )
    send_burst = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(ROLE_LIMIT_MINIMUMS["send_burst"])]
    )
    max_sockets_per_user = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(ROLE_LIMIT_MINIMUMS["max_sockets_per_user"])],
    )
    max_group_members = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(ROLE_LIMIT_MINIMUMS["max_group_members"])],
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "moderation_role_limits"
        verbose_name_plural = "role limits"

    def __str__(self):
        return f"Limits for {self.get_role_display()}"
