"""The REST API: thin views over ``messaging.services`` (writes) and
``messaging.selectors`` (reads). Each validates its input, makes one call
and renders the result in the socket's JSON shapes. Errors are raised by the
services and shaped by ``messaging.api.errors``.
"""

import logging
from contextlib import ExitStack

from django.contrib.auth import authenticate
from django.http import HttpResponse
from django.template import Context, Engine
from django.utils import timezone, translation
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework import exceptions, status
from rest_framework.authentication import SessionAuthentication, TokenAuthentication
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from accounts import locale
from accounts import services as account_services
from config import proxies
from config.cache import CACHE_FAULTS
from messaging import limits, policy, selectors, services
from messaging.api import serializers as s
from messaging.api.parsers import PARSER_CLASSES
from messaging.api.schema import ParleyAutoSchema
from messaging.errors import InvalidInput
from messaging.models import ConversationType
from messaging.realtime import presence, ratelimit

logger = logging.getLogger(__name__)


class JSONAnswers(DefaultContentNegotiation):
    """Every answer is JSON, whatever ``Accept`` asks for: the API has no
    other form (DRF's browsable HTML pages are not part of it), and a
    client that asked for something else still gets an answer it can read
    rather than a 406."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ParleyAPIView(APIView):
    """Token first, so a request without credentials is told ``401`` with
    ``WWW-Authenticate: Token`` (DRF takes the header from the first class);
    the browser's session works the same, CSRF included. Bodies and answers
    are JSON only (``messaging.api.parsers``); the schema is
    ``messaging.api.schema``'s."""

    authentication_classes = [TokenAuthentication, SessionAuthentication]
    parser_classes = PARSER_CLASSES
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JSONAnswers
    schema = ParleyAutoSchema()

    def dispatch(self, request, *args, **kwargs):
        # What perform_authentication enters (a token's person's language
        # and time zone) is left here, however the view ends: a database
        # fault is re-raised past finalize_response (config.middleware
        # answers it), and must not leave them active for the next request.
        with ExitStack() as self._speaking:
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        # Read the query string here, so its limit on parameters
        # (DATA_UPLOAD_MAX_NUMBER_FIELDS: 400 invalid) holds for every
        # endpoint, not only those that read a parameter.
        request.query_params  # noqa: B018
        super().initial(request, *args, **kwargs)
        _refuse_a_body_it_cannot_read(request)

    def perform_authentication(self, request):
        super().perform_authentication(request)
        # A token's person is known only now: PersonLocaleMiddleware ran
        # before DRF read the token. Speak to them as to a signed-in browser
        # (their language, else Accept-Language; their time zone) from here
        # on, permission and throttle refusals included.
        if request.user.is_authenticated and not locale.person_locale_applied(request._request):
            browser = translation.get_language()
            self._speaking.enter_context(locale.speaking_to(request.user, default=browser))
            request._request.person_locale_applied = True

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if locale.person_locale_applied(request._request):
            response.headers["Content-Language"] = translation.get_language()
        return response


def _refuse_a_body_it_cannot_read(request) -> None:
    """``415 unsupported_media_type`` for a body none of the view's parsers
    reads (a form, text…), on every endpoint, as docs/api.md says: DRF looks
    at the type only when a view reads the body, so one that takes none
    (``read-all``, a block, a feed rotation) accepted any. Once the person
    is known and allowed, so nothing of the body is read before that."""
    meta = request._request.META
    has_body = (meta.get("CONTENT_LENGTH") or "0") not in ("", "0") or (
        "HTTP_TRANSFER_ENCODING" in meta
    )
    if has_body and request.negotiator.select_parser(request, request.parsers) is None:
        raise exceptions.UnsupportedMediaType(request.content_type)


def _errors(*codes: int) -> dict:
    described = {
        400: "invalid (a field or query parameter, or a body that is not JSON), "
        "or too_long (content)",
        401: "not authenticated",
        403: "a member not allowed this (not the author, not one of the conversation's "
        "admins; recorded in the audit log)",
        404: "no such conversation, message or user (named in the path), one you are not a "
        "member of (the same answer; recorded in the audit log), or the id in the path is "
        "not a UUID",
        409: "archived, or client_id_conflict",
        422: "too_many_files (more attachments than a message may carry), or "
        "content_blocked (a content filter rule refused the text)",
        429: "rate_limited, with Retry-After",
        503: "unavailable: a service the request needs did not answer; Retry-After says "
        "when to try again",
    }
    return {code: OpenApiResponse(s.ErrorOut, description=described[code]) for code in codes}


