"""Reactions through their services: the emoji rule, idempotent add and
remove, every refusal, the limits, the audit trail, the payload, and a
moderator's removal through the admin."""

# Fixtures imported from tests.threads.extras are parameters of the tests.
# ruff: noqa: F811

import pytest
from django.urls import reverse

from accounts.models import Role
from messaging import events, selectors, services
from messaging.errors import (
    AccessDenied,
    ConversationArchived,
    InvalidInput,
    MessageHidden,
    Muted,
    NotFound,
    PersonBlocked,
    TooManyReactions,
)
from messaging.models import AuditAction, AuditLog
from messaging.moderation import admin as moderation_admin
from messaging.moderation.services import actions, blocks
from messaging.threads import emoji
from messaging.threads.models import LinkPreview, PreviewState, Reaction
from messaging.threads.services import pins, reactions
from tests.threads.extras import group, moderator, notice_in, say  # noqa: F401

pytestmark = pytest.mark.django_db

THUMBS = "👍"


# --- The emoji rule -----------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "👍",
        "👍🏽",  # a skin tone
        "👨‍👩‍👧",  # a ZWJ sequence
        "🏳️‍🌈",
        "🇫🇷",  # a flag
        "❤️",
    ],
)
def test_one_emoji_is_accepted_as_it_is(value):
    assert emoji.clean_emoji(value) == value


def test_a_heart_without_its_variation_selector_is_the_same_reaction():
    assert emoji.clean_emoji("❤") == "❤️"


@pytest.mark.parametrize(
    "value",
    ["", " ", "a", "👍👍", "👍 ", ":thumbs_up:", "🏽", "<b>", "x" * 65, None, 5, ["👍"], "\u200d"],
)
def test_anything_but_one_emoji_is_refused(value):
    with pytest.raises(InvalidInput, match="emoji must be a single emoji"):
        emoji.clean_emoji(value)


def test_the_catalog_lists_fully_qualified_untoned_emoji_with_names():
    listed = emoji.catalog()
    by_emoji = {e["emoji"]: e for e in listed}
    assert by_emoji["👍"]["name"] == "thumbs up"
    assert "thumbsup" in by_emoji["👍"]["keywords"]
    assert "❤️" in by_emoji and "❤" not in by_emoji
    assert "👍🏽" not in by_emoji
    assert all(emoji.clean_emoji(e["emoji"]) == e["emoji"] for e in listed)
    assert emoji.catalog() is listed  # computed once


def test_the_catalog_is_in_unicodes_order():
    """Smileys first, flags last (api.md), not by English name (which put
    the medals and the "AB button" first)."""
    listed = [e["emoji"] for e in emoji.catalog()]
    assert listed[:3] == ["😀", "😃", "😄"]
    place = {value: index for index, value in enumerate(listed)}
    assert place["😀"] < place["👍"] < place["🐶"] < place["🍎"] < place["🥇"]
    assert place["🥇"] < place["🏁"] < place["🇪🇸"]
    assert len(place) == len(listed)  # each once


