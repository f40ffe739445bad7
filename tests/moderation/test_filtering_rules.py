"""The rules beyond the single send: who they apply to, captions and file
names, the details of each kind, the per-process copy and its refresh, the
admin that edits them, and the demo's rules."""

import datetime as dt
import threading
import uuid
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role, User
from messaging import services
from messaging.errors import ContentBlocked
from messaging.files.models import AttachmentKind
from messaging.models import (
    AuditAction,
    AuditLog,
    FilterAction,
    FilterHit,
    FilterKind,
    FilterRule,
    Message,
    ModerationCase,
)
from messaging.moderation import filtering
from messaging.moderation.filtering import rules
from messaging.moderation.filtering.admin import FilterRuleForm
from tests.files import makers
from tests.files.factories import make_attachment
from tests.files.uploading import upload

pytestmark = [pytest.mark.services, pytest.mark.django_db]


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")


@pytest.fixture
def group(mentor, student, assigned):
    return services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Study group"
    )


def send(user, conversation, content="", **kwargs):
    return services.send_message(
        sender=user,
        conversation_id=conversation.pk,
        content=content,
        client_id=uuid.uuid4(),
        **kwargs,
    ).message


def verdict(user, text, **kwargs):
    return filtering.check(user=user, conversation=uuid.uuid4(), text=text, **kwargs)


# --- Who a rule applies to ------------------------------------------------------------


def test_a_rule_for_students_leaves_mentors_alone(make_rule, group, mentor, student):
    make_rule(FilterKind.TERM, FilterAction.BLOCK, pattern="stupid", roles=[Role.STUDENT])
    assert send(mentor, group, "that was a stupid bug").content
    with pytest.raises(ContentBlocked):
        send(student, group, "that was a stupid bug")
    assert FilterHit.objects.get().user == student


def test_a_rule_without_roles_applies_to_everyone(make_rule, mentor, student, admin_user):
    make_rule(FilterKind.TERM, FilterAction.BLOCK, pattern="darn")
    for user in (student, mentor, admin_user):
        assert verdict(user, "darn").blocking is not None


def test_stricter_for_students_flags_what_everyone_may_say(make_rule, group, mentor, student):
    make_rule(FilterKind.TERM, FilterAction.FLAG, pattern="idiot", roles=[Role.STUDENT])
    send(mentor, group, "don't be an idiot")
    assert not ModerationCase.objects.exists()
    flagged = send(student, group, "don't be an idiot")
    assert ModerationCase.objects.get().message == flagged


def test_an_inactive_rule_does_nothing(make_rule, student):
    make_rule(FilterKind.TERM, FilterAction.BLOCK, pattern="darn", is_active=False)
    assert verdict(student, "darn").hits == ()


# --- Captions and file names ----------------------------------------------------------------


def test_a_caption_is_checked_and_the_files_stay_unsent(make_rule, group, student):
    make_rule(FilterKind.TERM, FilterAction.BLOCK, pattern="darn")
    image = make_attachment(uploader=student, conversation=group)
    with pytest.raises(ContentBlocked) as refused:
        send(student, group, "d a r n", attachment_ids=[image.pk])
    assert refused.value.rule == FilterKind.TERM
    image.refresh_from_db()
    assert image.message_id is None
    assert FilterHit.objects.get().field == "caption"
    sent = send(student, group, "a fine picture", attachment_ids=[image.pk])
    image.refresh_from_db()
    assert image.message_id == sent.pk


def test_a_flagged_caption_is_delivered_and_flagged(make_rule, group, student):
    make_rule(FilterKind.TERM, FilterAction.FLAG, pattern="darn")
    image = make_attachment(uploader=student, conversation=group)
    message = send(student, group, "darn this", attachment_ids=[image.pk])
    hit = FilterHit.objects.get()
    assert (hit.message, hit.field) == (message, "caption")


