"""The assistant's errors, answered in the API's envelope
(``messaging.api.errors``) like every ``MessagingError``."""

from messaging.errors import MessagingError


class NoAssistant(MessagingError):
    """The conversation has no assistant bot among its members."""

    code = "no_assistant"
    http_status = 409


class AssistantUnavailable(MessagingError):
    """The assistant is not configured (``AI_BASE_URL``), or its endpoint
    gave no usable answer in time: nothing was posted, try again later."""

    code = "assistant_unavailable"
    http_status = 503
