"""Every saved or deleted filter rule, however it was changed (the admin, a
shell, a data migration), makes every process read the rules again."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from messaging.models import FilterRule
from messaging.moderation.filtering import rules


@receiver(post_save, sender=FilterRule, dispatch_uid="filter-rules-saved")
@receiver(post_delete, sender=FilterRule, dispatch_uid="filter-rules-deleted")
def _rules_changed(**_kwargs: object) -> None:
    rules.rules_changed()