def test_an_upload_with_a_blocked_name_is_refused(make_rule, group, student, client):
    make_rule(FilterKind.TERM, FilterAction.BLOCK, pattern="darn")
    client.force_login(student)
    response = upload(client, group, makers.png(), "D4RN-photo.png")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "content_blocked"
    assert response.json()["error"]["rule"] == "term"
    hit = FilterHit.objects.get()
    assert (hit.field, hit.message, hit.excerpt) == ("file_name", None, "D4RN-photo.png")
    assert AuditLog.objects.filter(actor=student, action=AuditAction.FILTER_HIT).count() == 1
    assert upload(client, group, makers.png(), "holiday.png").status_code == 201


def test_a_flagged_file_name_is_flagged_when_the_file_is_sent(make_rule, group, student, client):
    make_rule(FilterKind.TERM, FilterAction.FLAG, pattern="darn")
    document = make_attachment(
        uploader=student, conversation=group, kind=AttachmentKind.PDF, name="darn notes.pdf"
    )
    assert not FilterHit.objects.exists()
    message = send(student, group, "my notes", attachment_ids=[document.pk])
    hit = FilterHit.objects.get()
    assert (hit.field, hit.message) == ("file_name", message)
    assert ModerationCase.objects.get().message == message


def test_links_and_repeats_do_not_apply_to_file_names(make_rule, student):
    make_rule(FilterKind.LINK_LIMIT, FilterAction.BLOCK, max_links=0, new_account_days=30)
    make_rule(FilterKind.REPEAT, FilterAction.BLOCK, repeat_count=2, repeat_window_seconds=60)
    assert verdict(student, "example.com.pdf", field=filtering.FIELD_FILE_NAME).hits == ()
    assert verdict(student, "see example.com").blocking is not None


# --- Each kind's details ---------------------------------------------------------------------


def test_a_pattern_is_matched_on_folded_text_and_on_substituted_letters(make_rule, student):
    make_rule(FilterKind.PATTERN, FilterAction.BLOCK, pattern=r"free\s+crypto")
    assert verdict(student, "FREE   Crÿpto!").blocking is not None
    assert verdict(student, "fr33 crypt0").blocking is not None
    assert verdict(student, "free cryptography class").blocking is not None  # no \b asked
    assert verdict(student, "freedom").blocking is None


def test_a_catastrophic_pattern_gives_up_instead_of_hanging(make_rule, student):
    make_rule(FilterKind.PATTERN, FilterAction.BLOCK, pattern=r"^(a|aa)+$")
    assert verdict(student, "a" * 60 + "!").hits == ()


def test_the_link_limit_is_for_new_accounts_only(make_rule, make_user):
    make_rule(FilterKind.LINK_LIMIT, FilterAction.BLOCK, max_links=2, new_account_days=7)
    newcomer = make_user()
    veteran = make_user(date_joined=timezone.now() - dt.timedelta(days=8))
    three = "https://a.example www.b.example c.example.org"
    assert verdict(newcomer, three).blocking is not None
    assert verdict(newcomer, "https://a.example and www.b.example").blocking is None
    assert verdict(veteran, three).blocking is None


@pytest.mark.parametrize(
    ("text", "blocked"),
    [
        ("I finished.In the morning", False),
        ("see you.At 5", False),
        ("done.Be there", False),
        ("Thanks.Us too", False),
        ("see example.com", True),
        ("evil.io/x", True),
        ("www.x.org", True),
        ("https://example.org", True),
    ],
)
def test_a_sentence_break_is_no_link_for_a_new_account(make_rule, make_user, text, blocked):
    make_rule(FilterKind.LINK_LIMIT, FilterAction.BLOCK, max_links=0, new_account_days=7)
    assert (verdict(make_user(), text).blocking is not None) is blocked


