import pytest
import redis
from asgiref.sync import async_to_sync
from django.conf import settings

from messaging import limits
from messaging.models import PresenceStatus, UserPresence
from messaging.realtime import backends
from messaging.tasks import sweep_presence

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_sweep_task_announces_users_whose_sockets_expired(student, fake_clock):
    """A socket entry left by a process that died expires and is swept.

    ``apply()`` runs the task here and now; its ``result`` is read directly
    (``get()`` consults Celery's process-wide "inside a task" flag, which
    eager tasks queued from several threads of an earlier test can leave
    set)."""
    store = backends.presence_store()
    # A socket whose process stops refreshing it...
    async_to_sync(store.put)(student.pk, "dead-process-channel", PresenceStatus.ONLINE)
    assert sweep_presence.apply().result == 0, "a live entry is not swept"
    # ...outlives its expiry.
    fake_clock.advance(limits.presence_ttl_seconds() + 1)

    assert sweep_presence.apply().result == 1
    assert UserPresence.objects.get(user=student).status == PresenceStatus.OFFLINE
    client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    assert not client.exists(store.key(str(student.pk)))
    assert client.zscore(store.index_key(), str(student.pk)) is None
    client.close()
    # Sweeping again finds nothing to announce.
    assert sweep_presence.apply().result == 0
