"""The moderation queue in the Django admin: moderators only (the policy,
not is_staff, decides), open cases first, a case's page with its context,
and actions that require a note and go through the actions service."""

import uuid

import pytest
from django.urls import reverse

from messaging import services
from messaging.files.models import AttachmentKind
from messaging.models import (
    AuditAction,
    AuditLog,
    CaseStatus,
    FilterAction,
    FilterHit,
    Message,
    ModerationCase,
    Mute,
    Warning,
)
from tests.files.factories import make_attachment
from tests.moderation.conftest import report, say

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:messaging_moderationcase_changelist"
ACTIONS = [
    "hide",
    "restore",
    "delete",
    "warn_sender",
    "mute_here",
    "mute_everywhere",
    "deactivate_sender",
    "dismiss",
]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def logged_in(client, user):
    client.force_login(user)
    return client


def change_url(case):
    return reverse("admin:messaging_moderationcase_change", args=[case.pk])


def review_url(conversation):
    return reverse("admin:messaging_moderationcase_review", args=[conversation.pk])


def act(client, action, cases, *, query="", **form):
    """Post an action of the queue's list for ``cases`` (``apply`` sends the
    intermediate page's form)."""
    return client.post(
        reverse(CHANGELIST) + query,
        {"action": action, "_selected_action": [str(c.pk) for c in cases], **form},
    )


def listed(client, **query):
    response = client.get(reverse(CHANGELIST), query)
    assert response.status_code == 200
    return [case.pk for case in response.context["cl"].result_list]


# --- Who may ---------------------------------------------------------------------


@pytest.mark.parametrize("who", ["staff_mentor", "staff_student", "mentor", "student"])
def test_nobody_but_moderators_reaches_the_queue(request, client, who, reported):
    case, messages = reported
    user = request.getfixturevalue(who)
    logged_in(client, user)
    expected = 403 if user.is_staff else 302  # non-staff: to the admin login
    assert client.get(reverse(CHANGELIST)).status_code == expected
    assert client.get(change_url(case)).status_code == expected
    assert client.get(review_url(case.conversation)).status_code == expected
    for action in ACTIONS:
        response = act(client, action, [case], apply="1", note="because", minutes="60")
        assert response.status_code == expected, action
    for model in ("report", "mute", "warning", "userblock"):
        url = reverse(f"admin:messaging_{model}_changelist")
        assert client.get(url).status_code == expected, model
    message = Message.objects.get(pk=case.message_id)
    assert message.hidden_at is None and message.deleted_at is None
    assert not Mute.objects.exists()
    assert ModerationCase.objects.get(pk=case.pk).status == CaseStatus.OPEN
    assert not AuditLog.objects.filter(action=AuditAction.REVIEW_CONVERSATION).exists()


def test_the_admin_index_shows_staff_no_moderation_without_the_permission(
    client, staff_mentor, moderator
):
    logged_in(client, staff_mentor)
    index = client.get(reverse("admin:index"))
    assert index.status_code == 200
    assert b"Moderation cases" not in index.content
    logged_in(client, moderator)
    assert b"Moderation cases" in client.get(reverse("admin:index")).content


def test_a_moderator_sees_the_queue_open_cases_first(client, moderator, reported, assigned):
    case, messages = reported
    mentor, student = assigned
    older = report(messages[2], mentor)
    ModerationCase.objects.filter(pk=older.pk).update(opened_at=case.opened_at.replace(year=2020))
    closed = report(messages[4], mentor)
    ModerationCase.objects.filter(pk=closed.pk).update(status=CaseStatus.DISMISSED)
    logged_in(client, moderator)
    # The list opens on the open cases, the longest waiting first.
    assert listed(client) == [older.pk, case.pk]
    assert listed(client, status="all") == [older.pk, case.pk, closed.pk]
    assert listed(client, status="dismissed") == [closed.pk]
    assert listed(client, status="all", reason="harassment") == [older.pk, case.pk, closed.pk]
    assert listed(client, status="all", reason="spam") == []
    assert listed(client, status="all", conversation__type__exact="direct") == []
    page = client.get(reverse(CHANGELIST)).content.decode()
    assert "line 7" in page and student.display_name in page


def test_hidden_messages_read_as_written_for_moderators(client, moderator, reported):
    case, _ = reported
    Message.objects.filter(pk=case.message_id).update(hidden_at=case.opened_at)
    logged_in(client, moderator)
    assert "[hidden] line 7" in client.get(reverse(CHANGELIST)).content.decode()