@pytest.mark.parametrize(
    ("text", "blocked"),
    [
        ("My Galaxy A55 broke", False),
        ("room A55", False),
        ("Hello, I'll be in Illinois", False),
        ("skill yourself up", False),
        ("@ss", True),
        ("HeII no", True),
        ("b\na\nd", True),
        ("killyourself", True),
        ("k i l l yourself", True),
    ],
)
def test_a_term_rule_catches_disguises_but_not_codes_or_names(make_rule, student, text, blocked):
    make_rule(FilterKind.TERM, FilterAction.BLOCK, pattern="ass\nhell\nbad\nkill yourself")
    assert (verdict(student, text).blocking is not None) is blocked


def test_repeats_count_in_every_conversation_within_the_window(make_rule, group, student, mentor):
    make_rule(FilterKind.REPEAT, FilterAction.BLOCK, repeat_count=3, repeat_window_seconds=60)
    other = services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="Other"
    )
    first = send(student, group, "Join my channel")
    send(student, other, "join my  CHANNEL")
    send(student, group, "something new")
    with pytest.raises(ContentBlocked) as refused:
        send(student, other, "join my channel")
    assert refused.value.rule == FilterKind.REPEAT
    # Refused sends are not stored, so they do not count: the next is refused too.
    with pytest.raises(ContentBlocked):
        send(student, group, "join my channel")
    # Another sender's copies are theirs.
    send(mentor, group, "join my channel")
    # Once the first one is out of the window, the third is allowed.
    Message.objects.filter(pk=first.pk).update(sent_at=timezone.now() - dt.timedelta(seconds=61))
    assert send(student, group, "join my channel").content == "join my channel"


def test_a_deleted_message_does_not_count_as_a_repeat(make_rule, group, student):
    make_rule(FilterKind.REPEAT, FilterAction.BLOCK, repeat_count=2, repeat_window_seconds=60)
    first = send(student, group, "hello there")
    services.delete_message(actor=student, message_id=first.pk)
    assert send(student, group, "hello there")


def test_an_edit_does_not_count_the_message_against_itself(make_rule, group, student):
    make_rule(FilterKind.REPEAT, FilterAction.BLOCK, repeat_count=2, repeat_window_seconds=60)
    message = send(student, group, "hello there")
    edited = services.edit_message(editor=student, message_id=message.pk, content="Hello there!")
    assert edited.content == "Hello there!"


def test_without_a_repeat_rule_for_the_sender_no_query_is_made(make_rule, mentor, student):
    make_rule(FilterKind.TERM, FilterAction.BLOCK, pattern="darn")
    make_rule(
        FilterKind.REPEAT,
        FilterAction.BLOCK,
        repeat_count=2,
        repeat_window_seconds=60,
        roles=[Role.STUDENT],
    )
    rules.active_rules()
    with CaptureQueriesContext(connection) as queries:
        assert verdict(mentor, "hello").hits == ()
    assert len(queries) == 0
    with CaptureQueriesContext(connection) as queries:
        verdict(student, "hello")
    assert len(queries) == 1


# --- The per-process copy ---------------------------------------------------------------------


def test_no_rules_cost_no_query_once_read(student):
    rules.active_rules()
    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert verdict(student, "anything at all").hits == ()
    assert len(queries) == 0


def test_a_saved_rule_is_seen_at_once(make_rule, student):
    assert verdict(student, "darn").hits == ()
    rule = make_rule(FilterKind.TERM, FilterAction.BLOCK, pattern="heck")
    assert verdict(student, "darn").hits == ()
    rule.pattern = "heck\ndarn"
    rule.save()
    assert verdict(student, "darn").blocking is not None
    rule.is_active = False
    rule.save()
    assert verdict(student, "darn").hits == ()
    rule.is_active = True
    rule.save()
    assert verdict(student, "darn").blocking is not None
    rule.delete()
    assert verdict(student, "darn").hits == ()


