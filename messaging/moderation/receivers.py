"""Signal receivers of moderation: the staff groups come back after
``flush`` (see ``services.staff_groups``)."""

from django.db.models.signals import post_migrate
from django.dispatch import receiver

from messaging.moderation.services.staff_groups import ensure_staff_groups


@receiver(post_migrate, dispatch_uid="messaging.moderation.staff_groups")
def staff_groups(sender, *, app_config=None, using="default", apps=None, **kwargs):
    # After the messaging app's own post_migrate, when its permissions exist
    # (django.contrib.auth creates them in its receiver, connected first).
    # During ``migrate`` migration 0009 already made them.
    if app_config is None or app_config.name != "messaging" or apps is not None:
        return
    ensure_staff_groups(using=using)
