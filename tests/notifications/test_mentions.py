"""Finding mentions in a message, and storing them with it."""

import uuid

import pytest

from accounts.models import MentorAssignment, Role
from messaging import services, validation
from messaging.errors import InvalidInput
from messaging.mentions import find_mentions
from messaging.models import ConversationType

SAM, SAMANTHA, SAM_STUDENT, ALL = (str(uuid.uuid4()) for _ in range(4))
MEMBERS = [(SAM, "Sam"), (SAM_STUDENT, "Sam Student"), (SAMANTHA, "Samantha Lee")]


def found(text, *, everyone=False, members=MEMBERS):
    return find_mentions(text, members=members, everyone_allowed=everyone)


def test_longest_name_first_and_whole_names_only():
    assert found("hi @Sam Student!").user_ids == [SAM_STUDENT]
    assert found("hi @Sam Studio").user_ids == [SAM]
    assert found("@Samantha Lee and @Sam").user_ids == [SAMANTHA, SAM]
    # "Sam" is not a whole name inside "Samuel"; "Samantha" alone is nobody.
    assert found("@Samuel, @Samantha").user_ids == []


def test_case_insensitive_punctuation_after_and_repeats_once():
    assert found("@sam student: look. @SAM STUDENT?").user_ids == [SAM_STUDENT]
    assert found("(@Sam), ok").user_ids == [SAM]
    assert found("@Sam's turn").user_ids == [SAM]


def test_not_inside_an_email_address_nor_after_a_word():
    assert found("write to jo@Sam Student.org").user_ids == []
    assert found("jo.smith@sam").user_ids == []
    assert found("a@Sam").user_ids == []
    assert found("@@Sam").user_ids == [SAM]  # the second "@" starts one


def test_everyone_only_when_allowed_and_all_wins_over_here():
    assert found("@all read this").everyone is None
    assert found("@all read this", everyone=True).everyone == "all"
    assert found("@here and @all", everyone=True).everyone == "all"
    assert found("@here now", everyone=True).everyone == "here"
    assert found("@allison", everyone=True).everyone is None
    # A member called "All" (an account older than the rule that refuses
    # the name) cannot take a mentor's broadcast over; from someone who may
    # not broadcast, "@all" is that person.
    taken = found("@all read this", everyone=True, members=[(ALL, "All"), (SAM, "Sam")])
    assert (taken.user_ids, taken.everyone) == ([], "all")
    assert found("@Here", everyone=True, members=[(ALL, "here")]).everyone == "here"
    assert found("@all", everyone=False, members=[(ALL, "All")]).user_ids == [ALL]


@pytest.mark.parametrize("name", ["all", "ALL", " Here ", "hErE"])
def test_the_broadcast_words_are_not_display_names(name):
    with pytest.raises(InvalidInput, match="mentions everyone"):
        validation.clean_display_name(name)
    assert validation.clean_display_name("Allison") == "Allison"


def test_metadata_shape():
    assert found("nothing here").as_metadata() == {}
    assert found("@Sam @here", everyone=True).as_metadata() == {
        "mentions": [SAM],
        "mention_everyone": "here",
    }


@pytest.fixture
def study_group(mentor, make_user):
    students = [make_user(Role.STUDENT, name=n) for n in ("Ann Lee", "Ann", "Bob Ray")]
    for s in students:
        MentorAssignment.objects.create(mentor=mentor, student=s)
    group = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=students, title="G"
    )
    return group, students


def send(user, conversation, text):
    return services.send_message(
        sender=user, conversation_id=conversation.pk, content=text, client_id=uuid.uuid4()
    ).message


def test_send_stores_mentions_of_current_members(db, mentor, study_group, make_user):
    group, (ann_lee, ann, bob) = study_group
    stranger = make_user(Role.STUDENT, name="Zed")
    message = send(mentor, group, "@Ann Lee and @ann, not @Zed. @all")
    assert message.metadata["mentions"] == [str(ann_lee.pk), str(ann.pk)]
    assert message.metadata["mention_everyone"] == "all"
    assert str(stranger.pk) not in message.metadata["mentions"]
    message.refresh_from_db()
    assert message.metadata["mentions"] == [str(ann_lee.pk), str(ann.pk)]


def test_all_from_a_student_is_plain_text(db, study_group):
    group, (ann_lee, _ann, bob) = study_group
    message = send(bob, group, "@all @here hey @Ann Lee")
    assert "mention_everyone" not in message.metadata
    assert message.metadata["mentions"] == [str(ann_lee.pk)]


def test_all_in_a_direct_conversation_is_plain_text(db, direct, assigned):
    mentor, student = assigned
    message = send(mentor, direct, "@all see you")
    assert message.metadata == {}


def test_edit_finds_mentions_again(db, mentor, study_group):
    group, (ann_lee, _ann, bob) = study_group
    message = send(mentor, group, "hello @Ann Lee")
    edited = services.edit_message(editor=mentor, message_id=message.pk, content="hello @Bob Ray")
    assert edited.metadata["mentions"] == [str(bob.pk)]
    edited = services.edit_message(editor=mentor, message_id=message.pk, content="hello")
    assert "mentions" not in edited.metadata
