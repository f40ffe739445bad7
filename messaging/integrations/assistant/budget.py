"""How many answers one person's messages may ask of the assistants.

Every message that mentions an assistant (or is sent to one directly) is a
paid call of the model's endpoint and holds a worker for up to
``AI_TOTAL_TIMEOUT_SECONDS``; the send bucket alone (5 a second) let one
person ask about 18,000 an hour. Each person has a bucket of their own for
answers: ``AI_ANSWER_BURST`` at once, then ``AI_ANSWERS_PER_HOUR``, kept
where the send buckets are (Redis, shared by every process; memory in the
embedded default). Past it the assistant does not call the endpoint; it
says so once in the conversation, with when to ask again, and then stays
quiet until the bucket refills, so a flood of mentions is not answered by
a flood of refusals.
"""

import math

from django.conf import settings
from django.core.cache import cache

from accounts.models import User
from messaging import limits
from messaging.errors import RateLimited
from messaging.realtime import ratelimit

KIND = "assistant-answer"


def allowance() -> limits.SendAllowance:
    return limits.SendAllowance(
        rate=float(settings.AI_ANSWERS_PER_HOUR) / 3600, burst=int(settings.AI_ANSWER_BURST)
    )


def spend(asker: User) -> float:
    """Spend one answer of ``asker``'s budget: 0 when there was one, else
    the seconds until there will be."""
    try:
        ratelimit.take_sync(asker.pk, kind=KIND, allowance=allowance())
    except RateLimited as limited:
        return max(limited.retry_after, 1.0)
    return 0.0


def first_refusal(asker: User, retry_after: float) -> bool:
    """Whether this is the first refusal of ``asker``'s asks since their
    budget ran out (the one the assistant answers with a notice). A cache
    that does not answer says yes: a notice too many is better than none."""
    try:
        return bool(cache.add(f"{KIND}:told:{asker.pk}", 1, timeout=max(1, math.ceil(retry_after))))
    except Exception:
        return True
