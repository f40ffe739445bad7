"""What an email shows of a message: the HTML part gets the message's
stored ``content_html`` (rendered and sanitized once, at send or edit:
``messaging.threads.markdown``), the only markup an email marks safe; the
text part gets its words without markup (``markdown.plain_text``). A
message without rendered text (files sent without a caption) shows what
``message_text`` says of it, escaped."""

import datetime as dt
from dataclasses import dataclass

from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator

from accounts.models import User
from messaging.files.payloads import message_text
from messaging.models import Message
from messaging.threads import markdown


@dataclass(frozen=True)
class MailedMessage:
    sender: User | None
    sent_at: dt.datetime
    html: SafeString  # sanitized markup, or escaped text
    text: str  # no markup


def text_of(message: Message) -> str:
    """The message's words as readers see them, without markup."""
    return message_text(message)


def html_of(message: Message) -> SafeString:
    """The message as the page shows it: its sanitized ``content_html``."""
    if message.content_html and not message.deleted_at:
        # Sanitized when stored; sanitized again here so that a row written
        # by other means cannot put markup in an email.
        return mark_safe(markdown.sanitize(message.content_html))  # noqa: S308
    return conditional_escape(message_text(message))


def mailed(message: Message) -> MailedMessage:
    return MailedMessage(
        sender=message.sender,
        sent_at=message.sent_at,
        html=html_of(message),
        text=text_of(message),
    )


def excerpt_html(message: Message, chars: int) -> SafeString:
    """The first ``chars`` characters of the message's text with its
    markup (tags closed where it is cut), sanitized."""
    if message.content_html and not message.deleted_at:
        cut = Truncator(message.content_html).chars(chars, html=True)
        return mark_safe(markdown.sanitize(cut))  # noqa: S308
    return conditional_escape(Truncator(message_text(message)).chars(chars))


def excerpt_text(message: Message, chars: int) -> str:
    return Truncator(text_of(message)).chars(chars)
