"""The conversation page's mute control, rendered from the person's mute."""

from django import template

from notifications import selectors

register = template.Library()


@register.inclusion_tag("notifications/_mute_control.html", takes_context=True)
def mute_control(context, conversation):
    user = context["request"].user
    return {
        "conversation": conversation,
        "mute": selectors.active_mute(user, conversation.pk),
        "time_zone": user.time_zone,
        "csrf_token": context.get("csrf_token"),
    }
