"""Signal receivers of support requests: the default categories come back
after ``migrate`` and ``flush`` (both send ``post_migrate``, as Django
does for content types and permissions), so an emptied database still
offers them."""

from django.apps import apps as installed_apps
from django.db.models.signals import post_migrate
from django.dispatch import receiver

from messaging.support.services.categories import ensure_default_categories


@receiver(post_migrate, dispatch_uid="messaging.support.default_categories")
def default_categories(sender, *, app_config=None, using="default", apps=None, **kwargs):
    if app_config is None or app_config.name != "messaging":
        return
    try:
        # After migrate, the model as the migrations left it (absent before
        # 0007); flush sends no ``apps``: the installed models.
        category = (apps or installed_apps).get_model("messaging", "SupportCategory")
    except LookupError:
        return
    ensure_default_categories(model=category, using=using)
