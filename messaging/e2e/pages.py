"""The pages of end-to-end encryption: the Devices page, and what the chat
pages need to know about a conversation's encryption (its lock, its key
state for the browser). Everything that holds a key happens in the browser
(static/js/e2e/); these only read the public state."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from messaging.e2e import selectors
from messaging.e2e.models import EncryptedConversation


def conversation_state(conversation_id) -> dict | None:
    """``{"key_version", "rotation_required"}`` of an encrypted
    conversation (as the API's ``e2e`` field), None for a plain one."""
    state = EncryptedConversation.objects.filter(conversation_id=conversation_id).first()
    if state is None:
        return None
    return {"key_version": state.key_version, "rotation_required": state.rotation_required}


def encrypted_ids(conversation_ids) -> set:
    """Which of ``conversation_ids`` are end-to-end encrypted (one query)."""
    return set(
        EncryptedConversation.objects.filter(
            conversation_id__in=list(conversation_ids)
        ).values_list("conversation_id", flat=True)
    )


@login_required
def devices(request):
    """This person's devices: this browser, the others (revoke), the pending
    ones (approve with their code), the recovery key. The lists come from
    the API in the browser (static/js/e2e/devices.js), which alone holds
    this browser's keys."""
    page_data = {
        "me": str(request.user.pk),
        # Whether a recovery key is set, so the page asks for the backup
        # only when there is one (asking answers 404 when there is none).
        "recovery_set": selectors.has_recovery_backup(request.user),
    }
    return render(request, "e2e/devices.html", {"page_data": page_data})
