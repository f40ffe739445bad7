"""Errors the messaging services raise.

Each carries a stable ``code`` that the socket protocol and the REST API both
report (docs/protocol.md lists them), and a message a person can read.
"""

from datetime import datetime

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


class MessagingError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code

    def fields(self) -> dict:
        """What the error frame and the API's error body carry beside
        ``code`` and ``message``."""
        return {}


class InvalidInput(MessagingError):
    code = "invalid"
    http_status = 400


class NotFound(MessagingError):
    code = "not_found"
    http_status = 404


class AccessDenied(MessagingError):
    """A refusal by the access policy, recorded in the audit log
    (``audit.denials_recorded``) with ``reason``: the message, unless the
    refusal answers something else (``NotVisible``)."""

    code = "forbidden"
    http_status = 403

    def __init__(self, message: str, *, code: str | None = None, reason: str | None = None):
        super().__init__(message, code=code)
        self.reason = reason or message


class NotVisible(AccessDenied, NotFound):
    """The requester may not see the object they named (a conversation they
    are not in, or a message, thread, pin or reaction of one): answered
    exactly as an object that does not exist (``not_found``, 404, the
    missing object's own words), so that nobody learns which ids exist by
    trying them. Still an ``AccessDenied``: the audit log records the
    refusal with its real ``reason``. A member refused for another reason
    (not the author, muted, blocked, a role that may not) is told that
    (``AccessDenied``): it reveals nothing they do not see already."""

    code = "not_found"
    http_status = 404

    def __init__(self, message: str, *, reason: str):
        super().__init__(message, reason=reason)


class ConversationArchived(MessagingError):
    code = "archived"
    http_status = 409


class ClientIdConflict(MessagingError):
    code = "client_id_conflict"
    http_status = 409


class RateLimited(MessagingError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, *, retry_after: float):
        super().__init__(message)
        self.retry_after = retry_after

    def fields(self) -> dict:
        return {"retry_after": self.retry_after}


class ServiceUnavailable(MessagingError):
    """A dependency the command needs (PostgreSQL) did not answer in time or
    refused: nothing was done, and the same command may be sent again after
    ``retry_after`` seconds (sends are idempotent by ``client_id``)."""

    code = "unavailable"
    http_status = 503

    def __init__(self, message: str = "", *, retry_after: float = 2.0):
        super().__init__(message or _("The database is unavailable; try again shortly."))
        self.retry_after = retry_after

    def fields(self) -> dict:
        return {"retry_after": self.retry_after}


# --- Files (messaging.files) ------------------------------------------------


class FileTooLarge(MessagingError):
    """Over the per-file limit (``MAX_UPLOAD_BYTES``)."""

    code = "file_too_large"
    http_status = 413

    def __init__(self, limit: int):
        # In the units the page shows a file's size in (1024-based, as
        # "25.0 MB"), not in bytes a person would have to count.
        super().__init__(_("A file has at most %(size)s.") % {"size": filesizeformat(limit)})
        self.limit = limit


class UnsupportedFile(MessagingError):
    """The bytes are not of an allowed type (whatever the name says)."""

    code = "unsupported_file"
    http_status = 415


class FileRefused(MessagingError):
    """An allowed type that cannot be stored as it is: ``empty_file``,
    ``damaged_file`` (truncated, undecodable), ``image_too_large`` (too many
    pixels: a decompression bomb), ``too_many_files`` (per message)."""

    code = "damaged_file"
    http_status = 422

    @classmethod
    def too_many_files(cls, limit: int) -> "FileRefused":
        """More files on one message than ``limit``: the upload's check and
        the send's say it in the same words."""
        message = ngettext(
            "A message has at most %(count)s file.",
            "A message has at most %(count)s files.",
            limit,
        ) % {"count": limit}
        return cls(message, code="too_many_files")


class UploadQuotaExceeded(MessagingError):
    """The uploader's bytes or files in the last 24 hours are used up."""

    code = "upload_quota"
    http_status = 429


# --- Support requests (messaging.support) -----------------------------------


class TooManyBots(MessagingError):
    """The owner has ``BOTS_MAX_PER_OWNER`` active bots (incoming webhooks'
    included) already."""

    code = "too_many_bots"
    http_status = 409


class TooManyOpenRequests(MessagingError):
    """The requester has ``SUPPORT_MAX_OPEN_PER_PERSON`` support requests
    open or pending already."""

    code = "too_many_open_requests"
    http_status = 409


class InvalidTransition(MessagingError):
    """A support request cannot move from its status to the one asked, or
    not by this person (``support.transitions``); a rating before the
    request is resolved or closed, or a second rating."""

    code = "invalid_transition"
    http_status = 409


# --- Moderation (messaging.moderation) --------------------------------------


class ContentBlocked(MessagingError):
    """A content filter rule refused the text (a send, an edit, a caption
    or a file name). Nothing was stored; the draft is the sender's to
    change. ``rule`` names the kind of rule, not its terms."""

    code = "content_blocked"
    http_status = 422

    def __init__(self, message: str, *, rule: str):
        super().__init__(message)
        self.rule = rule

    def fields(self) -> dict:
        return {"rule": self.rule}


class Muted(MessagingError):
    """A moderator muted the sender here (or everywhere) until ``until``
    (an aware datetime); ``retry_after`` is the seconds left."""

    code = "muted"
    http_status = 403

    def __init__(self, message: str, *, until: datetime, retry_after: float):
        super().__init__(message)
        self.until = until
        self.retry_after = retry_after

    def fields(self) -> dict:
        return {"until": self.until.isoformat(), "retry_after": self.retry_after}


class PersonBlocked(MessagingError):
    """One of two people blocked the other: no direct messages between them."""

    code = "blocked"
    http_status = 403


class MessageHidden(MessagingError):
    """The message was hidden by a moderator: its sender cannot edit it."""

    code = "hidden"
    http_status = 409


class TooManyReactions(MessagingError):
    """A message has as many distinct emoji as it may, or the person has
    put as many on it as they may (``MAX_REACTIONS_PER_MESSAGE``,
    ``MAX_REACTIONS_PER_PERSON``)."""

    code = "too_many_reactions"
    http_status = 409


class TooManyPins(MessagingError):
    """The conversation has as many pinned messages as it may
    (``MAX_PINS_PER_CONVERSATION``)."""

    code = "too_many_pins"
    http_status = 409
