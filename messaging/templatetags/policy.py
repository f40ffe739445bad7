"""Policy answers for templates: a template asks ``messaging.policy``
rather than testing roles itself (the top bar is on every page, so no one
view could pass the answer)."""

from django import template

from messaging import policy

register = template.Library()


@register.filter
def may_create_group(user) -> bool:
    return policy.may_create_group(user)
