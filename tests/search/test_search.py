"""Search on PostgreSQL: each operator, ranking, highlighting, escaping,
every way a message must not be found, and the index kept current by send,
edit, delete and extracted text."""

import datetime
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from messaging import services
from messaging.errors import AccessDenied, InvalidInput, NotFound
from messaging.files.models import AttachmentKind, PreviewState
from messaging.files.services import previews
from messaging.models import Message
from messaging.search import selectors
from messaging.search.models import SearchDocument
from messaging.search.services import indexing
from tests.files.factories import make_attachment
from tests.search.conftest import found, say

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def _on_postgresql():
    assert connection.vendor == "postgresql"


def _at(message: Message, when: datetime.datetime) -> None:
    """Give a message a fixed time (in the table and its search row)."""
    Message.objects.filter(pk=message.pk).update(sent_at=when)
    SearchDocument.objects.filter(message=message).update(sent_at=when)


def _day(day: int) -> datetime.datetime:
    return datetime.datetime(2026, 11, day, tzinfo=datetime.UTC)


# --- Words, phrases, negation ------------------------------------------------------


def test_every_word_must_match_and_stems_match(people, study):
    maria, sam, _, _ = people
    say(maria, study, "The budgets are planned")
    say(maria, study, "Budget only")
    say(maria, study, "Planning only")
    assert found(sam, "budget planning") == ["The budgets are planned"]


def test_a_phrase_matches_its_words_in_order(people, study):
    maria, sam, _, _ = people
    say(maria, study, "the quarterly report is late")
    say(maria, study, "report on the quarterly numbers")
    assert found(sam, '"quarterly report"') == ["the quarterly report is late"]


def test_negated_words_and_phrases_leave_messages_out(people, study):
    maria, sam, _, _ = people
    say(maria, study, "budget draft")
    say(maria, study, "budget final version")
    say(maria, study, "budget final copy")
    assert found(sam, 'budget -draft -"final copy"') == ["budget final version"]


def test_only_negations_and_operators_answer_newest_first_without_text(people, study):
    maria, sam, _, _ = people
    old = say(maria, study, "budget draft")
    middle = say(maria, study, "lunch plans")
    new = say(maria, study, "more lunch")
    for n, message in enumerate((old, middle, new)):
        _at(message, datetime.datetime(2026, 11, 1 + n, tzinfo=datetime.UTC))
    results = selectors.search(user=sam, query="-budget")
    assert [h.message.content for h in results.hits] == ["more lunch", "lunch plans"]
    assert {h.rank for h in results.hits} == {0.0}
    assert results.hits[0].snippet == "more lunch"


# --- Operators ----------------------------------------------------------------------


def test_from_me_an_email_or_a_word_of_the_name(people, study):
    maria, sam, sofia, _ = people
    say(maria, study, "budget from maria")
    say(sam, study, "budget from sam")
    say(sofia, study, "budget from sofia")
    assert found(sam, "budget from:me") == ["budget from sam"]
    assert found(sam, f"budget from:{maria.email.upper()}") == ["budget from maria"]
    assert found(sam, "from:sofia") == ["budget from sofia"]
    assert found(sam, 'from:"Sofia Student"') == ["budget from sofia"]
    # "Student" is a word of two names: either may be meant.
    assert sorted(found(sam, "from:student")) == ["budget from sam", "budget from sofia"]
    assert found(sam, "from:Stud") == []  # whole words, not prefixes
    assert sorted(found(sam, "from:me from:maria")) == ["budget from maria", "budget from sam"]


def test_from_someone_who_shares_no_conversation_finds_nothing(people, study, group):
    maria, sam, _, olga = people
    say(olga, group("Olga's room", olga), "budget from olga")
    assert found(sam, "from:olga") == []
    assert found(sam, f"from:{olga.email}") == []


def test_in_by_id_or_title_words(people, study, group):
    maria, sam, _, _ = people
    alpha = group("Project Alpha", sam)
    say(maria, study, "budget in study")
    say(maria, alpha, "budget in alpha")
    assert found(sam, 'budget in:"project alpha"') == ["budget in alpha"]
    assert found(sam, "budget in:Alpha") == ["budget in alpha"]
    assert found(sam, f"budget in:{study.pk}") == ["budget in study"]
    assert found(sam, "budget in:Alp") == []
    assert found(sam, f"budget in:{uuid.uuid4()}") == []