def test_the_emoji_endpoint_is_for_signed_in_people_and_cacheable(client, student):
    assert client.get("/api/emoji/").status_code == 401
    client.force_login(student)
    response = client.get("/api/emoji/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "private, max-age=86400"
    listed = {e["emoji"]: e for e in response.json()["emoji"]}
    assert listed["👍"]["name"] == "thumbs up" and len(listed) > 1000


# --- Adding and removing ------------------------------------------------------------


def test_add_is_idempotent_and_audited_once(direct, assigned, django_capture_on_commit_callbacks):
    mentor, student = assigned
    message = say(mentor, direct)
    with django_capture_on_commit_callbacks(execute=False) as published:
        assert reactions.add_reaction(user=student, message_id=message.pk, emoji=THUMBS) is True
    assert len(published) == 1
    with django_capture_on_commit_callbacks(execute=False) as again:
        assert reactions.add_reaction(user=student, message_id=message.pk, emoji=THUMBS) is False
    assert again == []  # nothing published the second time
    assert Reaction.objects.filter(message=message).count() == 1
    (row,) = AuditLog.objects.filter(action=AuditAction.REACTION_ADD)
    assert row.actor == student and row.message_id == message.pk
    assert row.details == {"emoji": THUMBS}


def test_the_variation_selector_form_lands_on_the_same_row(direct, assigned):
    mentor, student = assigned
    message = say(mentor, direct)
    reactions.add_reaction(user=student, message_id=message.pk, emoji="❤")
    assert reactions.add_reaction(user=student, message_id=message.pk, emoji="❤️") is False
    assert list(Reaction.objects.values_list("emoji", flat=True)) == ["❤️"]


def test_remove_is_idempotent_and_audited(direct, assigned):
    mentor, student = assigned
    message = say(mentor, direct)
    reactions.add_reaction(user=student, message_id=message.pk, emoji=THUMBS)
    assert reactions.remove_reaction(user=student, message_id=message.pk, emoji=THUMBS) is True
    assert reactions.remove_reaction(user=student, message_id=message.pk, emoji=THUMBS) is False
    assert not Reaction.objects.exists()
    (row,) = AuditLog.objects.filter(action=AuditAction.REACTION_REMOVE)
    assert row.details == {"emoji": THUMBS} and row.target_user_id is None


def test_one_person_removes_only_their_own(direct, assigned):
    mentor, student = assigned
    message = say(mentor, direct)
    reactions.add_reaction(user=student, message_id=message.pk, emoji=THUMBS)
    assert reactions.remove_reaction(user=mentor, message_id=message.pk, emoji=THUMBS) is False
    assert Reaction.objects.count() == 1


def test_the_payload_groups_reactions_by_emoji_in_order(group, assigned):
    mentor, student = assigned
    message = say(mentor, group)
    reactions.add_reaction(user=student, message_id=message.pk, emoji="🎉")
    reactions.add_reaction(user=group.other, message_id=message.pk, emoji=THUMBS)
    reactions.add_reaction(user=mentor, message_id=message.pk, emoji="🎉")
    payload = events.message_payload(selectors.message_for(student, message.pk))
    assert payload["reactions"] == [
        {
            "emoji": "🎉",
            "count": 2,
            "users": [events.user_payload(student), events.user_payload(mentor)],
        },
        {"emoji": THUMBS, "count": 1, "users": [events.user_payload(group.other)]},
    ]
    # History pages carry the same, read with the page (not one query each).
    page = selectors.history(user=mentor, conversation_id=group.pk)
    (shown,) = [events.message_payload(m) for m in page if m.pk == message.pk]
    assert shown["reactions"] == payload["reactions"]


# --- Refusals -----------------------------------------------------------------------


def test_outsiders_are_refused_and_recorded(direct, assigned, make_user):
    mentor, _ = assigned
    message = say(mentor, direct)
    outsider = make_user(Role.STUDENT)
    for act in (reactions.add_reaction, reactions.remove_reaction):
        with pytest.raises(AccessDenied):
            act(user=outsider, message_id=message.pk, emoji=THUMBS)
    denials = AuditLog.objects.filter(actor=outsider, action=AuditAction.ACCESS_DENIED)
    assert {d.details["attempted"] for d in denials} == {"reaction.add", "reaction.remove"}
    assert not Reaction.objects.exists()


def test_no_such_message(student):
    import uuid

    with pytest.raises(NotFound):
        reactions.add_reaction(user=student, message_id=uuid.uuid4(), emoji=THUMBS)


def test_deleted_and_system_messages_are_not_found(group, assigned):
    mentor, student = assigned
    message = say(mentor, group)
    services.delete_message(actor=mentor, message_id=message.pk)
    notice = notice_in(group)
    for target in (message, notice):
        for act in (reactions.add_reaction, reactions.remove_reaction):
            with pytest.raises(NotFound):
                act(user=student, message_id=target.pk, emoji=THUMBS)


def test_hidden_messages_are_refused(group, assigned, moderator):
    mentor, student = assigned
    message = say(mentor, group)
    actions.hide_message(moderator=moderator, message_id=message.pk, note="rude")
    for act in (reactions.add_reaction, reactions.remove_reaction):
        with pytest.raises(MessageHidden) as refused:
            act(user=student, message_id=message.pk, emoji=THUMBS)
        assert refused.value.code == "hidden"


def test_archived_refuses_adding_not_taking_back(group, assigned):
    mentor, student = assigned
    message = say(mentor, group)
    reactions.add_reaction(user=student, message_id=message.pk, emoji=THUMBS)
    services.set_archived(actor=mentor, conversation_id=group.pk, archived=True)
    with pytest.raises(ConversationArchived):
        reactions.add_reaction(user=student, message_id=message.pk, emoji="🎉")
    assert reactions.remove_reaction(user=student, message_id=message.pk, emoji=THUMBS)


def test_muted_people_may_not_add_but_may_take_back(group, assigned, moderator):
    mentor, student = assigned
    message = say(mentor, group)
    reactions.add_reaction(user=student, message_id=message.pk, emoji=THUMBS)
    actions.mute_user(
        moderator=moderator, user_id=student.pk, conversation_id=group.pk, minutes=10, note="x"
    )
    with pytest.raises(Muted):
        reactions.add_reaction(user=student, message_id=message.pk, emoji="🎉")
    assert reactions.remove_reaction(user=student, message_id=message.pk, emoji=THUMBS)


def test_a_block_in_a_direct_conversation_refuses_reactions(direct, assigned, make_user):
    mentor, student = assigned
    message = say(student, direct)
    blocks.block_person(blocker=mentor, blocked_id=student.pk)
    with pytest.raises(PersonBlocked):
        reactions.add_reaction(user=mentor, message_id=message.pk, emoji=THUMBS)
    with pytest.raises(PersonBlocked):
        reactions.add_reaction(user=student, message_id=message.pk, emoji=THUMBS)


def test_limits_per_person_and_per_message(group, assigned, settings):
    mentor, student = assigned
    settings.PARLEY = {**settings.PARLEY, "MAX_REACTIONS_PER_PERSON": 2}
    settings.PARLEY["MAX_REACTIONS_PER_MESSAGE"] = 3
    message = say(mentor, group)
    reactions.add_reaction(user=student, message_id=message.pk, emoji="😀")
    reactions.add_reaction(user=student, message_id=message.pk, emoji="😁")
    with pytest.raises(TooManyReactions) as refused:
        reactions.add_reaction(user=student, message_id=message.pk, emoji="😂")
    assert refused.value.code == "too_many_reactions"
    reactions.add_reaction(user=mentor, message_id=message.pk, emoji="😂")  # third distinct
    with pytest.raises(TooManyReactions):
        reactions.add_reaction(user=group.other, message_id=message.pk, emoji="🤣")
    # An emoji already there is never over the distinct limit.
    assert reactions.add_reaction(user=group.other, message_id=message.pk, emoji="😀")
    assert Reaction.objects.count() == 4


def test_bad_emoji_is_invalid_before_anything(direct, assigned):
    mentor, student = assigned
    message = say(mentor, direct)
    with pytest.raises(InvalidInput):
        reactions.add_reaction(user=student, message_id=message.pk, emoji="nope")


# --- A moderator's removal ----------------------------------------------------------


def test_a_moderator_removes_a_reaction_through_the_admin(client, group, assigned, moderator):
    mentor, student = assigned
    message = say(mentor, group)
    reactions.add_reaction(user=student, message_id=message.pk, emoji="🖕")
    reaction = Reaction.objects.get()
    changelist = reverse("admin:messaging_reaction_changelist")
    client.force_login(moderator)
    assert "🖕" in client.get(changelist).content.decode()
    form = {"action": "remove_reactions", "_selected_action": [reaction.pk]}
    # The note page first; nothing is removed without a note.
    page = client.post(changelist, form)
    assert page.status_code == 200 and "Remove the reactions" in page.content.decode()
    assert client.post(changelist, {**form, "apply": "1", "note": "  "}).status_code == 200
    assert Reaction.objects.exists()
    done = client.post(changelist, {**form, "apply": "1", "note": "rude gesture"})
    assert done.status_code == 302
    assert not Reaction.objects.exists()
    row = AuditLog.objects.filter(action=AuditAction.REACTION_REMOVE).get()
    assert row.actor == moderator and row.target_user_id == student.pk
    assert row.details == {"emoji": "🖕", "moderation": True, "note": "rude gesture"}


def test_only_moderators_see_the_reactions_list(client, assigned, make_user, moderator):
    staff = make_user(Role.MENTOR, is_staff=True)
    client.force_login(staff)
    for name in ("reaction", "pin", "linkpreview"):
        assert client.get(reverse(f"admin:messaging_{name}_changelist")).status_code == 403
    client.force_login(moderator)
    for name in ("reaction", "pin", "linkpreview"):
        assert client.get(reverse(f"admin:messaging_{name}_changelist")).status_code == 200


def test_the_lists_name_messages_without_their_words(client, direct, assigned, moderator):
    """A reaction, a pin or a link card may be on any message of any
    conversation: the lists say which message and link to the audited
    review page, and never show what a direct conversation says."""
    mentor, student = assigned
    secret = say(mentor, direct, "meet me about the scholarship appeal")
    reactions.add_reaction(user=student, message_id=secret.pk, emoji="👍")
    pins.pin_message(user=student, message_id=secret.pk)
    LinkPreview.objects.create(
        message=secret,
        url="https://docs.example/appeal",
        state=PreviewState.READY,
        title="Appeal letter draft",
        description="Grades and family circumstances",
    )
    client.force_login(moderator)
    pages = [reverse(f"admin:messaging_{name}_changelist") for name in ("reaction", "pin")]
    pages += [
        reverse("admin:messaging_linkpreview_changelist"),
        reverse("admin:messaging_linkpreview_change", args=[secret.pk]),
    ]
    review = reverse("admin:messaging_moderationcase_review", args=[direct.pk])
    for url in pages:
        page = client.get(url).content.decode()
        for words in ("scholarship", "Appeal letter", "family circumstances"):
            assert words not in page, (url, words)
    searched = reverse("admin:messaging_linkpreview_changelist") + "?q=Appeal+letter"
    assert "0 results" in client.get(searched).content.decode()
    for url in pages[:3]:
        assert f"{review}?page=1&amp;message={secret.pk}" in client.get(url).content.decode()
    assert not AuditLog.objects.filter(action=AuditAction.REVIEW_CONVERSATION).exists()
    assert "scholarship" in client.get(review, {"message": secret.pk}).content.decode()
    assert AuditLog.objects.filter(action=AuditAction.REVIEW_CONVERSATION, actor=moderator).exists()


def test_one_action_acts_on_at_most_so_many_rows(client, group, assigned, moderator, monkeypatch):
    mentor, student = assigned
    for text in ("one", "two"):
        reactions.add_reaction(user=student, message_id=say(mentor, group, text).pk, emoji="👍")
    monkeypatch.setattr(moderation_admin, "MAX_ROWS_PER_ACTION", 1)
    client.force_login(moderator)
    changelist = reverse("admin:messaging_reaction_changelist")
    form = {
        "action": "remove_reactions",
        "select_across": "1",
        "_selected_action": [Reaction.objects.first().pk],
        "apply": "1",
        "note": "all of them",
    }
    response = client.post(changelist, form, follow=True)
    assert "Select at most 1 rows" in response.content.decode()
    assert Reaction.objects.count() == 2


def test_moderator_removal_is_refused_to_others(group, assigned):
    mentor, student = assigned
    message = say(mentor, group)
    reactions.add_reaction(user=student, message_id=message.pk, emoji=THUMBS)
    with pytest.raises(AccessDenied):
        reactions.remove_reaction_as_moderator(
            moderator=mentor, reaction_id=Reaction.objects.get().pk, note="mine"
        )
    assert Reaction.objects.exists()
