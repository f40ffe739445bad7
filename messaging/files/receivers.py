"""An attachment's stored bytes go when its row goes, however it goes.

The services remove files themselves where order matters (the purge deletes
the bytes before the rows). A row can also go by a cascade no service sees:
a user, conversation or message deleted in the admin. Once such a deletion
commits, its objects are deleted too; a deletion that rolls back keeps them.
Deleting an object already gone is no error, so a second delete is harmless.
"""

from functools import partial

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from messaging.files import storage
from messaging.files.models import Attachment
from messaging.files.services.purge import keys_of


@receiver(post_delete, sender=Attachment)
def delete_stored_objects(sender, instance: Attachment, **kwargs) -> None:
    keys = [key for key in keys_of(instance) if key]
    transaction.on_commit(partial(storage.delete_quietly, *keys))