def _valid(serializer_class, data):
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _take_receipt_token(user) -> None:
    """A read mark over the API spends from the person's receipt bucket,
    the socket's receipt budget (``RECEIPT_FRAME_BURST``, then
    ``RECEIPT_FRAMES_PER_SECOND``): each is a locked write."""
    ratelimit.take_sync(
        user.pk,
        kind="receipt",
        allowance=limits.SendAllowance(
            rate=limits.receipt_frames_per_second(), burst=limits.receipt_frame_burst()
        ),
    )


# --- Conversations ------------------------------------------------------------


class ConversationListView(ParleyAPIView):
    @extend_schema(
        operation_id="conversations_list",
        parameters=[s.ConversationListQuery],
        responses={200: s.ConversationListOut, **_errors(400, 401)},
        description="The user's conversations, latest activity first, with unread counts "
        "and the last message.",
    )
    def get(self, request):
        query = _valid(s.ConversationListQuery, request.query_params)
        memberships = selectors.inbox(
            request.user, kind=query.get("type"), archived=query["archived"]
        )
        last = selectors.last_messages(m.conversation_id for m in memberships)
        out = s.InboxConversationOut(memberships, many=True, context={"last_messages": last})
        return Response({"conversations": out.data})

    @extend_schema(
        operation_id="conversations_create",
        request=s.ConversationCreateIn,
        responses={
            201: s.ConversationDetailOut,
            200: OpenApiResponse(
                s.ConversationDetailOut,
                description="The direct conversation between the two already existed.",
            ),
            **_errors(400, 401, 403, 429),
        },
    )
    def post(self, request):
        data = _valid(s.ConversationCreateIn, request.data)
        if data["type"] == ConversationType.SUPPORT:
            # A support conversation is a request's: its category, status and
            # the cap on one person's waiting ones (messaging.support).
            raise InvalidInput(_("Open a support request instead (POST /api/support/requests/)."))
        # A conversation puts people in it and tells them: from the sends' bucket.
        ratelimit.spend_send(request.user)
        started = timezone.now()
        conversation = services.create_conversation(
            creator=request.user,
            kind=data["type"],
            participants=selectors.users_by_ids(data["participant_ids"]),
            title=data["title"],
            encrypted=data["encrypted"],
        )
        # A direct conversation exists once per pair: asking again returns it.
        created = conversation.created_at >= started
        membership = selectors.membership_for(
            request.user, conversation.pk, attempted="conversation.read"
        )
        return Response(
            s.ConversationDetailOut(membership).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )


class ConversationDetailView(ParleyAPIView):
    @extend_schema(
        operation_id="conversations_retrieve",
        responses={200: s.ConversationDetailOut, **_errors(401, 403, 404)},
        description="One conversation with its members and their read / delivered cursors.",
    )
    def get(self, request, conversation_id):
        membership = selectors.membership_for(
            request.user, conversation_id, attempted="conversation.read"
        )
        conversation = membership.conversation
        conversation.active_participants = selectors.participants(conversation)
        return Response(s.ConversationDetailOut(membership).data)

    @extend_schema(
        operation_id="conversations_rename",
        request=s.ConversationUpdateIn,
        responses={200: s.ConversationOut, **_errors(400, 401, 403, 404, 409, 429)},
        description="Rename a group or support conversation (its admins, platform admins).",
    )
    def patch(self, request, conversation_id):
        data = _valid(s.ConversationUpdateIn, request.data)
        # Each rename is an audit row and an event to every member.
        ratelimit.spend_send(request.user)
        conversation = services.rename_conversation(
            actor=request.user, conversation_id=conversation_id, title=data["title"]
        )
        return Response(s.ConversationOut(conversation).data)


class ConversationArchiveView(ParleyAPIView):
    archived = True

    @extend_schema(
        request=None,
        responses={200: s.ConversationOut, **_errors(401, 403, 404, 429)},
        description="Archive (read-only, out of the inbox) or unarchive; repeating is harmless.",
    )
    def post(self, request, conversation_id):
        # Each change is an audit row and an event to every member: it spends
        # from the send bucket, as sends, edits and pins do.
        ratelimit.spend_send(request.user)
        conversation = services.set_archived(
            actor=request.user, conversation_id=conversation_id, archived=self.archived
        )
        return Response(s.ConversationOut(conversation).data)


class ConversationUnarchiveView(ConversationArchiveView):
    archived = False


