"""Reports: a participant tells the moderators about a message.

A report opens the message's case in the moderation queue, or reopens it
when a moderator had closed it (``cases.open_case``). One report per person
and message: reporting again returns the first report and counts nothing.
"""

from uuid import UUID

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import User
from messaging import audit, policy, validation
from messaging.e2e import franking
from messaging.errors import InvalidInput, NotFound
from messaging.models import AuditAction, Message, MessageType, Report, ReportReason
from messaging.moderation.services import cases

MAX_DETAILS_CHARS = 1000


def clean_details(value: object) -> str:
    """A report's details: may be empty, at most ``MAX_DETAILS_CHARS``
    characters, ``validation.check_text``; stripped."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(_("details must be text."))
    if len(value) > MAX_DETAILS_CHARS:
        raise InvalidInput(
            _("Details have at most %(count)s characters.") % {"count": MAX_DETAILS_CHARS}
        )
    return validation.check_text(value.strip(), what="details")


def _reportable(reporter: User, message_id: UUID) -> Message:
    """The message, once ``reporter`` may report it: they may read its
    conversation (otherwise ``not_found`` as for a missing message, recorded),
    it is somebody else's,
    not a system message and not deleted."""
    message = Message.objects.select_related("conversation").filter(pk=message_id).first()
    if message is None:
        raise NotFound(_("No such message."))
    policy.check_read_message(reporter, message)
    if message.message_type == MessageType.SYSTEM:
        raise InvalidInput(_("System messages cannot be reported."))
    if message.sender_id == reporter.pk:
        raise InvalidInput(_("You can't report your own message."))
    if message.is_deleted:
        raise NotFound(_("This message was deleted."))
    return message


def _verified_text(message: Message, e2e: franking.Disclosure | None) -> str | None:
    if message.message_type != MessageType.ENCRYPTED:
        if e2e is not None:
            raise InvalidInput(_("Only an end-to-end encrypted message is reported with e2e."))
        return None
    if e2e is None:
        raise InvalidInput(
            _("Reporting an encrypted message needs e2e with its text and franking_key.")
        )
    return franking.verify(message, e2e)


def report_message(
    *,
    reporter: User,
    message_id: UUID,
    reason: str,
    details: str = "",
    e2e: franking.Disclosure | None = None,
) -> tuple[Report, bool]:
    """Report a message (``reason`` one of ``ReportReason``; ``details``
    clean, ``clean_details``). Returns the report and whether it is new: a
    second report of the same message by the same person is the first one,
    and neither counts again nor reopens the case.

    An end-to-end encrypted message is reported with ``e2e``, its text and
    franking key as the reporter's browser decrypted them (``invalid``
    without): ``messaging.e2e.franking`` checks them against the tag stored
    at send time (``franking_mismatch``, and no report, when they differ),
    and the report keeps the verified text for the moderators. ``e2e`` for
    any other message is ``invalid``."""
    if reason not in ReportReason.values:
        raise InvalidInput(_("Unknown reason %(reason)s.") % {"reason": repr(reason)})
    with audit.denials_recorded(actor=reporter, attempted=AuditAction.REPORT):
        message = _reportable(reporter, message_id)
    existing = Report.objects.filter(message=message, reporter=reporter).first()
    if existing is not None:
        return existing, False
    verified_text = _verified_text(message, e2e)
    try:
        with transaction.atomic():
            case = cases.open_case(message, reports=1)
            report = Report.objects.create(
                case=case,
                message=message,
                reporter=reporter,
                reason=reason,
                details=details,
                franking_verified=verified_text is not None,
                verified_text=verified_text or "",
            )
            audit.record(
                actor=reporter,
                action=AuditAction.REPORT,
                conversation_id=message.conversation_id,
                message_id=message.pk,
                target_user_id=message.sender_id,
                reason=reason,
                case_id=str(case.pk),
            )
    except IntegrityError:
        # The same person's report arrived twice at once: the first stands.
        return Report.objects.get(message=message, reporter=reporter), False
    return report, True
