"""The conversation page's call button (messaging.integrations.meetings):
shown when video calls are set up and the person may post here."""

from django import template

from messaging import policy
from messaging.integrations.meetings import providers

register = template.Library()


@register.inclusion_tag("meetings/_call_button.html", takes_context=True)
def call_button(context, conversation):
    user = context["request"].user
    return {
        "conversation": conversation,
        "shown": providers.enabled() and policy.may_post(user, conversation),
    }
