"""The end-to-end encryption API: thin views over ``messaging.e2e.services``
(writes) and ``messaging.e2e.selectors`` (reads)."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.response import Response

from messaging.api.views import ParleyAPIView, _errors, _valid
from messaging.e2e import payloads, selectors, services
from messaging.e2e.api import serializers as e
from messaging.e2e.services.devices import Approval
from messaging.models import AuditAction
from messaging.realtime import ratelimit


def _devices(devices) -> list[dict]:
    return [payloads.device_payload(device) for device in devices]


def _key_version_payload(conversation_id, state) -> dict:
    """An encrypted conversation's key version and whether it needs a new one
    (``KeyVersionOut``; ``KeyStateOut`` adds the members)."""
    return {
        "conversation_id": str(conversation_id),
        "key_version": state.key_version,
        "rotation_required": state.rotation_required,
    }


class DeviceListView(ParleyAPIView):
    @extend_schema(
        operation_id="e2e_devices_list",
        responses={200: e.DeviceListOut, **_errors(401)},
        description="Your devices, every status, newest first.",
    )
    def get(self, request):
        return Response({"devices": _devices(selectors.own_devices(request.user))})

    @extend_schema(
        operation_id="e2e_devices_create",
        request=e.DeviceIn,
        responses={201: e.DeviceOut, **_errors(400, 401, 429)},
        description="Register a device's public keys. Your first device approves itself "
        "and is active; a later one is pending unless one of your active devices approves "
        "it. 400 bad_signature: the approval does not verify.",
    )
    def post(self, request):
        ratelimit.spend_send(request.user)
        data = _valid(e.DeviceIn, request.data)
        approval = data.get("approval")
        device = services.register_device(
            user=request.user,
            device_id=data["id"],
            name=data["name"],
            kind=data["kind"],
            ecdh_public=data["ecdh_public"],
            signing_public=data["signing_public"],
            approval=Approval(**approval) if approval else None,
        )
        return Response(payloads.device_payload(device), status=status.HTTP_201_CREATED)


class DeviceDetailView(ParleyAPIView):
    @extend_schema(
        operation_id="e2e_devices_revoke",
        responses={204: None, **_errors(401, 404, 429)},
        description="Revoke one of your devices (again: harmless). Every encrypted "
        "conversation you are in then needs a new key.",
    )
    def delete(self, request, device_id):
        ratelimit.spend_send(request.user)
        services.revoke_device(user=request.user, device_id=device_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeviceApproveView(ParleyAPIView):
    @extend_schema(
        operation_id="e2e_devices_approve",
        request=e.DeviceApproveIn,
        responses={200: e.DeviceOut, **_errors(400, 401, 404, 409, 429)},
        description="Approve your pending device with one of your active devices' "
        "signature over its statement, with the envelopes re-wrapped for it. "
        "409 not_pending; 400 bad_signature.",
    )
    def post(self, request, device_id):
        ratelimit.spend_send(request.user)
        data = _valid(e.DeviceApproveIn, request.data)
        device = services.approve_device(
            user=request.user,
            device_id=device_id,
            signer_device_id=data["signer_device_id"],
            signature=data["signature"],
            envelopes=e.envelopes_in(data["envelopes"]),
        )
        return Response(payloads.device_payload(device))


class UserDevicesView(ParleyAPIView):
    @extend_schema(
        operation_id="e2e_user_devices",
        responses={200: e.UserDevicesOut, **_errors(401, 404)},
        description="A person's active devices: yourself, someone you share a conversation "
        "with or may message; 404 for anyone else.",
    )
    def get(self, request, user_id):
        devices = selectors.devices_of(request.user, user_id)
        return Response({"user_id": str(user_id), "devices": _devices(devices)})


class KeyStateView(ParleyAPIView):
    @extend_schema(
        operation_id="e2e_conversation_state",
        responses={200: e.KeyStateOut, **_errors(401, 404)},
        description="An encrypted conversation's key version, whether a rotation is "
        "required, and its members' active devices. 404 for a plain conversation too.",
    )
    def get(self, request, conversation_id):
        state = selectors.encrypted_state_for(
            request.user, conversation_id, attempted="e2e.conversation.read"
        )
        members = selectors.members_with_devices(conversation_id)
        return Response(
            {
                **_key_version_payload(conversation_id, state),
                "members": [
                    {
                        "user_id": str(member.user.pk),
                        "display_name": member.user.display_name,
                        "devices": _devices(member.devices),
                    }
                    for member in members
                ],
            }
        )


class KeyVersionView(ParleyAPIView):
    @extend_schema(
        operation_id="e2e_conversation_key_create",
        request=e.KeyVersionIn,
        responses={201: e.KeyVersionOut, **_errors(400, 401, 404, 409, 429)},
        description="Post the next key version with one envelope per active device of each "
        "member. 409 e2e_version_conflict (with key_version) or e2e_devices_changed (with "
        "devices); 400 bad_signature.",
    )
    def post(self, request, conversation_id):
        ratelimit.spend_send(request.user)
        # Not a member: not_found before anything about the body (docs/api.md).
        selectors.encrypted_state_for(
            request.user, conversation_id, attempted=AuditAction.E2E_KEY_ROTATE
        )
        data = _valid(e.KeyVersionIn, request.data)
        state = services.post_key_version(
            user=request.user,
            conversation_id=conversation_id,
            key_version=data["key_version"],
            envelopes=e.envelopes_in(data["envelopes"]),
        )
        return Response(
            _key_version_payload(conversation_id, state), status=status.HTTP_201_CREATED
        )


class EnvelopeListView(ParleyAPIView):
    @extend_schema(
        operation_id="e2e_envelopes_list",
        parameters=[e.EnvelopeQuery],
        responses={200: e.EnvelopeListOut, **_errors(400, 401, 404)},
        description="The envelopes addressed to your active device, of the encrypted "
        "conversations you are in (or one of them), by conversation and version.",
    )
    def get(self, request):
        query = _valid(e.EnvelopeQuery, request.query_params)
        envelopes = selectors.envelopes_for(
            request.user, query["device_id"], conversation_id=query.get("conversation_id")
        )
        return Response({"envelopes": [payloads.envelope_payload(x) for x in envelopes]})


class RecoveryView(ParleyAPIView):
    @extend_schema(
        operation_id="e2e_recovery_retrieve",
        responses={200: e.RecoveryOut, **_errors(401, 404)},
        description="Your recovery backup; 404 when you have none.",
    )
    def get(self, request):
        return Response(payloads.recovery_payload(selectors.recovery_backup_of(request.user)))

    @extend_schema(
        operation_id="e2e_recovery_put",
        request=e.RecoveryIn,
        responses={200: e.RecoveryOut, **_errors(400, 401, 429)},
        description="Store your recovery backup for your active recovery device, replacing "
        "the previous one (whose recovery device is revoked).",
    )
    def put(self, request):
        ratelimit.spend_send(request.user)
        data = _valid(e.RecoveryIn, request.data)
        backup = services.put_recovery_backup(user=request.user, **data)
        return Response(payloads.recovery_payload(backup))


urlpatterns = [
    path("e2e/devices/", DeviceListView.as_view(), name="api-e2e-devices"),
    path("e2e/devices/<uuid:device_id>/", DeviceDetailView.as_view(), name="api-e2e-device"),
    path(
        "e2e/devices/<uuid:device_id>/approve/",
        DeviceApproveView.as_view(),
        name="api-e2e-device-approve",
    ),
    path(
        "e2e/users/<uuid:user_id>/devices/",
        UserDevicesView.as_view(),
        name="api-e2e-user-devices",
    ),
    path(
        "e2e/conversations/<uuid:conversation_id>/",
        KeyStateView.as_view(),
        name="api-e2e-conversation",
    ),
    path(
        "e2e/conversations/<uuid:conversation_id>/keys/",
        KeyVersionView.as_view(),
        name="api-e2e-conversation-keys",
    ),
    path("e2e/envelopes/", EnvelopeListView.as_view(), name="api-e2e-envelopes"),
    path("e2e/recovery/", RecoveryView.as_view(), name="api-e2e-recovery"),
]