def test_the_case_page_shows_context_reports_hits_and_history(
    client, moderator, reported, assigned
):
    case, messages = reported
    mentor, student = assigned
    FilterHit.objects.create(
        rule_name="Rude words",
        action=FilterAction.FLAG,
        user=student,
        conversation=case.conversation,
        message=messages[6],
        excerpt="line 7",
    )
    AuditLog.objects.create(
        actor=moderator,
        action=AuditAction.WARN,
        target_user_id=student.pk,
        conversation_id=case.conversation_id,
        details={"note": "an earlier warning"},
    )
    logged_in(client, moderator)
    response = client.get(change_url(case))
    assert response.status_code == 200
    page = response.content.decode()
    # Five before, five after: lines 2 to 12, not line 1.
    for n in range(2, 13):
        assert f"line {n}<" in page
    assert "line 1<" not in page
    assert 'class="moderation-highlight" aria-current="true"><td>#7<' in page
    assert "Not OK" in page and "Harassment or bullying" in page and mentor.display_name in page
    assert "Rude words" in page
    assert "an earlier warning" in page
    assert review_url(case.conversation) in page


def test_a_case_is_titled_by_whose_message_it_is_not_its_id(client, moderator, reported, assigned):
    case, _ = reported
    _, student = assigned
    logged_in(client, moderator)
    page = client.get(change_url(case)).content.decode()
    title = page.split("<title>")[1].split("</title>")[0]
    assert str(case.message_id) not in title
    assert "Parley admin" in title and "Parley administration" in page
    assert f"Message from {student.display_name}, reported" in page
    reports = client.get(reverse("admin:messaging_report_changelist")).content.decode()
    assert f"Message from {student.display_name}, reported" in reports


# --- The review and the download -------------------------------------------------


def test_reviewing_a_conversation_is_audited_each_time(client, moderator, reported):
    case, _ = reported
    logged_in(client, moderator)
    response = client.get(review_url(case.conversation), {"message": str(case.message_id)})
    assert response.status_code == 200
    page = response.content.decode()
    assert "line 1<" in page and "line 12<" in page
    client.get(review_url(case.conversation), {"page": "1"})
    rows = AuditLog.objects.filter(action=AuditAction.REVIEW_CONVERSATION)
    assert rows.count() == 2
    assert {(r.actor_id, r.conversation_id) for r in rows} == {(moderator.pk, case.conversation_id)}


def test_the_review_pages_long_conversations(client, moderator, group, assigned, settings):
    mentor, _ = assigned
    for n in range(1, 53):
        say(mentor, group, f"msg {n}")
    logged_in(client, moderator)
    first = client.get(review_url(group)).content.decode()
    second = client.get(review_url(group), {"page": "2"}).content.decode()
    assert "msg 50<" in first and "msg 51<" not in first
    assert "msg 51<" in second and "msg 52<" in second and "msg 1<" not in second


def test_moderators_download_reported_files_through_an_audited_path(
    client, moderator, staff_mentor, group, assigned
):
    mentor, student = assigned
    attachment = make_attachment(uploader=student, conversation=group, kind=AttachmentKind.TEXT)
    message = services.send_message(
        sender=student,
        conversation_id=group.pk,
        content="see file",
        client_id=uuid.uuid4(),
        attachment_ids=[attachment.pk],
    ).message
    case = report(message, mentor)
    url = reverse("admin:messaging_moderationcase_download", args=[attachment.pk])

    logged_in(client, staff_mentor)
    assert client.get(url).status_code == 404
    assert not AuditLog.objects.filter(action=AuditAction.FILE_DOWNLOAD).exists()

    logged_in(client, moderator)
    assert url in client.get(change_url(case)).content.decode()
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"line one")
    row = AuditLog.objects.get(action=AuditAction.FILE_DOWNLOAD)
    assert row.actor_id == moderator.pk and row.details["moderation"] is True
    assert row.message_id == message.pk


# --- Actions -----------------------------------------------------------------------


