import uuid

from messaging import services


def send(sender, conversation, content="hello", **kwargs):
    """Send through the service with a fresh client_id; returns the message."""
    kwargs.setdefault("client_id", uuid.uuid4())
    return services.send_message(
        sender=sender, conversation_id=conversation.pk, content=content, **kwargs
    ).message