def test_another_processs_change_is_seen_through_the_shared_version(make_rule, student):
    """A change made elsewhere reaches this process only through the
    version in the shared cache: without it the copy stays."""
    rule = make_rule(FilterKind.TERM, FilterAction.BLOCK, pattern="heck")
    assert verdict(student, "darn").hits == ()
    # Another process's save: the row changes, this process hears no signal...
    FilterRule.objects.filter(pk=rule.pk).update(pattern="darn")
    assert verdict(student, "darn").hits == ()
    # ...only the new version that process wrote to the cache.
    cache.set(rules.VERSION_KEY, uuid.uuid4().hex, timeout=None)
    assert verdict(student, "darn").blocking is not None


class _ChangeWhileWaiting:
    """Stands in for the loading lock: a rule change lands (``_bump``) just
    as the checking thread reaches the lock, after it took its copy."""

    def __init__(self):
        self.lock = threading.Lock()
        self.changes = 0

    def __enter__(self):
        if not self.changes:
            self.changes += 1
            rules._bump()
        return self.lock.__enter__()

    def __exit__(self, *exc):
        return self.lock.__exit__(*exc)


def test_a_change_while_waiting_for_the_lock_never_leaves_a_send_unfiltered(
    make_rule, student, monkeypatch
):
    """The empty copy a change leaves is not "another thread's read": the
    rules are read again, and the send is refused."""
    make_rule(FilterKind.TERM, FilterAction.BLOCK, pattern="darn")
    lock = _ChangeWhileWaiting()
    monkeypatch.setattr(rules, "_loading", lock)
    assert verdict(student, "darn").blocking is not None
    assert lock.changes == 1
    assert verdict(student, "darn").blocking is not None


def test_a_read_by_another_thread_while_waiting_is_used(make_rule, student, monkeypatch):
    """While one thread waits for the lock another reads the rules: the
    waiting one takes that copy and costs no query."""
    make_rule(FilterKind.TERM, FilterAction.BLOCK, pattern="darn")
    real_lock = rules._loading

    class OtherThreadReads:
        def __enter__(self):
            monkeypatch.setattr(rules, "_loading", real_lock)
            rules.active_rules()  # the other thread's read
            return real_lock.__enter__()

        def __exit__(self, *exc):
            return real_lock.__exit__(*exc)

    monkeypatch.setattr(rules, "_loading", OtherThreadReads())
    with CaptureQueriesContext(connection) as queries:
        found = rules.active_rules()
    assert [rule.name for rule in found] == [FilterRule.objects.get().name]
    assert len(queries) == 1  # the other thread's read only


def test_a_cache_outage_delays_a_change_but_not_a_send(make_rule, student, monkeypatch):
    make_rule(FilterKind.TERM, FilterAction.BLOCK, pattern="darn")
    assert verdict(student, "darn").blocking is not None

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(cache, "get", down)
    assert verdict(student, "darn").blocking is not None  # the copy it has


# --- The admin ----------------------------------------------------------------------------


def form(**data):
    base = {"name": "A rule", "kind": "term", "action": "block", "is_active": True}
    return FilterRuleForm(data={**base, **data})


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"kind": "term", "pattern": "  \n "}, "pattern"),
        ({"kind": "term", "pattern": "...\n---"}, "pattern"),
        ({"kind": "term", "pattern": "!!!"}, "pattern"),
        ({"kind": "pattern", "pattern": ""}, "pattern"),
        ({"kind": "pattern", "pattern": "(unclosed"}, "pattern"),
        ({"kind": "pattern", "pattern": "a*"}, "pattern"),  # matches every message
        ({"kind": "pattern", "pattern": "x" * 1001}, "pattern"),
        ({"kind": "link_limit", "max_links": 2}, "new_account_days"),
        ({"kind": "link_limit", "new_account_days": 7}, "max_links"),
        ({"kind": "repeat", "repeat_count": 3}, "repeat_window_seconds"),
        ({"kind": "repeat", "repeat_window_seconds": 60}, "repeat_count"),
        ({"kind": "repeat", "repeat_count": 1, "repeat_window_seconds": 60}, "repeat_count"),
    ],
)
def test_the_form_asks_for_what_each_kind_needs(data, field):
    bound = form(**data)
    assert not bound.is_valid()
    assert field in bound.errors


