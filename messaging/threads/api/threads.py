"""API views for threads (docs/api.md, "Replies and threads"). Sending a
reply is ``POST /api/conversations/{id}/messages/`` with ``parent_id``."""

from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response

from messaging import events
from messaging.api import serializers as s
from messaging.api.views import ParleyAPIView, _errors, _take_receipt_token, _valid
from messaging.threads import payloads as thread_payloads
from messaging.threads.selectors import threads as selectors
from messaging.threads.services import follows


def _summary(thread) -> dict | None:
    """The thread's summary as payloads show it; null while it has no replies."""
    if thread is None or not thread.reply_count:
        return None
    return thread_payloads.thread_payload(thread, iso=lambda v: v.isoformat() if v else None)


def _state(state: follows.ReadState) -> dict:
    return {
        "thread_id": str(state.thread_id),
        "conversation_id": str(state.conversation_id),
        "following": state.following,
        "last_read_seq": state.last_read_seq,
        "unread": state.unread,
    }


class ThreadListView(ParleyAPIView):
    @extend_schema(
        operation_id="threads_list",
        parameters=[s.ThreadListQuery],
        responses={200: s.ThreadListOut, **_errors(400, 401)},
        description="The threads you follow (with at least one reply) in conversations you "
        "are still in, the most recent reply first; paged by limit and offset.",
    )
    def get(self, request):
        query = _valid(s.ThreadListQuery, request.query_params)
        page, has_more = selectors.followed_threads(user=request.user, **query)
        return Response(
            {
                "threads": [
                    {
                        "conversation_id": str(item.root.conversation_id),
                        "root": events.message_payload(item.root),
                        "thread": _summary(item.thread),
                        "unread": item.unread,
                        "following": item.following,
                    }
                    for item in page
                ],
                "has_more": has_more,
                "next_offset": query["offset"] + len(page) if has_more else None,
            }
        )


class ThreadDetailView(ParleyAPIView):
    @extend_schema(
        operation_id="threads_retrieve",
        responses={200: s.ThreadDetailOut, **_errors(401, 403, 404)},
        description="A thread's root, its summary, and your follow and read state. Any "
        "message that is not itself a thread reply is a thread's root.",
    )
    def get(self, request, root_id):
        detail = selectors.thread_detail(user=request.user, root_id=root_id)
        return Response(
            {
                "thread_id": str(detail.root.pk),
                "conversation_id": str(detail.root.conversation_id),
                "root": events.message_payload(detail.root),
                "thread": _summary(detail.thread),
                "following": detail.following,
                "last_read_seq": detail.last_read_seq,
                "unread": detail.unread,
            }
        )


class ThreadMessagesView(ParleyAPIView):
    @extend_schema(
        operation_id="threads_messages",
        parameters=[s.ThreadHistoryQuery],
        responses={200: s.ThreadHistoryOut, **_errors(400, 401, 403, 404)},
        description="A thread's replies by keyset on seq, oldest first within a page: "
        "after_seq pages forward, before_seq pages back, neither gives the latest page.",
    )
    def get(self, request, root_id):
        query = _valid(s.ThreadHistoryQuery, request.query_params)
        page = selectors.thread_page(user=request.user, root_id=root_id, **query)
        messages = page.messages
        return Response(
            {
                "messages": [events.message_payload(m) for m in messages],
                "has_more": page.has_more,
                "next_after_seq": messages[-1].seq if messages else query.get("after_seq"),
                "next_before_seq": messages[0].seq if messages else query.get("before_seq"),
            }
        )


class ThreadReadView(ParleyAPIView):
    @extend_schema(
        operation_id="threads_read",
        request=s.ThreadReadIn,
        responses={200: s.ThreadStateOut, **_errors(400, 401, 403, 404, 429)},
        description="Mark the thread read up to seq. The cursor never moves back.",
    )
    def post(self, request, root_id):
        data = _valid(s.ThreadReadIn, request.data)
        _take_receipt_token(request.user)
        state = follows.mark_thread_read(user=request.user, root_id=root_id, up_to_seq=data["seq"])
        return Response(_state(state))


class ThreadFollowView(ParleyAPIView):
    @extend_schema(
        operation_id="threads_follow",
        request=None,
        responses={200: s.ThreadStateOut, **_errors(401, 403, 404)},
        description="Follow the thread: a notification for each new reply.",
    )
    def put(self, request, root_id):
        state = follows.set_following(user=request.user, root_id=root_id, following=True)
        return Response(_state(state))

    @extend_schema(
        operation_id="threads_unfollow",
        responses={200: s.ThreadStateOut, **_errors(401, 403, 404)},
        description="Stop following the thread (replying in it follows it again).",
    )
    def delete(self, request, root_id):
        state = follows.set_following(user=request.user, root_id=root_id, following=False)
        return Response(_state(state))


urlpatterns = [
    path("threads/", ThreadListView.as_view(), name="api-threads"),
    path("threads/<uuid:root_id>/", ThreadDetailView.as_view(), name="api-thread"),
    path(
        "threads/<uuid:root_id>/messages/",
        ThreadMessagesView.as_view(),
        name="api-thread-messages",
    ),
    path("threads/<uuid:root_id>/read/", ThreadReadView.as_view(), name="api-thread-read"),
    path("threads/<uuid:root_id>/follow/", ThreadFollowView.as_view(), name="api-thread-follow"),
]