def test_in_never_names_a_conversation_one_is_not_in(people, study, group):
    maria, sam, _, olga = people
    secret = group("Secret room", olga)
    say(maria, secret, "budget secret")
    assert found(sam, "in:secret") == []
    assert found(sam, f"in:{secret.pk}") == []


def test_has_file_image_and_link(people, study):
    maria, sam, _, _ = people
    image = make_attachment(uploader=maria, conversation=study, kind=AttachmentKind.IMAGE)
    pdf = make_attachment(uploader=maria, conversation=study, kind=AttachmentKind.PDF)
    say(maria, study, "plan picture", attachment_ids=[image.pk])
    say(maria, study, "plan document", attachment_ids=[pdf.pk])
    say(maria, study, "plan at https://example.org/plan")
    say(maria, study, "plan at example.org, no scheme")
    assert sorted(found(sam, "plan has:file")) == ["plan document", "plan picture"]
    assert found(sam, "plan has:image") == ["plan picture"]
    assert found(sam, "plan has:link") == ["plan at https://example.org/plan"]
    assert found(sam, "has:file has:image") == ["plan picture"]


def test_is_unread_is_after_the_users_own_read_cursor(people, study):
    maria, sam, sofia, _ = people
    first = say(maria, study, "budget one")
    say(maria, study, "budget two")
    services.mark_read(user=sam, conversation_id=study.pk, up_to_seq=first.seq)
    assert found(sam, "budget is:unread") == ["budget two"]
    # Sofia has read nothing; Maria wrote both (read for her).
    assert sorted(found(sofia, "is:unread")) == ["budget one", "budget two"]
    assert found(maria, "is:unread") == []


def test_is_mention_by_name_and_by_all_but_not_someone_elses(people, study):
    maria, sam, sofia, _ = people
    say(maria, study, "@Sam Student budget for you")
    say(maria, study, "@Sofia Student budget for you")
    say(maria, study, "@all budget for everyone")
    say(maria, study, "budget for nobody")
    assert sorted(found(sam, "is:mention")) == [
        "@Sam Student budget for you",
        "@all budget for everyone",
    ]
    # The sender's own @all is not a mention of her.
    assert found(maria, "is:mention") == []


def test_before_and_after_are_exclusive_dates_in_the_users_time_zone(people, study):
    maria, sam, _, _ = people
    sam.time_zone = "America/New_York"
    sam.save(update_fields=["time_zone"])
    times = {
        "budget nov 4": datetime.datetime(2026, 11, 4, 15, tzinfo=datetime.UTC),
        # 21:00 on the 5th in New York.
        "budget late nov 5": datetime.datetime(2026, 11, 6, 2, tzinfo=datetime.UTC),
        "budget nov 6": datetime.datetime(2026, 11, 6, 15, tzinfo=datetime.UTC),
    }
    for content, when in times.items():
        _at(say(maria, study, content), when)
    assert found(sam, "budget after:2026-11-05") == ["budget nov 6"]
    assert sorted(found(sam, "budget before:2026-11-06")) == ["budget late nov 5", "budget nov 4"]
    assert found(sam, "after:2026-11-04 before:2026-11-06") == ["budget late nov 5"]
    # In UTC the late message is on the 6th.
    sam.time_zone = "UTC"
    sam.save(update_fields=["time_zone"])
    assert sorted(found(sam, "budget after:2026-11-05")) == ["budget late nov 5", "budget nov 6"]


def test_a_conversation_id_narrows_the_search(people, study, group):
    maria, sam, _, _ = people
    alpha = group("Project Alpha", sam)
    say(maria, study, "budget in study")
    say(maria, alpha, "budget in alpha")
    assert found(sam, "budget", conversation_id=alpha.pk) == ["budget in alpha"]


# --- Ranking, highlighting, escaping ----------------------------------------------------


def test_a_message_with_the_term_twice_ranks_above_once_even_if_older(people, study):
    maria, sam, _, _ = people
    twice = say(maria, study, "syllabus syllabus review")
    once = say(maria, study, "syllabus draft ready")
    _at(twice, datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC))
    _at(once, datetime.datetime(2026, 11, 2, tzinfo=datetime.UTC))
    results = selectors.search(user=sam, query="syllabus")
    assert [h.message.content for h in results.hits] == [twice.content, once.content]
    assert results.hits[0].rank > results.hits[1].rank > 0


