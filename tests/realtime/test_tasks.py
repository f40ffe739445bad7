import time

import pytest
import redis
from django.conf import settings

from messaging.models import PresenceStatus, UserPresence
from messaging.realtime import presence
from messaging.tasks import sweep_presence

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


def test_sweep_task_announces_users_whose_sockets_expired(student):
    """A socket entry left by a process that died expires and is swept."""
    client = redis.Redis.from_url(settings.REDIS_URL, decode_responses=True)
    expired = time.time() - 5
    client.hset(presence._key(str(student.pk)), "dead-process-channel", f"online:{expired}")
    client.zadd(presence._index_key(), {str(student.pk): expired})

    assert sweep_presence.apply().get() == 1
    assert UserPresence.objects.get(user=student).status == PresenceStatus.OFFLINE
    assert not client.exists(presence._key(str(student.pk)))
    assert client.zscore(presence._index_key(), str(student.pk)) is None
    # Sweeping again finds nothing to announce.
    assert sweep_presence.apply().get() == 0
    client.close()
