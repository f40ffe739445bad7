from django.apps import AppConfig


class MessagingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "messaging"
    verbose_name = "Messaging"

    def ready(self):
        from config import database
        from messaging import signals  # noqa: F401 - connects the receivers
        from messaging.files import receivers  # noqa: F401 - connects the receivers
        from messaging.moderation import receivers as moderation_receivers  # noqa: F401
        from messaging.moderation.filtering import receivers as filtering_receivers  # noqa: F401
        from messaging.support import receivers as support_receivers  # noqa: F401 - as above

        database.install()