def test_words_together_rank_above_words_apart(people, study):
    maria, sam, _, _ = people
    apart = say(maria, study, "schedule posted, exam today")
    together = say(maria, study, "exam schedule posted today")
    _at(together, datetime.datetime(2026, 11, 1, tzinfo=datetime.UTC))
    _at(apart, datetime.datetime(2026, 11, 2, tzinfo=datetime.UTC))
    assert found(sam, "exam schedule") == [together.content, apart.content]


def test_equal_ranks_are_newest_first(people, study):
    maria, sam, _, _ = people
    for day in (1, 3, 2):
        _at(say(maria, study, f"budget {day}"), _day(day))
    assert found(sam, "budget") == ["budget 3", "budget 2", "budget 1"]


def test_words_in_more_messages_than_are_ranked_come_newest_first(people, study, monkeypatch):
    maria, sam, _, _ = people
    twice = say(maria, study, "syllabus syllabus review")
    once = say(maria, study, "syllabus draft ready")
    _at(twice, _day(1))
    _at(once, _day(2))
    monkeypatch.setattr(selectors, "RANKED_AT_MOST", 2)
    assert found(sam, "syllabus") == [twice.content, once.content]  # two: ranked

    newest = say(maria, study, "syllabus posted later")
    _at(newest, _day(3))
    results = selectors.search(user=sam, query="syllabus")
    assert [h.message.content for h in results.hits] == [
        newest.content,
        once.content,
        twice.content,
    ]
    assert all(hit.rank > 0 for hit in results.hits)  # still told, not used to order
    # Narrowed below the bound again (an operator or another word), ranked.
    assert found(sam, "syllabus -draft") == [twice.content, newest.content]


def test_snippets_mark_the_matches(people, study):
    maria, sam, _, _ = people
    say(maria, study, "The budget report and the budgets")
    [hit] = selectors.search(user=sam, query="budget").hits
    assert hit.snippet == "The <mark>budget</mark> report and the <mark>budgets</mark>"


def test_rich_text_is_found_and_shown_as_rendered(people, study):
    maria, sam, _, _ = people
    say(maria, study, "the **budget** is ~~late~~ see [the plan](https://plan.example) `x<y`")
    [hit] = selectors.search(user=sam, query="budget plan").hits
    # Matched on the rendered words; the snippet has no Markdown left.
    assert hit.snippet == ("the <mark>budget</mark> is late see the <mark>plan</mark> x&lt;y")
    assert found(sam, '"budget is late"') == [hit.message.content]
    # The address is not text readers see, so it is not a word.
    assert found(sam, "plan.example") == []


def test_markup_in_a_message_comes_back_escaped(people, study):
    maria, sam, _, _ = people
    say(maria, study, 'budget <script>alert("x")</script> & <b>bold</b>')
    [hit] = selectors.search(user=sam, query="budget").hits
    assert "<script>" not in hit.snippet
    assert hit.snippet == (
        "<mark>budget</mark> &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; "
        "&amp; &lt;b&gt;bold&lt;/b&gt;"
    )
    # The words inside the tags are words like any other.
    assert found(sam, "alert bold") == [hit.message.content]


def test_a_message_cannot_forge_highlighting(people, study):
    maria, sam, _, _ = people
    say(maria, study, "budget \ue000forged\ue001 \ue010")
    [hit] = selectors.search(user=sam, query="budget").hits
    assert hit.snippet == "<mark>budget</mark> forged "


def test_a_long_message_gives_an_excerpt_around_the_match(people, study):
    maria, sam, _, _ = people
    filler = " ".join(f"word{n}" for n in range(200))
    say(maria, study, f"{filler} budget {filler}")
    [hit] = selectors.search(user=sam, query="budget").hits
    assert "<mark>budget</mark>" in hit.snippet
    assert len(hit.snippet) < 400


# --- Never leaks ------------------------------------------------------------------------


def test_nothing_from_a_conversation_the_user_never_joined(people, study, group):
    maria, sam, _, olga = people
    say(maria, group("Secret room", olga), "budget secret")
    say(maria, study, "budget shared")
    assert found(sam, "budget") == ["budget shared"]
    assert found(olga, "budget") == ["budget secret"]


