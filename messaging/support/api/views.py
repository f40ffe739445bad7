"""The support API (docs/api.md, Support requests): thin views over
``messaging.support.services`` and ``selectors``. Errors are the services'
(``invalid`` 400, ``forbidden`` 403, ``not_found`` 404,
``invalid_transition`` 409), shaped by ``messaging.api.errors``."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from messaging import policy
from messaging import selectors as messaging_selectors
from messaging.api.serializers import ErrorOut
from messaging.api.views import ParleyAPIView
from messaging.realtime import ratelimit
from messaging.support import selectors, services
from messaging.support.api import serializers as s

_ERRORS = {
    400: "invalid: a field or query parameter (an unknown category or status, a subject "
    "that is empty or too long, an assignee who is not an active admin)",
    401: "not authenticated",
    403: "forbidden: a staff action (assign, priority, bulk, the queue's filters) by "
    "someone who is not a platform admin, or a rating by someone other than the "
    "requester; a platform admin opening a request for themselves; muted: opening one "
    "while muted everywhere",
    404: "not_found: no such support request, or one you may not see",
    429: "rate_limited: opening a request sends a message, and spends from the same "
    "per-user bucket as sends, with Retry-After",
    409: "invalid_transition: a status move the transitions table does not give you from "
    "the request's status, or a rating before it is resolved or closed, or a second one; "
    "client_id_conflict: the client_id was used for another message; "
    "too_many_open_requests: opening one with SUPPORT_MAX_OPEN_PER_PERSON open or pending "
    "already",
    422: "content_blocked: a content filter rule refused the body; nothing was opened",
}


def _errors(*codes: int) -> dict:
    return {code: OpenApiResponse(ErrorOut, description=_ERRORS[code]) for code in codes}


def _valid(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _one(request, support_request, *, status_code=status.HTTP_200_OK) -> Response:
    out = s.SupportRequestOut(support_request, context={"user": request.user})
    return Response(out.data, status=status_code)


class SupportCategoryListView(ParleyAPIView):
    @extend_schema(
        operation_id="support_categories_list",
        responses={200: s.SupportCategoryListOut, **_errors(401)},
        description="The categories a request may be opened in (active ones, in their order).",
    )
    def get(self, request):
        out = s.SupportCategoryOut(selectors.categories(), many=True)
        return Response({"categories": out.data})


class SupportRequestListView(ParleyAPIView):
    @extend_schema(
        operation_id="support_requests_list",
        parameters=[s.SupportQueueQuery],
        responses={200: s.SupportRequestListOut, **_errors(400, 401)},
        description="Platform admins: the queue, every request, narrowed by the filters. "
        "Anyone else: their own requests (the filters are ignored). Newest first.",
    )
    def get(self, request):
        query = _valid(s.SupportQueueQuery, request.query_params)
        limit, offset = query.pop("limit"), query.pop("offset")
        if policy.may_work_support_queue(request.user):
            requests = selectors.queue(user=request.user, **query)
        else:
            requests = selectors.requests_of(request.user)
        page, has_more = messaging_selectors.one_page(requests, limit=limit, offset=offset)
        out = s.SupportRequestOut(page, many=True, context={"user": request.user})
        return Response(
            {
                "requests": out.data,
                "has_more": has_more,
                "next_offset": offset + len(page) if has_more else None,
            }
        )

    @extend_schema(
        operation_id="support_requests_create",
        request=s.SupportRequestCreateIn,
        responses={
            201: s.SupportRequestOut,
            200: OpenApiResponse(
                s.SupportRequestOut,
                description="Opened before with this client_id: the same request.",
            ),
            **_errors(400, 401, 403, 409, 422, 429),
        },
        description="Open a support request: a support conversation with the platform admins, "
        "its first message `body`.",
    )
    def post(self, request):
        data = _valid(s.SupportRequestCreateIn, request.data)
        existing = selectors.opened_with(opener=request.user, client_id=data["client_id"])
        if existing is not None:
            # Still theirs to see? (An admin who opened it may have become a student.)
            policy.check_see_support_request(request.user, existing)
            return _one(request, existing)
        category = selectors.category_by_slug(data["category"])
        ratelimit.spend_send(request.user)
        opened = services.open_request(
            requester=request.user,
            category_id=category.pk,
            subject=data["subject"],
            body=data["body"],
            client_id=data["client_id"],
        )
        return _one(request, opened, status_code=status.HTTP_201_CREATED)


class SupportRequestDetailView(ParleyAPIView):
    @extend_schema(
        operation_id="support_requests_retrieve",
        responses={200: s.SupportRequestOut, **_errors(401, 404)},
        description="One request, for its requester or a platform admin.",
    )
    def get(self, request, request_id):
        return _one(request, selectors.request_for(request.user, request_id))


class SupportStatusView(ParleyAPIView):
    @extend_schema(
        operation_id="support_requests_status",
        request=s.SupportStatusIn,
        responses={200: s.SupportRequestOut, **_errors(400, 401, 404, 409)},
        description="Move the request to `status` (the transitions table: "
        "`allowed_statuses` lists the moves open to you).",
    )
    def post(self, request, request_id):
        data = _valid(s.SupportStatusIn, request.data)
        changed = services.change_status(
            actor=request.user, request_id=request_id, status=data["status"]
        )
        return _one(request, changed)


class SupportAssignView(ParleyAPIView):
    @extend_schema(
        operation_id="support_requests_assign",
        request=s.SupportAssignIn,
        responses={200: s.SupportRequestOut, **_errors(400, 401, 403, 404)},
        description="Assign the request to an active admin, or to nobody (null). Staff only.",
    )
    def post(self, request, request_id):
        data = _valid(s.SupportAssignIn, request.data)
        changed = services.assign(
            actor=request.user, request_id=request_id, assignee_id=data["assignee_id"]
        )
        return _one(request, changed)


class SupportPriorityView(ParleyAPIView):
    @extend_schema(
        operation_id="support_requests_priority",
        request=s.SupportPriorityIn,
        responses={200: s.SupportRequestOut, **_errors(400, 401, 403, 404)},
        description="Set the request's priority. Staff only.",
    )
    def post(self, request, request_id):
        data = _valid(s.SupportPriorityIn, request.data)
        changed = services.set_priority(
            actor=request.user, request_id=request_id, priority=data["priority"]
        )
        return _one(request, changed)


class SupportRatingView(ParleyAPIView):
    @extend_schema(
        operation_id="support_requests_rate",
        request=s.SupportRatingIn,
        responses={200: s.SupportRequestOut, **_errors(400, 401, 403, 404, 409)},
        description="The requester rates the request, once, after it was resolved or closed.",
    )
    def post(self, request, request_id):
        data = _valid(s.SupportRatingIn, request.data)
        rated = services.rate(
            actor=request.user,
            request_id=request_id,
            satisfied=data["satisfied"],
            comment=data["comment"],
        )
        return _one(request, rated)


class SupportBulkView(ParleyAPIView):
    @extend_schema(
        operation_id="support_requests_bulk",
        request=s.SupportBulkIn,
        responses={200: s.SupportBulkOut, **_errors(400, 401, 403, 404)},
        description="Assign (to `assignee_id`, or nobody) or close many requests at once, "
        "all or none. Staff only. 404 names the first id that matches no request.",
    )
    def post(self, request):
        data = _valid(s.SupportBulkIn, request.data)
        if data["action"] == "assign":
            changed = services.bulk_assign(
                actor=request.user, request_ids=data["ids"], assignee_id=data["assignee_id"]
            )
        else:
            changed = services.bulk_close(actor=request.user, request_ids=data["ids"])
        return Response({"changed": changed})
