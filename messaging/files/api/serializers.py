"""The files API's shapes, for the schema (payloads come from
``messaging.files.payloads``)."""

from rest_framework import serializers

from messaging.files.models import AttachmentKind, PreviewState
from messaging.files.payloads import attachment_payload


class ThumbnailOut(serializers.Serializer):
    url = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class PreviewPageOut(serializers.Serializer):
    url = serializers.CharField()
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class PreviewOut(serializers.Serializer):
    state = serializers.ChoiceField(choices=PreviewState.choices)
    page_count = serializers.IntegerField(help_text="Pages in the document; 0 if not one.")
    pages = PreviewPageOut(many=True, help_text="The first few pages, rendered.")
    excerpt = serializers.CharField(
        allow_null=True, help_text="Text files: the start of the text (plain, unescaped)."
    )


class AttachmentOut(serializers.Serializer):
    id = serializers.UUIDField()
    message_id = serializers.UUIDField(allow_null=True, help_text="Empty until sent.")
    name = serializers.CharField()
    size = serializers.IntegerField()
    content_type = serializers.CharField(help_text="Detected from the bytes.")
    kind = serializers.ChoiceField(choices=AttachmentKind.choices)
    url = serializers.CharField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    thumbnail = ThumbnailOut(allow_null=True)
    preview = PreviewOut()

    def to_representation(self, attachment):
        return attachment_payload(attachment)
