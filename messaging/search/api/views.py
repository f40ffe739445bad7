"""``GET /api/search/``: a thin caller of ``messaging.search.selectors.search``
(docs/api.md, "Search")."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.response import Response

from messaging.api import serializers as s
from messaging.api.views import ParleyAPIView
from messaging.search import selectors
from messaging.search.api import serializers as search_s


class SearchView(ParleyAPIView):
    @extend_schema(
        operation_id="search",
        parameters=[search_s.SearchQueryIn],
        responses={
            200: search_s.SearchResultsOut,
            400: OpenApiResponse(
                s.ErrorOut,
                description="invalid: q empty, too long or with a bad operator value; "
                "limit, offset or conversation_id not valid",
            ),
            401: OpenApiResponse(s.ErrorOut, description="not authenticated"),
            404: OpenApiResponse(
                s.ErrorOut, description="conversation_id names no conversation you may read"
            ),
        },
        description="Messages of your conversations matching q, best first (newest first "
        "for a query of operators only), a page at a time.",
    )
    def get(self, request):
        serializer = search_s.SearchQueryIn(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        query = serializer.validated_data
        results = selectors.search(
            user=request.user,
            query=query["q"],
            conversation_id=query.get("conversation_id"),
            limit=query.get("limit"),
            offset=query["offset"],
        )
        return Response(
            {
                "results": search_s.SearchResultOut(results.hits, many=True).data,
                "has_more": results.has_more,
                "next_offset": results.next_offset,
            }
        )