def test_nothing_from_a_conversation_the_user_left(people, study, group):
    maria, sam, _, _ = people
    alpha = group("Project Alpha", sam)
    say(maria, alpha, "budget before leaving")
    services.remove_participant(actor=sam, conversation_id=alpha.pk, user=sam)
    say(maria, alpha, "budget after leaving")
    assert found(sam, "budget") == []
    with pytest.raises(NotFound):
        selectors.search(user=sam, query="budget", conversation_id=alpha.pk)


def test_nothing_for_a_deactivated_account(people, study):
    maria, sam, _, _ = people
    say(maria, study, "budget")
    sam.is_active = False
    sam.save(update_fields=["is_active"])
    assert found(sam, "budget") == []


def test_a_deleted_message_is_not_found_and_its_row_is_gone(people, study):
    maria, sam, _, _ = people
    message = say(maria, study, "budget to delete")
    services.delete_message(actor=maria, message_id=message.pk)
    assert found(sam, "budget") == []
    assert found(sam, "-nothing") == []
    assert not SearchDocument.objects.filter(message=message).exists()


def test_system_messages_are_never_indexed(people, study):
    maria, sam, _, olga = people
    services.add_participants(actor=maria, conversation_id=study.pk, users=[olga])
    assert Message.objects.filter(conversation=study, message_type="system").exists()
    assert found(sam, "added") == []
    assert found(sam, "from:maria") == []
    assert not SearchDocument.objects.filter(conversation=study).exists()


def test_a_conversation_id_one_may_not_read_is_not_found(people, study, group):
    maria, sam, _, olga = people
    secret = group("Secret room", olga)
    for conversation_id in (secret.pk, uuid.uuid4()):
        with pytest.raises(NotFound):
            selectors.search(user=sam, query="budget", conversation_id=conversation_id)


# --- Keeping the index current --------------------------------------------------------------


def test_an_edit_changes_what_matches(people, study):
    maria, sam, _, _ = people
    message = say(maria, study, "kangaroo sighting")
    services.edit_message(editor=maria, message_id=message.pk, content="wombat sighting")
    assert found(sam, "kangaroo") == []
    assert found(sam, "wombat") == ["wombat sighting"]


def test_a_file_name_is_found(people, study):
    maria, sam, _, _ = people
    upload = make_attachment(
        uploader=maria, conversation=study, kind=AttachmentKind.PDF, name="fieldtrip_plan.pdf"
    )
    say(maria, study, "", attachment_ids=[upload.pk])
    [hit] = selectors.search(user=sam, query="fieldtrip").hits
    assert "<mark>fieldtrip</mark>" in hit.snippet


def test_text_extracted_after_the_send_is_found(people, study):
    maria, sam, _, _ = people
    upload = make_attachment(
        uploader=maria,
        conversation=study,
        kind=AttachmentKind.TEXT,
        data=b"photosynthesis needs chlorophyll\n",
    )
    upload.preview_state = PreviewState.PENDING
    upload.save(update_fields=["preview_state"])
    say(maria, study, "notes attached", attachment_ids=[upload.pk])
    assert found(sam, "chlorophyll") == []
    previews.make_preview(upload.pk)
    assert found(sam, "chlorophyll") == ["notes attached"]


@pytest.mark.parametrize("kind", [None, AttachmentKind.IMAGE])
def test_the_send_indexes_in_its_own_statement(people, study, monkeypatch, kind):
    """On PostgreSQL the row is written by the send's one statement: the
    send costs no more statements with search than without."""
    from messaging.services import messages

    maria, sam, _, _ = people

    def send(content):
        ids = []
        if kind:
            ids = [make_attachment(uploader=maria, conversation=study, kind=kind).pk]
        with CaptureQueriesContext(connection) as queries:
            message = say(maria, study, content, attachment_ids=ids)
        return message, len(queries)

    send("warm up")
    indexed, with_search = send("counted")
    unindexed = messages.store_message
    monkeypatch.setattr(
        messages,
        "store_message",
        lambda message, **kwargs: unindexed(message, **{**kwargs, "searchable": False}),
    )
    not_indexed, without_search = send("not counted")
    assert with_search == without_search
    assert SearchDocument.objects.filter(message=indexed).exists()
    assert not SearchDocument.objects.filter(message=not_indexed).exists()
    row = SearchDocument.objects.get(message=indexed)
    assert (row.conversation_id, row.sender_id, row.seq) == (study.pk, maria.pk, indexed.seq)
    assert (row.sent_at, row.has_file, row.has_image) == (indexed.sent_at, bool(kind), bool(kind))
    assert "counted" in found(sam, "counted")


