"""The staff roles an administrator hands out in the admin (Users →
Groups): Moderators and Support agents. Migration 0009 created them; they
come back after ``flush`` (which empties ``auth_group`` and then sends
``post_migrate``, as Django does for permissions), see ``receivers``.

Holders need ``is_staff`` to reach the admin site; platform admins hold
both powers by their role (``messaging.policy``)."""

from django.contrib.auth.models import Group, Permission

MODERATORS = "Moderators"
SUPPORT_AGENTS = "Support agents"

# group → model → permission codenames (app "messaging").
GRANTS: dict[str, dict[str, list[str]]] = {
    MODERATORS: {
        "moderationcase": ["moderate", "view_moderationcase", "change_moderationcase"],
        "report": ["view_report"],
        "filterhit": ["view_filterhit"],
        "filterrule": ["view_filterrule", "add_filterrule", "change_filterrule"],
        "mute": ["view_mute", "change_mute"],
        "warning": ["view_warning"],
        "userblock": ["view_userblock"],
        "auditlog": ["view_auditlog"],
        # No view_message / view_conversation: moderators read people's
        # messages only on the queue's case and review pages, each opening
        # audited; the Messages and Conversations lists are for platform
        # admins.
    },
    SUPPORT_AGENTS: {
        "supportrequest": ["work_support_queue", "view_supportrequest"],
        "supportcategory": ["view_supportcategory"],
    },
}


def ensure_staff_groups(*, using: str = "default") -> None:
    """Create the groups that are missing, with their permissions. A group
    that exists is left as an administrator may have changed it."""
    for name, grants in GRANTS.items():
        if Group.objects.using(using).filter(name=name).exists():
            continue
        group = Group.objects.using(using).create(name=name)
        for model, codenames in grants.items():
            group.permissions.add(
                *Permission.objects.using(using).filter(
                    content_type__app_label="messaging",
                    content_type__model=model,
                    codename__in=codenames,
                )
            )
