"""Input and output shapes of the end-to-end encryption API. Every base64
field is checked here, by size, and every public key as a P-256 point, so
that a refusal names its field (``400 invalid``)."""

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from messaging import validation
from messaging.api import schema as api_schema
from messaging.api import serializers as s
from messaging.e2e import crypto, payloads
from messaging.e2e.models import DeviceKind, DeviceStatus
from messaging.e2e.services.keys import EnvelopeIn
from messaging.e2e.services.recovery import MIN_ITERATIONS
from messaging.errors import InvalidInput

# A recovery backup's ciphertext: two PKCS#8 keys in JSON, and then some.
RECOVERY_CIPHERTEXT_MAX_CHARS = 8192
# Envelopes an approval may carry: every version of every conversation.
MAX_APPROVAL_ENVELOPES = 20_000
MAX_ITERATIONS = 100_000_000
# The column's limit (PostgreSQL integer).
MAX_KEY_VERSION = 2**31 - 1


def b64_pattern(size: int | None, *, point: bool = False) -> str:
    """Canonical standard base64 (with padding, no unused bits set) of
    ``size`` bytes, or of any size, as a regex. ``point``: its first byte is
    0x04 (an uncompressed point), so it starts "B" then one of A to P."""
    char = "[A-Za-z0-9+/]"
    one_left = f"{char}[AQgw]=="
    two_left = f"{char}{{2}}[AEIMQUYcgkosw048]="
    if size is None:
        return f"^(?:{char}{{4}})*(?:{one_left}|{two_left})?$"
    tail = {0: "", 1: one_left, 2: two_left}[size % 3]
    lead, led = ("B[A-P]", 2) if point else ("", 0)
    return f"^{lead}{char}{{{4 * (size // 3) - led}}}{tail}$"


def b64_chars(size: int) -> int:
    return 4 * ((size + 2) // 3)


class B64Field(serializers.CharField):
    """Standard base64 with padding of exactly ``size`` bytes (any size
    when None, up to ``max_length`` characters); ``point``: a P-256 public
    key besides (``crypto.public_key``)."""

    def __init__(self, *, size: int | None = None, point: bool = False, **kwargs):
        self.size = size
        self.point = point
        if size is not None:
            kwargs.setdefault("max_length", b64_chars(size))
            kwargs.setdefault("min_length", b64_chars(size))
        kwargs.setdefault("trim_whitespace", False)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        text = super().to_internal_value(data)
        try:
            if self.point:
                crypto.public_key(text)
            elif self.size is not None:
                crypto.b64_of_size(text, self.size)
            else:
                crypto.b64decode(text)
        except ValueError:
            if self.point:
                raise serializers.ValidationError(
                    _("Not a P-256 public key (base64 of an uncompressed point).")
                ) from None
            if self.size is not None:
                raise serializers.ValidationError(
                    _("Not base64 of %(count)s bytes.") % {"count": self.size}
                ) from None
            raise serializers.ValidationError(_("Not base64.")) from None
        return text


class B64FieldSchema(OpenApiSerializerFieldExtension):
    target_class = B64Field

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        schema: dict = {"type": "string", "pattern": b64_pattern(field.size)}
        if field.size is not None:
            schema["minLength"] = schema["maxLength"] = b64_chars(field.size)
            schema["description"] = f"Base64 (with padding) of {field.size} bytes."
        else:
            schema["minLength"] = field.min_length or 0
            if field.max_length is not None:
                schema["maxLength"] = field.max_length
            schema["description"] = "Base64 (with padding)."
        if field.point:
            schema["pattern"] = b64_pattern(field.size, point=True)
            schema["description"] = (
                "A P-256 public key: base64 of its uncompressed point (65 bytes), on the curve."
            )
        return schema


def PointField(**kwargs) -> B64Field:  # noqa: N802 (a field, named like one)
    return B64Field(size=crypto.POINT_BYTES, point=True, **kwargs)


def SignatureField(**kwargs) -> B64Field:  # noqa: N802
    return B64Field(size=crypto.SIGNATURE_BYTES, **kwargs)


class JSONIntegerField(serializers.IntegerField):
    """A JSON integer, nothing else (not ``true``, ``"5"`` or ``5.0``)."""

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, int):
            raise serializers.ValidationError(_("Must be a whole number."))
        return super().to_internal_value(data)