def test_a_refused_send_leaves_no_row(people, study, group):
    maria, _, _, olga = people
    with pytest.raises(AccessDenied):
        say(olga, study, "not a member")
    assert not SearchDocument.objects.exists()


def test_a_resend_keeps_one_row(people, study):
    maria, sam, _, _ = people
    client_id = uuid.uuid4()
    for _ in range(2):
        services.send_message(
            sender=maria, conversation_id=study.pk, content="budget once", client_id=client_id
        )
    assert SearchDocument.objects.count() == 1
    assert found(sam, "budget") == ["budget once"]


def test_rebuild_restores_the_table(people, study):
    maria, sam, _, _ = people
    kept = say(maria, study, "budget kept")
    deleted = say(maria, study, "budget deleted")
    services.delete_message(actor=maria, message_id=deleted.pk)
    SearchDocument.objects.all().delete()
    # A stale row of a deleted message goes too.
    indexing.index_message(Message.objects.get(pk=kept.pk))
    SearchDocument.objects.create(
        message=deleted,
        conversation=study,
        sender=maria,
        seq=deleted.seq,
        sent_at=deleted.sent_at,
        text="budget deleted",
    )
    assert indexing.rebuild(batch_size=1) == 1
    assert found(sam, "budget") == ["budget kept"]
    assert SearchDocument.objects.count() == 1


def test_the_rebuild_command(people, study, capsys):
    from django.core.management import call_command

    maria, sam, _, _ = people
    say(maria, study, "budget one")
    SearchDocument.objects.all().delete()
    call_command("rebuild_search_index", "--batch-size", "10")
    assert "Indexed 1 messages." in capsys.readouterr().out
    assert found(sam, "budget") == ["budget one"]


# --- Paging and bad input -------------------------------------------------------------------


def test_pages_by_limit_and_offset(people, study):
    maria, sam, _, _ = people
    for day in range(1, 6):
        _at(say(maria, study, f"budget {day}"), _day(day))
    first = selectors.search(user=sam, query="budget", limit=2)
    assert [h.message.content for h in first.hits] == ["budget 5", "budget 4"]
    assert (first.has_more, first.next_offset) == (True, 2)
    last = selectors.search(user=sam, query="budget", limit=2, offset=4)
    assert [h.message.content for h in last.hits] == ["budget 1"]
    assert (last.has_more, last.next_offset) == (False, None)


def test_paging_stops_where_the_next_offset_could_not_be_asked_for(people, study, monkeypatch):
    maria, sam, _, _ = people
    for n in range(4):
        say(maria, study, f"budget {n}")
    monkeypatch.setattr(selectors, "MAX_OFFSET", 2)
    page = selectors.search(user=sam, query="budget", limit=1, offset=2)
    assert (len(page.hits), page.has_more, page.next_offset) == (1, False, None)
    page = selectors.search(user=sam, query="budget", limit=1, offset=1)
    assert (page.has_more, page.next_offset) == (True, 2)


@pytest.mark.parametrize("query", ["budget after:9999-12-31", "budget before:0001-01-01"])
def test_dates_at_the_ends_of_the_calendar_are_invalid_not_a_crash(people, study, query):
    _, sam, _, _ = people
    sam.time_zone = "Pacific/Kiritimati"  # UTC+14: the start of 0001-01-01 is before year 1
    sam.save(update_fields=["time_zone"])
    with pytest.raises(InvalidInput) as raised:
        selectors.search(user=sam, query=query)
    assert "takes a date from" in raised.value.message


@pytest.mark.parametrize(
    "kwargs", [{"limit": 0}, {"limit": 51}, {"offset": -1}, {"offset": 1001}, {"query": "has:x"}]
)
def test_bad_paging_or_query_is_invalid(people, kwargs):
    _, sam, _, _ = people
    with pytest.raises(InvalidInput):
        selectors.search(user=sam, **{"query": "budget", **kwargs})