@pytest.mark.parametrize(
    "data",
    [
        {"kind": "term", "pattern": "darn\nheck off"},
        {"kind": "pattern", "pattern": r"\b\d{3}-\d{4}\b"},
        {"kind": "link_limit", "max_links": 0, "new_account_days": 7},
        {"kind": "repeat", "repeat_count": 3, "repeat_window_seconds": 60},
    ],
)
def test_the_form_accepts_each_kind(data):
    assert form(**data).is_valid()


@pytest.fixture
def admin_client(client, db):
    root = User.objects.create_superuser(
        email="root@example.test", password="root-password-1", display_name="Root"
    )
    client.force_login(root)
    client.root = root
    return client


def test_rule_changes_in_the_admin_are_audited_and_seen(admin_client, student):
    add = reverse("admin:messaging_filterrule_add")
    response = admin_client.post(
        add,
        {
            "name": "No darn",
            "kind": "term",
            "action": "block",
            "is_active": "on",
            "roles": ["student"],
            "pattern": "darn",
            "message": "",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    rule = FilterRule.objects.get()
    assert rule.roles == ["student"]
    assert verdict(student, "darn").blocking is not None

    change = reverse("admin:messaging_filterrule_change", args=[rule.pk])
    response = admin_client.post(
        change,
        {"name": "No darn", "kind": "term", "action": "flag", "pattern": "darn", "message": ""},
    )
    assert response.status_code == 302
    assert verdict(student, "darn").hits == ()  # no longer active

    delete = reverse("admin:messaging_filterrule_delete", args=[rule.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not FilterRule.objects.exists()

    rows = AuditLog.objects.filter(action=AuditAction.FILTER_RULE_CHANGE).order_by("id")
    assert [row.details["change"] for row in rows] == ["created", "changed", "deleted"]
    assert {row.actor for row in rows} == {admin_client.root}
    assert {row.details["rule"] for row in rows} == {str(rule.pk)}
    assert "is_active" in rows[1].details["fields"]


def test_a_bad_pattern_is_a_form_error_in_the_admin(admin_client):
    response = admin_client.post(
        reverse("admin:messaging_filterrule_add"),
        {"name": "Bad", "kind": "pattern", "action": "block", "pattern": "(", "message": ""},
    )
    assert response.status_code == 200
    assert "not a usable regular expression" in response.content.decode()
    assert not FilterRule.objects.exists()


def test_hits_are_read_only_in_the_admin(admin_client, make_rule, student, mentor, assigned):
    group = services.create_conversation(
        creator=mentor, kind="group", participants=[student], title="G"
    )
    make_rule(FilterKind.TERM, FilterAction.BLOCK, pattern="darn")
    with pytest.raises(ContentBlocked):
        send(student, group, "darn")
    hit = FilterHit.objects.get()
    listing = admin_client.get(reverse("admin:messaging_filterhit_changelist"))
    assert listing.status_code == 200
    page = admin_client.get(reverse("admin:messaging_filterhit_change", args=[hit.pk]))
    assert page.status_code == 200
    assert admin_client.get(reverse("admin:messaging_filterhit_add")).status_code == 403
    response = admin_client.post(reverse("admin:messaging_filterhit_delete", args=[hit.pk]))
    assert response.status_code == 403
    assert FilterHit.objects.filter(pk=hit.pk).exists()


# --- The demo --------------------------------------------------------------------------------


def test_the_demo_has_its_rules_once(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())
    kinds = sorted(FilterRule.objects.values_list("kind", flat=True))
    assert kinds == ["link_limit", "repeat", "term", "term"]
    student_rule = FilterRule.objects.get(roles=[Role.STUDENT])
    assert student_rule.action == FilterAction.FLAG
