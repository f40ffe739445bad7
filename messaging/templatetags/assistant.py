"""The AI assistant's control in the conversation header
(messaging.integrations.assistant): its badge when it is a member, and,
for mentors and admins, the "Summarise unread" button."""

from django import template
from django.conf import settings

from messaging import policy
from messaging.integrations.assistant import selectors

register = template.Library()


@register.inclusion_tag("assistant/_control.html", takes_context=True)
def assistant_control(context, conversation, membership) -> dict:
    """The badge (saying so when the assistant is not configured) and the
    summary button of the person viewing the page."""
    bot = selectors.assistant_in(conversation.pk)
    if bot is None:
        return {"bot": None}
    user = context["user"]
    return {
        "bot": bot,
        "conversation": conversation,
        "configured": bool(settings.AI_BASE_URL),
        "may_summarise": policy.may_summarise(user, conversation, membership=membership),
        # Where the summary starts: the read cursor the page opened with
        # (opening it marks the messages read).
        "since_seq": membership.last_read_seq,
    }