class PersonalArchiveView(ParleyAPIView):
    @extend_schema(
        operation_id="conversation_put_away",
        request=None,
        responses={200: s.PersonalArchiveOut, **_errors(401, 404, 429)},
        description="Archive the conversation for yourself: it leaves your inbox (it is "
        "listed with archived=true) until a message newer than this arrives, unless you "
        "have it muted. Nobody else sees a change. Repeating moves the time on.",
    )
    def put(self, request, conversation_id):
        ratelimit.spend_send(request.user)
        membership = services.set_archived_for_me(
            user=request.user, conversation_id=conversation_id, archived=True
        )
        return Response(s.PersonalArchiveOut(membership).data)

    @extend_schema(
        operation_id="conversation_bring_back",
        responses={204: None, **_errors(401, 404, 429)},
        description="Undo your own archive: the conversation is back in your inbox. "
        "Harmless when it was not archived by you.",
    )
    def delete(self, request, conversation_id):
        ratelimit.spend_send(request.user)
        services.set_archived_for_me(
            user=request.user, conversation_id=conversation_id, archived=False
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


class ParticipantListView(ParleyAPIView):
    @extend_schema(
        operation_id="participants_add",
        request=s.ParticipantsAddIn,
        responses={200: s.ConversationOut, **_errors(400, 401, 403, 404, 409, 429)},
        description="Add people to a group (or admins to a support conversation).",
    )
    def post(self, request, conversation_id):
        data = _valid(s.ParticipantsAddIn, request.data)
        ratelimit.spend_send(request.user)
        conversation = services.add_participants(
            actor=request.user,
            conversation_id=conversation_id,
            users=selectors.users_by_ids(data["user_ids"]),
        )
        return Response(s.ConversationOut(conversation).data)


class ParticipantDetailView(ParleyAPIView):
    @extend_schema(
        operation_id="participants_remove",
        responses={204: None, **_errors(400, 401, 403, 404, 429)},
        description="Remove someone (the conversation's admins), or leave (your own id).",
    )
    def delete(self, request, conversation_id, user_id):
        user = selectors.user_by_id(user_id)
        if user.pk != request.user.pk:
            # Removing someone is a notice and their sockets told; leaving
            # oneself is never held back.
            ratelimit.spend_send(request.user)
        services.remove_participant(actor=request.user, conversation_id=conversation_id, user=user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Messages -----------------------------------------------------------------


class MessageListView(ParleyAPIView):
    @extend_schema(
        operation_id="messages_list",
        parameters=[s.HistoryQuery],
        responses={200: s.HistoryOut, **_errors(400, 401, 403, 404)},
        description="History by keyset on seq, oldest first within a page: after_seq pages "
        "forward, before_seq pages back, neither gives the latest page.",
    )
    def get(self, request, conversation_id):
        query = _valid(s.HistoryQuery, request.query_params)
        page = selectors.history_page(user=request.user, conversation_id=conversation_id, **query)
        messages = page.messages
        return Response(
            {
                "messages": s.MessageOut(messages, many=True).data,
                "has_more": page.has_more,
                "next_after_seq": messages[-1].seq if messages else query.get("after_seq"),
                "next_before_seq": messages[0].seq if messages else query.get("before_seq"),
            }
        )

    @extend_schema(
        operation_id="messages_send",
        request=s.MessageSendIn,
        responses={
            201: s.MessageOut,
            200: OpenApiResponse(
                s.MessageOut, description="This client_id was sent before: the stored message."
            ),
            **_errors(400, 401, 403, 404, 409, 422, 429),
        },
    )
    def post(self, request, conversation_id):
        data = _valid(s.MessageSendIn, request.data)
        ratelimit.spend_send(request.user)
        result = services.send_message(
            sender=request.user,
            conversation_id=conversation_id,
            content=data["content"],
            client_id=data["client_id"],
            attachment_ids=data["attachments"],
            parent_id=data.get("parent_id"),
            reply_to_id=data.get("reply_to_id"),
            also_to_conversation=bool(data["also_to_conversation"]),
            e2e=data.get("e2e"),
        )
        return Response(
            s.MessageOut(result.message).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class MessageDetailView(ParleyAPIView):
    @extend_schema(
        operation_id="messages_edit",
        request=s.MessageEditIn,
        responses={200: s.MessageOut, **_errors(400, 401, 403, 404, 409, 422, 429)},
    )
    def patch(self, request, message_id):
        data = _valid(s.MessageEditIn, request.data)
        ratelimit.spend_send(request.user)
        message = services.edit_message(
            editor=request.user, message_id=message_id, content=data["content"], e2e=data.get("e2e")
        )
        return Response(s.MessageOut(message).data)

    @extend_schema(
        operation_id="messages_delete",
        responses={
            200: OpenApiResponse(s.MessageOut, description="The message, emptied; keeps its seq."),
            # 400: a system message (someone joined, left...) is nobody's to delete.
            # 409: the conversation is archived.
            **_errors(400, 401, 403, 404, 409, 429),
        },
    )
    def delete(self, request, message_id):
        ratelimit.spend_send(request.user)
        message = services.delete_message(actor=request.user, message_id=message_id)
        return Response(s.MessageOut(message).data)


class ReadView(ParleyAPIView):
    @extend_schema(
        operation_id="conversations_read",
        request=s.ReadIn,
        responses={200: s.ReadOut, **_errors(400, 401, 403, 404, 429)},
        description="Mark read up to seq. The cursor never moves back.",
    )
    def post(self, request, conversation_id):
        data = _valid(s.ReadIn, request.data)
        _take_receipt_token(request.user)
        membership = services.mark_read(
            user=request.user, conversation_id=conversation_id, up_to_seq=data["seq"]
        )
        return Response(s.ReadOut(membership).data)


# --- People -------------------------------------------------------------------


class PresenceView(ParleyAPIView):
    @extend_schema(
        operation_id="presence_list",
        parameters=[s.PresenceQuery],
        responses={200: s.PresenceListOut, **_errors(400, 401)},
        description="Presence of up to 200 users. Only people you share a conversation with, "
        "or may message, are reported; other ids are left out.",
    )
    def get(self, request):
        query = _valid(s.PresenceQuery, request.query_params)
        visible = selectors.presence_visible_ids(request.user, query["user_ids"])
        states = presence.statuses_sync(visible) if visible else {}
        users = [{"user_id": pk, **states[pk]} for pk in visible]
        return Response({"users": users})


class MeView(ParleyAPIView):
    @extend_schema(operation_id="me", responses={200: s.MeOut, **_errors(401)})
    def get(self, request):
        unread = selectors.unread_total(request.user)
        return Response(s.MeOut(request.user, context={"unread_total": unread}).data)


class MessageableUsersView(ParleyAPIView):
    @extend_schema(
        operation_id="users_messageable",
        responses={200: s.UserListOut, **_errors(401)},
        description="People you may start a direct conversation with.",
    )
    def get(self, request):
        users = policy.messageable_users(request.user).order_by("display_name", "id")
        return Response({"users": s.UserOut(users, many=True).data})


# --- Auth and docs ------------------------------------------------------------


class TokenThrottle(AnonRateThrottle):
    """Slows password guessing: a few attempts a minute per address.

    The count lives in the cache (Redis). With Redis away the request is let
    through rather than answered 500: the login lockout (django-axes, in
    PostgreSQL) still stops guessing at an account or from an address."""

    scope = "auth_token"
    rate = "10/min"

    def get_ident(self, request):
        # An IPv6 client counts by its /64, as the login lockout counts it.
        return proxies.client_network(request) or super().get_ident(request)

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except CACHE_FAULTS:
            logger.warning("Token throttle skipped: the cache is unavailable.")
            return True


class ObtainTokenView(ParleyAPIView):
    """An API token for email and password (send it as ``Authorization:
    Token <key>``). The same token is returned until it is deleted."""

    authentication_classes = []
    permission_classes = [AllowAny]
    throttle_classes = [TokenThrottle]

    def finalize_response(self, request, response, *args, **kwargs):
        # The answer is a credential, though its request carries none:
        # never kept by a browser or a proxy (its refusals neither).
        response = super().finalize_response(request, response, *args, **kwargs)
        patch_cache_control(response, private=True, no_store=True)
        return response

    @extend_schema(
        operation_id="auth_token",
        request=s.TokenIn,
        responses={200: s.TokenOut, **_errors(400, 429)},
        auth=[],
    )
    def post(self, request):
        data = _valid(s.TokenIn, request.data)
        user = authenticate(request, email=data["email"].lower(), password=data["password"])
        if user is None:
            raise InvalidInput(_("Unable to log in with these credentials."))
        return Response({"token": account_services.issue_api_token(user=user)})


_DOCS_PAGE = Engine.get_default().from_string(
    """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ title }}</title>
<link rel="icon" href="{{ favicon_href }}">
<link rel="stylesheet" href="{{ swagger_ui_css }}">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{{ swagger_ui_bundle }}"></script>
<script src="{{ swagger_ui_standalone }}"></script>
<script src="{{ script_url }}"></script>
</body>
</html>
"""
)


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI from the server's own static files, its init script served
    as a separate file: the site's Content-Security-Policy allows no inline
    script or style (drf-spectacular's page has an inline style block)."""

    url_name = "api-schema"

    @extend_schema(exclude=True)
    def get(self, request, *args, **kwargs):
        response = super().get(request, *args, **kwargs)
        if request.GET.get("script") is not None:
            return response
        return HttpResponse(_DOCS_PAGE.render(Context(response.data)))
