"""The categories a fresh installation offers. Migration 0007 makes them
(with its own frozen copy, as migrations must); this puts back any that are
missing, for the demo data and for databases emptied since (a test's
flush)."""

from django.utils.translation import gettext_noop

from messaging.support.models import SupportCategory

# Stored in English; pages show a default's name in the reader's language
# (``SupportCategory.display_name``), and one an admin renamed as written.
DEFAULT_CATEGORIES = (
    (
        "technical",
        gettext_noop("Technical support"),
        "Something does not work: logins, pages, files.",
    ),
    (
        "feedback",
        gettext_noop("Feedback"),
        "An idea or an opinion about the platform or a course.",
    ),
    (
        "complaint",
        gettext_noop("Complaint"),
        "Something went wrong and should be looked into.",
    ),
)


def ensure_default_categories(
    *, model: type[SupportCategory] = SupportCategory, using: str = "default"
) -> list[SupportCategory]:
    """The default categories, made where their slug is missing; one that
    exists is left as an admin edited it (even if made inactive).
    ``model`` is the migrations' historical model when ``post_migrate``
    calls this (``receivers``)."""
    return [
        model.objects.using(using).get_or_create(
            slug=slug, defaults={"name": name, "description": description, "position": position}
        )[0]
        for position, (slug, name, description) in enumerate(DEFAULT_CATEGORIES)
    ]
