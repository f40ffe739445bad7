"""Blocking people (docs/api.md, Reports and blocks): thin views over
``messaging.moderation.services.blocks`` and the moderation selectors."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from messaging.api.serializers import ErrorOut
from messaging.api.views import ParleyAPIView
from messaging.moderation import selectors
from messaging.moderation.api import serializers as s
from messaging.moderation.services import blocks
from messaging.realtime import ratelimit

_ERRORS = {
    400: "invalid: blocking yourself",
    401: "not authenticated",
    403: "forbidden: a student blocking their assigned mentor or an admin "
    "(recorded in the audit log; they report a message instead)",
    404: "not_found: no such user",
    429: "rate_limited: blocking and unblocking spend from the send bucket, with Retry-After",
}


def _errors(*codes: int) -> dict:
    return {code: OpenApiResponse(ErrorOut, description=_ERRORS[code]) for code in codes}


class BlockListView(ParleyAPIView):
    @extend_schema(
        operation_id="blocks_list",
        responses={200: s.BlockListOut, **_errors(401)},
        description="The people you blocked, newest first.",
    )
    def get(self, request):
        return Response({"blocks": s.BlockOut(selectors.blocks_made(request.user), many=True).data})


class BlockDetailView(ParleyAPIView):
    @extend_schema(
        operation_id="blocks_create",
        request=None,
        responses={
            201: s.BlockOut,
            200: OpenApiResponse(s.BlockOut, description="You had blocked this person already."),
            **_errors(400, 401, 403, 404, 429),
        },
        description="Block someone: no direct messages between you, in either direction. "
        "Group conversations are unaffected.",
    )
    def put(self, request, user_id):
        # Each block and unblock is an audit row (kept for ever): it spends
        # from the send bucket, as sends, edits and pins do.
        ratelimit.spend_send(request.user)
        block, created = blocks.block_person(blocker=request.user, blocked_id=user_id)
        return Response(
            s.BlockOut(block).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    @extend_schema(
        operation_id="blocks_delete",
        request=None,
        responses={204: None, **_errors(401, 429)},
        description="Lift your block of someone. Harmless if you had not blocked them.",
    )
    def delete(self, request, user_id):
        ratelimit.spend_send(request.user)
        blocks.unblock_person(blocker=request.user, blocked_id=user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
