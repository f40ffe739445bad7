"""Two sends of one upload at once, on the real PostgreSQL: the claim's
``UPDATE … WHERE message IS NULL`` lets exactly one take it; the other is
refused and stores nothing. Distinct client_ids, so neither is a resend."""

import uuid

import pytest

from messaging import services
from messaging.errors import InvalidInput
from messaging.files.models import Attachment
from messaging.models import Message
from tests.files.factories import make_attachment
from tests.messaging.test_concurrency import run_at_once

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("senders", [2, 6])
def test_concurrent_sends_of_one_upload_store_one_message(student, direct, senders):
    upload = make_attachment(uploader=student, conversation=direct)
    others = [make_attachment(uploader=student, conversation=direct) for _ in range(senders)]

    def send(index: int):
        return services.send_message(
            sender=student,
            conversation_id=direct.pk,
            content=f"try {index}",
            client_id=uuid.uuid4(),
            # Each send also names an upload of its own, which must stay
            # unsent when the send loses.
            attachment_ids=[others[index].pk, upload.pk],
        )

    results = run_at_once(senders, send)
    won = [r for r in results if not isinstance(r, BaseException)]
    lost = [r for r in results if isinstance(r, BaseException)]
    assert len(won) == 1, results
    assert all(isinstance(e, InvalidInput) and "already sent" in e.message for e in lost), lost
    message = won[0].message
    assert Message.objects.filter(sender=student).count() == 1
    assert Attachment.objects.get(pk=upload.pk).message_id == message.pk
    claimed = set(Attachment.objects.filter(message=message).values_list("pk", flat=True))
    assert len(claimed) == 2 and upload.pk in claimed
    assert Attachment.objects.filter(message__isnull=True).count() == senders - 1