def test_every_action_asks_for_a_note_first(client, moderator, reported):
    case, _ = reported
    logged_in(client, moderator)
    for action in ACTIONS:
        page = act(client, action, [case])
        assert page.status_code == 200, action
        assert page.templates[0].name == "admin/moderation/action_note.html"
        assert 'name="note"' in page.content.decode()
        # Sent without a note: the form again, with the error, and nothing done.
        refused = act(client, action, [case], apply="1", note="  ", minutes="60")
        assert refused.status_code == 200
        assert "This field is required." in refused.content.decode() or (
            "A moderator note is required." in refused.content.decode()
        )
    mute_page = act(client, "mute_here", [case]).content.decode()
    assert "1 hour" in mute_page and "24 hours" in mute_page and "7 days" in mute_page
    assert 'name="text"' in act(client, "warn_sender", [case]).content.decode()
    message = Message.objects.get(pk=case.message_id)
    assert message.hidden_at is None and message.deleted_at is None
    assert ModerationCase.objects.get(pk=case.pk).status == CaseStatus.OPEN
    assert not Mute.objects.exists()


@pytest.fixture
def two_cases(reported, assigned):
    """Two open cases, both on the student's messages in the group."""
    case, messages = reported
    mentor, _ = assigned
    return [case, report(messages[8], mentor)], messages


