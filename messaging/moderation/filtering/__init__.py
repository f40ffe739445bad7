"""Content filtering: the rules moderators write in the admin, checked on
every send, edit, caption and file name (``check``), refusing a text
(``ContentBlocked``, recorded by ``blocks_recorded``) or delivering it and
putting it in the moderation queue (``record_flags``)."""

from messaging.moderation.filtering.checks import Blocked, Hit, Verdict, check
from messaging.moderation.filtering.rules import FIELD_CAPTION, FIELD_CONTENT, FIELD_FILE_NAME
from messaging.moderation.filtering.services import blocks_recorded, record_flags

__all__ = [
    "FIELD_CAPTION",
    "FIELD_CONTENT",
    "FIELD_FILE_NAME",
    "Blocked",
    "Hit",
    "Verdict",
    "blocks_recorded",
    "check",
    "record_flags",
]