class DeviceNameField(serializers.CharField):
    """A device's name: one line (the text rule), up to 100 characters,
    kept as written; may be empty."""

    def __init__(self, **kwargs):
        super().__init__(max_length=100, allow_blank=True, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        text = super().to_internal_value(data)
        try:
            return validation.check_text(text, what="name", one_line=True)
        except InvalidInput as error:
            raise serializers.ValidationError(error.message) from None


class DeviceNameFieldSchema(OpenApiSerializerFieldExtension):
    target_class = DeviceNameField

    def map_serializer_field(self, auto_schema, direction):
        return {
            "type": "string",
            "maxLength": 100,
            "pattern": api_schema.one_line_at_most_pattern(100),
            "description": "Up to 100 characters, one line; none of the characters the text "
            "rule refuses.",
        }


class ApprovalIn(s.InputSerializer):
    signer_device_id = s.UUIDField()
    signature = SignatureField(help_text="ECDSA P-256 (r ‖ s, b64) over the device statement.")


class DeviceIn(s.InputSerializer):
    id = s.UUIDField(help_text="Made by the client: the device statement names it.")
    name = DeviceNameField(required=False, default="")
    kind = serializers.ChoiceField(
        choices=DeviceKind.choices, required=False, default=DeviceKind.BROWSER
    )
    ecdh_public = PointField()
    signing_public = PointField()
    approval = ApprovalIn(
        required=False,
        help_text="Your first device signs itself (signer_device_id = id); a later one is "
        "pending without it.",
    )


class EnvelopeInSerializer(s.InputSerializer):
    conversation_id = s.UUIDField()
    key_version = JSONIntegerField(min_value=1, max_value=MAX_KEY_VERSION)
    device_id = s.UUIDField(help_text="The recipient device.")
    signer_device_id = s.UUIDField(help_text="The wrapping device.")
    ephemeral_public = PointField()
    nonce = B64Field(size=crypto.NONCE_BYTES)
    wrapped = B64Field(size=crypto.WRAPPED_BYTES)
    signature = SignatureField()


def envelopes_in(data: list[dict]) -> list[EnvelopeIn]:
    return [EnvelopeIn(**envelope) for envelope in data]


class DeviceApproveIn(s.InputSerializer):
    signer_device_id = s.UUIDField()
    signature = SignatureField()
    envelopes = EnvelopeInSerializer(many=True, required=False, default=list)

    def validate_envelopes(self, value):
        if len(value) > MAX_APPROVAL_ENVELOPES:
            raise serializers.ValidationError(
                _("At most %(count)s envelopes.") % {"count": MAX_APPROVAL_ENVELOPES}
            )
        return value


class KeyVersionIn(s.InputSerializer):
    key_version = JSONIntegerField(min_value=1, max_value=MAX_KEY_VERSION)
    envelopes = EnvelopeInSerializer(many=True, allow_empty=False)


class EnvelopeQuery(s.QuerySerializer):
    device_id = s.UUIDField(help_text="Your active device.")
    conversation_id = s.UUIDField(required=False)


class RecoveryIn(s.InputSerializer):
    device_id = s.UUIDField(help_text="Your active recovery device.")
    salt = B64Field(size=16)
    iterations = JSONIntegerField(min_value=MIN_ITERATIONS, max_value=MAX_ITERATIONS)
    nonce = B64Field(size=crypto.NONCE_BYTES)
    ciphertext = B64Field(min_length=4, max_length=RECOVERY_CIPHERTEXT_MAX_CHARS)


# --- Output ---------------------------------------------------------------------


class DeviceOut(serializers.Serializer):
    id = serializers.UUIDField()
    user_id = serializers.UUIDField()
    kind = serializers.ChoiceField(choices=DeviceKind.choices)
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=DeviceStatus.choices)
    ecdh_public = serializers.CharField()
    signing_public = serializers.CharField()
    approved_by = serializers.UUIDField(allow_null=True)
    approval_signature = serializers.CharField(help_text="b64, or empty while pending.")
    created_at = s.DateTimeOut()
    approved_at = s.DateTimeOut(allow_null=True)
    revoked_at = s.DateTimeOut(allow_null=True)

    def to_representation(self, device):
        return payloads.device_payload(device)


class DeviceListOut(serializers.Serializer):
    devices = DeviceOut(many=True)


class UserDevicesOut(serializers.Serializer):
    user_id = serializers.UUIDField()
    devices = DeviceOut(many=True)


class MemberDevicesOut(serializers.Serializer):
    user_id = serializers.UUIDField()
    display_name = serializers.CharField()
    devices = DeviceOut(many=True)


class KeyVersionOut(serializers.Serializer):
    conversation_id = serializers.UUIDField()
    key_version = serializers.IntegerField()
    rotation_required = serializers.BooleanField()


class KeyStateOut(KeyVersionOut):
    members = MemberDevicesOut(many=True)


class EnvelopeOut(serializers.Serializer):
    conversation_id = serializers.UUIDField()
    key_version = serializers.IntegerField()
    device_id = serializers.UUIDField()
    signer_device_id = serializers.UUIDField()
    ephemeral_public = serializers.CharField()
    nonce = serializers.CharField()
    wrapped = serializers.CharField()
    signature = serializers.CharField()
    signer_user_id = serializers.UUIDField()
    signer_signing_public = serializers.CharField()

    def to_representation(self, envelope):
        return payloads.envelope_payload(envelope)


class EnvelopeListOut(serializers.Serializer):
    envelopes = EnvelopeOut(many=True)


class RecoveryOut(serializers.Serializer):
    device_id = serializers.UUIDField()
    salt = serializers.CharField()
    iterations = serializers.IntegerField()
    nonce = serializers.CharField()
    ciphertext = serializers.CharField()
    created_at = s.DateTimeOut()

    def to_representation(self, backup):
        return payloads.recovery_payload(backup)