def notices(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def test_hide_then_restore_several_cases_at_once(client, moderator, two_cases):
    cases, _ = two_cases
    logged_in(client, moderator)
    done = act(client, "hide", cases, apply="1", note="Insults in both")
    assert done.status_code == 302
    hidden = Message.objects.filter(pk__in=[c.message_id for c in cases])
    assert all(m.hidden_at is not None for m in hidden)
    rows = AuditLog.objects.filter(action=AuditAction.MESSAGE_HIDE)
    assert {r.message_id for r in rows} == {c.message_id for c in cases}
    assert {r.actor_id for r in rows} == {moderator.pk}
    assert {r.details["note"] for r in rows} == {"Insults in both"}
    assert set(ModerationCase.objects.values_list("status", flat=True)) == {CaseStatus.ACTIONED}
    # The queue is empty now; the closed cases are under "All".
    assert listed(client) == []
    act(client, "restore", cases, query="?status=all", apply="1", note="On appeal")
    assert all(m.hidden_at is None for m in Message.objects.filter(pk__in=hidden))
    assert AuditLog.objects.filter(action=AuditAction.MESSAGE_RESTORE).count() == 2


def test_delete_and_warn_go_through_the_actions(client, moderator, two_cases, student):
    cases, _ = two_cases
    logged_in(client, moderator)
    act(client, "warn_sender", cases[:1], apply="1", note="first time", text="Please be kind.")
    warning = Warning.objects.get()
    assert warning.user_id == student.pk and warning.text == "Please be kind."
    act(client, "delete", cases[1:], apply="1", note="spam")
    deleted = Message.objects.get(pk=cases[1].message_id)
    assert deleted.deleted_at is not None and deleted.content == ""
    row = AuditLog.objects.get(action=AuditAction.MESSAGE_DELETE, message_id=deleted.pk)
    assert row.details["note"] == "spam" and row.actor_id == moderator.pk


def test_a_mute_is_one_per_sender_and_closes_the_cases(client, moderator, two_cases, student):
    cases, _ = two_cases
    logged_in(client, moderator)
    act(client, "mute_here", cases, apply="1", note="cool off", minutes="1440")
    mute = Mute.objects.get()
    assert mute.user_id == student.pk and mute.conversation_id == cases[0].conversation_id
    assert (mute.ends_at - mute.starts_at).total_seconds() == 24 * 3600
    assert set(ModerationCase.objects.values_list("status", flat=True)) == {CaseStatus.ACTIONED}
    assert AuditLog.objects.get(action=AuditAction.MUTE).details["note"] == "cool off"


def test_a_case_page_acts_on_its_case_and_comes_back(client, moderator, two_cases, student):
    """The case's page offers the list's actions for that case alone: the
    note's page, then back to the case, and a second measure on the case
    the first closed (the list's default filter would hide it)."""
    cases, _ = two_cases
    case, other = cases
    logged_in(client, moderator)
    page = client.get(change_url(case)).content.decode()
    form = page[
        page.index('id="case-actions"') : page.index("</form>", page.index('id="case-actions"'))
    ]
    assert f'name="_selected_action" value="{case.pk}"' in form
    assert all(f'value="{action}"' in form for action in ACTIONS)
    assert 'name="from_case" value="1"' in form
    from_case = {"from_case": "1", "query": "?status=all"}

    note = act(client, "hide", [case], **from_case)
    assert note.templates[0].name == "admin/moderation/action_note.html"
    assert 'name="from_case" value="1"' in note.content.decode()
    assert f'href="{change_url(case)}" class="button cancel-link"' in note.content.decode()
    done = act(client, "hide", [case], apply="1", note="insult", **from_case)
    assert (done.status_code, done["Location"]) == (302, change_url(case))
    assert Message.objects.get(pk=case.message_id).hidden_at is not None
    assert ModerationCase.objects.get(pk=case.pk).status == CaseStatus.ACTIONED
    assert "Hide the messages: 1 done." in notices(client.get(done["Location"]))
    # The case is closed: a second measure from its page still finds it.
    done = act(client, "mute_here", [case], apply="1", note="cool off", minutes="60", **from_case)
    assert (done.status_code, done["Location"]) == (302, change_url(case))
    assert Mute.objects.get().user_id == student.pk
    # The other case was not touched.
    assert Message.objects.get(pk=other.message_id).hidden_at is None
    # From the list, an action still returns to the list.
    listed_done = act(client, "dismiss", [other], apply="1", note="fine")
    assert listed_done["Location"] == reverse(CHANGELIST)


def test_mute_everywhere_and_deactivate(client, moderator, two_cases, student):
    cases, _ = two_cases
    logged_in(client, moderator)
    act(client, "mute_everywhere", cases[:1], apply="1", note="everywhere", minutes="60")
    assert Mute.objects.get().conversation_id is None
    act(client, "deactivate_sender", cases, query="?status=all", apply="1", note="repeated")
    student.refresh_from_db()
    assert student.is_active is False
    assert AuditLog.objects.filter(action=AuditAction.DEACTIVATE).count() == 1


def test_one_refused_case_does_not_stop_the_others(client, moderator, two_cases):
    cases, _ = two_cases
    ModerationCase.objects.filter(pk=cases[0].pk).update(status=CaseStatus.DISMISSED)
    logged_in(client, moderator)
    response = client.post(
        reverse(CHANGELIST) + "?status=all",
        {
            "action": "dismiss",
            "_selected_action": [str(c.pk) for c in cases],
            "apply": "1",
            "note": "not harassment",
        },
        follow=True,
    )
    said = notices(response)
    assert any("already closed" in line for line in said), said
    assert any("1 done" in line for line in said), said
    assert ModerationCase.objects.get(pk=cases[1].pk).status == CaseStatus.DISMISSED
    assert AuditLog.objects.filter(action=AuditAction.CASE_DISMISS).count() == 1


def test_a_mute_is_lifted_with_a_note(client, moderator, two_cases):
    cases, _ = two_cases
    logged_in(client, moderator)
    act(client, "mute_here", cases[:1], apply="1", note="cool off", minutes="60")
    mute = Mute.objects.get()
    url = reverse("admin:messaging_mute_changelist")
    asked = client.post(url, {"action": "lift", "_selected_action": [str(mute.pk)]})
    assert asked.status_code == 200 and 'name="note"' in asked.content.decode()
    client.post(url, {"action": "lift", "_selected_action": [str(mute.pk)], "apply": "1"})
    mute.refresh_from_db()
    assert mute.lifted_at is None  # no note, no lift
    client.post(
        url, {"action": "lift", "_selected_action": [str(mute.pk)], "apply": "1", "note": "ok"}
    )
    mute.refresh_from_db()
    assert mute.lifted_at is not None and mute.lifted_by_id == moderator.pk
    assert AuditLog.objects.get(action=AuditAction.UNMUTE).details["note"] == "ok"


def test_the_mutes_list_says_where_in_the_moderators_language(client, moderator, two_cases):
    cases, _ = two_cases
    logged_in(client, moderator)
    act(client, "mute_everywhere", cases[:1], apply="1", note="cool off", minutes="60")
    url = reverse("admin:messaging_mute_changelist")
    assert "everywhere" in client.get(url).content.decode()
    spanish = client.get(url, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "en todas partes" in spanish


def test_a_case_page_speaks_the_moderators_language(client, moderator, reported):
    """The case's own words (its summary, the message's state, the tables'
    headings), not only Django's around them."""
    case, _ = reported
    logged_in(client, moderator)
    english = client.get(change_url(case)).content.decode()
    assert "1 report · 0 flags" in english and "Review the whole conversation" in english
    assert "unchanged since it was reported." in english
    spanish = client.get(change_url(case), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "1 denuncia · 0 marcas del filtro" in spanish
    assert "Revisar toda la conversación" in spanish
    assert "sin cambios desde la denuncia." in spanish
    assert '<th scope="col">denunciante</th>' in spanish
    for words in ("Review the whole conversation", "unchanged since", ">reporter<", "None."):
        assert words not in spanish, words
