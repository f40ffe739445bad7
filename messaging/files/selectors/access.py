"""Which attachment a person may fetch: the one read every download,
thumbnail and preview page goes through."""

from collections.abc import Callable
from uuid import UUID

from django.utils.translation import gettext as _

from accounts.models import User
from messaging import audit, policy
from messaging.errors import NotFound
from messaging.files.models import Attachment
from messaging.models import AuditAction

# What the audit's ``attempted`` names for a refused fetch.
ATTEMPTED_FETCH = AuditAction.FILE_DOWNLOAD


def attachment_for(
    user: User,
    attachment_id: UUID,
    *,
    may_fetch: Callable[[User, Attachment], bool] = policy.may_fetch_attachment,
    refusal: str = "You may not fetch this file.",
) -> Attachment:
    """The attachment ``user`` may fetch (``may_fetch``: a member's rule,
    ``policy.may_fetch_attachment``, unless the caller names another such
    as the moderators'), its message loaded.

    Anything else raises ``NotFound``, the same answer as for an id that
    does not exist, so a refusal tells nobody that a file is there. A
    refusal of an attachment that exists is recorded as an
    ``access.denied`` (``audit.record_denial``: one row per window, with a
    count of repeats), as other refusals are.
    """
    attachment = Attachment.objects.select_related("message").filter(pk=attachment_id).first()
    if attachment is None:
        raise NotFound(_("No such file."))
    if not may_fetch(user, attachment):
        audit.record_denial(
            actor=user,
            attempted=ATTEMPTED_FETCH,
            conversation_id=attachment.conversation_id,
            reason=refusal,
        )
        raise NotFound(_("No such file."))
    return attachment
