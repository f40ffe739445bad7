"""Stored cross-site scripting, in real headless Chromium against a real
daphne process: hostile markup saved as a display name, a group's title,
message text (plain and Markdown), mentions, file names, a link card, a
support request's subject and a report's details is shown as text on every
page that shows it (the inbox, the conversation with its quotes, pins,
thread panel, link cards and live messages, its members, the jump-to
dialog, search results, saved messages, the notification bell and
settings, the profile, the support pages, every admin page) and in the
missed-message and digest emails, and none of it runs.

Every page is checked three ways: no dialog opened (``alert`` in every
payload), no element, attribute or script of a payload in the document
(``pwn-`` ids, ``on…`` attributes, ``javascript:``, ``vbscript:`` and
``data:text/html`` URLs, ``window.__pwned``), and the payload's own
characters visible as text, so a page that left the payload out would fail
rather than pass. The ``console`` fixture also fails the test on any
Content Security Policy refusal: a handler that got into a page and was
stopped only by the policy is still a defect here. The emails are rendered
with ``page.set_content``, where no policy protects them."""

import datetime as dt
import uuid

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import MentorAssignment, Role, User
from messaging import services
from messaging.files.services.uploads import create_upload
from messaging.models import ConversationType, ReportReason
from messaging.moderation.services import reports
from messaging.moderation.services.staff_groups import ensure_staff_groups
from messaging.support import services as support_services
from messaging.support.models import SupportCategory
from messaging.threads.models import LinkPreview, PreviewState
from messaging.threads.services import pins, reactions, saved
from notifications import tasks
from notifications.models import DigestFrequency, Notification, NotificationPreference
from notifications.services import digests, mutes
from tests.browser.conftest import PASSWORD, TIMEOUT_MS, off_loop, open_as, send_as
from tests.files import makers
from tests.notifications.mailserver import MailServer, send_django_mail_to

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]


def hostile(tag: str, *, slash: bool = True) -> str:
    """One line of markup that runs script in every way a careless page
    would let it: an element with a handler, a break out of a quoted
    attribute, an SVG, a ``javascript:`` link and (with ``slash``) a script
    element. ``tag`` names where it was stored. File names lose everything
    up to a slash, so theirs has no closing tags."""
    text = (
        f"{tag} <img id=pwn-{tag} src=x onerror=alert(__pwned=1)>"
        f"\"'><svg id=pwn-{tag}s onload=alert(1)><a href=javascript:alert(1)>"
    )
    if slash:
        text += "<script>alert(1)</script>"
    return text


def shown(tag: str) -> str:
    """The part of ``hostile(tag)`` a page must show as text."""
    return f"{tag} <img id=pwn-{tag} src=x"


NAME = hostile("Xname")
TITLE = hostile("Xtitle")
PLAIN = "zebra " + hostile("Xplain")
MARKDOWN = (
    "**Xmarkdown** [click](javascript:alert(1)) [entity](javascript&#58;alert(1)) "
    '<a href="javascript:alert(1)">raw</a> ![pic](x" onerror="alert(1)) '
    "[ref][r] <javascript:alert(1)> <img src=x onerror=alert(1)> [angle](<javascript:alert(1)>) "
    "[case](JaVaScRiPt:alert(1)) [data](data:text/html,<script>alert(1)</script>) "
    "[vb](vbscript:alert(1)) ![js](javascript:alert(1)) <svg><script>alert(1)</script></svg>\n\n"
    "[r]: javascript:alert(1)\n"
)
MENTION_OF_SAM = "@Sam Student " + hostile("Xmention")
FILE_NAME = hostile("Xfile", slash=False) + ".txt"
IMAGE_NAME = hostile("Ximage", slash=False) + ".png"
SUBJECT = hostile("Xsubject")
SUPPORT_BODY = hostile("Xsupportbody")
DETAILS = hostile("Xdetails")

# What a payload leaves in a document if any of it got in as markup.
INJECTED = """() => {
    const found = [];
    for (const node of document.querySelectorAll("*")) {
        if (node.id && node.id.startsWith("pwn-")) found.push(`#${node.id}`);
        for (const attribute of node.attributes) {
            if (/^on/i.test(attribute.name)) found.push(`${node.tagName}[${attribute.name}]`);
            if (/^\\s*(javascript|vbscript):|^\\s*data:text\\/html/i.test(attribute.value)) {
                found.push(`${node.tagName}[${attribute.name}=${attribute.value}]`);
            }
        }
    }
    for (const script of document.scripts) {
        if (script.type !== "application/json" && /alert\\(|__pwned/.test(script.textContent)) {
            found.push("script: " + script.textContent.slice(0, 60));
        }
    }
    if (window.__pwned !== undefined) found.push(`window.__pwned=${window.__pwned}`);
    return found;
}"""


class Dialogs:
    """Every dialog any watched page opened (each dismissed at once)."""

    def __init__(self):
        self.seen: list[str] = []

    def watch(self, page):
        def opened(dialog):
            self.seen.append(f"{page.url}: {dialog.type} {dialog.message}")
            dialog.dismiss()

        page.on("dialog", opened)
        return page


def assert_inert(page, dialogs: Dialogs, *texts: str) -> None:
    """``texts`` are visible on ``page`` as text, and nothing ran or got in."""
    body = page.locator("body")
    for text in texts:
        expect(body).to_contain_text(text)
    assert dialogs.seen == []
    assert page.evaluate(INJECTED) == [], page.url


@pytest.fixture
def stored(media):
    """Everything hostile, stored through the services before the browser
    starts: Eve (a mentor whose display name is markup) runs a group whose
    title is markup with Sam (a student) in it and writes there (plain,
    Markdown, a mention of Sam, a file and an image, a link whose card came
    from a hostile page), Sam mentions Eve back, quotes and reports Eve's
    plain message (markup in the details), saves it and answers the
    Markdown one (which Eve pins and reacts to) in its thread, and Eve opens a support
    request whose subject and first message are markup. Ada is a platform
    admin (a superuser of the admin site) who works the support queue
    and the moderation queue."""
    ensure_staff_groups()
    support_services.ensure_default_categories()
    eve = User.objects.create_user(
        email="eve@example.test", password=PASSWORD, display_name=NAME, role=Role.MENTOR
    )
    sam = User.objects.create_user(
        email="sam@example.test", password=PASSWORD, display_name="Sam Student", role=Role.STUDENT
    )
    ada = User.objects.create_user(
        email="ada@example.test",
        password=PASSWORD,
        display_name="Ada Admin",
        role=Role.ADMIN,
        is_staff=True,
        is_superuser=True,
    )
    ada.groups.add(Group.objects.get(name="Moderators"))
    MentorAssignment.objects.create(mentor=eve, student=sam)
    group = services.create_conversation(
        creator=eve, kind=ConversationType.GROUP, participants=[sam], title=TITLE
    )
    direct = services.create_conversation(
        creator=eve, kind=ConversationType.DIRECT, participants=[sam]
    )

    plain = send_as(eve, group, PLAIN)
    markdown = send_as(eve, group, MARKDOWN)
    send_as(eve, group, MENTION_OF_SAM)
    uploads = [
        create_upload(
            uploader=eve, conversation_id=group.pk, upload=SimpleUploadedFile(name, content)
        )
        for name, content in ((FILE_NAME, makers.text()), (IMAGE_NAME, makers.png()))
    ]
    send_as(eve, group, "", attachment_ids=[upload.pk for upload in uploads])
    send_as(sam, group, f"@{NAME} thanks")
    # A quoted reply to the plain message, a thread under the Markdown one,
    # the Markdown one pinned, the plain one saved by Sam.
    send_as(sam, group, hostile("Xquoting"), reply_to_id=plain.pk)
    send_as(sam, group, hostile("Xthread"), parent_id=markdown.pk)
    pins.pin_message(user=eve, message_id=markdown.pk)
    reactions.add_reaction(user=eve, message_id=markdown.pk, emoji="👍")
    saved.save_message(user=sam, message_id=plain.pk)
    # A link's card, as if fetched from a hostile page (title, description,
    # site name), with a URL no page may link to.
    linked = send_as(eve, group, "read https://example.test/article")
    LinkPreview.objects.update_or_create(
        message=linked,
        defaults={
            "url": "https://example.test/article",
            "state": PreviewState.READY,
            "title": hostile("Xcard"),
            "description": hostile("Xcarddescription"),
            "site_name": hostile("Xsite"),
        },
    )
    send_as(eve, direct, hostile("Xdirect"))
    reports.report_message(
        reporter=sam, message_id=plain.pk, reason=ReportReason.HARASSMENT, details=DETAILS
    )
    support = support_services.open_request(
        requester=eve,
        category_id=SupportCategory.objects.order_by("name").first().pk,
        subject=SUBJECT,
        body=SUPPORT_BODY,
        client_id=uuid.uuid4(),
    )
    # The fan-out ran here (tasks are eager in the test process): Sam's
    # bell has the mention, whose excerpt is the payload.
    assert Notification.objects.filter(user=sam, kind="mention").count() == 1
    return {
        "eve": eve,
        "sam": sam,
        "ada": ada,
        "group": group,
        "direct": direct,
        "support": support,
    }


def test_hostile_markup_stays_text_on_every_page(stored, browser, files_server, console):
    server = files_server
    dialogs = Dialogs()
    sam, eve, ada, group = stored["sam"], stored["eve"], stored["ada"], stored["group"]

    # Sam: the inbox, the conversation, its members, the bell, search.
    _, page = open_as(browser, server, console, sam, "/")
    dialogs.watch(page)
    assert_inert(page, dialogs, shown("Xtitle"), shown("Xname"))

    page.goto(f"{server.http_url}/c/{group.pk}/")
    messages = page.locator("#message-list")
    expect(messages).to_contain_text("Xmarkdown")
    assert_inert(
        page,
        dialogs,
        shown("Xtitle"),
        shown("Xname"),
        shown("Xplain"),
        shown("Xmention"),
        "[click](javascript:alert(1))",
        "Xfile <img id=pwn-Xfile src=x",
        f"@{NAME} thanks",
    )
    # The Markdown rendered (bold), its links did not.
    expect(messages.locator("strong", has_text="Xmarkdown")).to_have_count(1)
    expect(messages.locator("a[href^='javascript' i]")).to_have_count(0)
    # An image's name is its alternative text, an attribute and nothing more.
    alternatives = page.evaluate(
        "() => [...document.querySelectorAll('#message-list img')].map((image) => image.alt)"
    )
    # (The stored name is cut to 120 characters, extension kept.)
    assert [a for a in alternatives if a.startswith(shown("Ximage"))], alternatives
    # Eve's name in Sam's mention is a mention, drawn as text.
    expect(messages.locator("span.mention", has_text="Xname")).to_have_count(1)

    # The link card, the quote of the replied-to message, the pinned list
    # and the thread panel.
    card = messages.locator(".link-card")
    expect(card).to_contain_text(shown("Xcard"))
    expect(card).to_contain_text(shown("Xcarddescription"))
    expect(messages.locator(".reply-quote").first).to_contain_text(shown("Xplain"))
    # Who reacted is named in the chip's label and title, attributes only.
    chip = messages.locator(".reactions button[aria-label*='Xname']")
    expect(chip).to_have_count(1)
    assert chip.get_attribute("title").endswith(f"by {NAME}")
    page.locator("#pins-button").click()
    pinned = page.get_by_role("dialog", name="Pinned messages")
    expect(pinned.locator("a.pin-link")).to_have_count(1)
    expect(pinned).to_contain_text(shown("Xname"))
    expect(pinned).to_contain_text("Xmarkdown")
    assert_inert(page, dialogs)
    page.keyboard.press("Escape")
    messages.locator(".thread-summary").first.click()
    panel = page.get_by_role("complementary", name="Thread")
    expect(panel.locator("#thread-list")).to_contain_text(shown("Xthread"))
    expect(panel.locator("#thread-root")).to_contain_text("Xmarkdown")
    assert_inert(page, dialogs)

    # A message arriving live is drawn from its frame, not from the page.
    off_loop(
        services.send_message,
        sender=eve,
        conversation_id=group.pk,
        content="@Sam Student " + hostile("Xlive"),
        client_id=uuid.uuid4(),
    )
    expect(messages).to_contain_text(shown("Xlive"))
    assert_inert(page, dialogs)

    page.goto(f"{server.http_url}/saved/")
    assert_inert(page, dialogs, shown("Xplain"), shown("Xname"))

    page.goto(f"{server.http_url}/c/{group.pk}/members/")
    assert_inert(page, dialogs, shown("Xname"))

    page.goto(f"{server.http_url}/c/{stored['direct'].pk}/")
    expect(page.locator("#message-list")).to_contain_text("Xdirect")
    assert_inert(page, dialogs, shown("Xname"), shown("Xdirect"))

    page.locator("#bell-button").click()
    # Two mentions: the stored one and the live one.
    bell = page.locator("#bell-list li[data-kind=mention]")
    expect(bell).to_have_count(2)
    for tag in ("Xlive", "Xmention"):
        item = bell.filter(has_text=shown(tag))
        expect(item).to_have_count(1)
        for text in (shown("Xname"), shown("Xtitle"), shown(tag)):
            expect(item).to_contain_text(text)
    assert_inert(page, dialogs)

    # The jump-to dialog lists conversations by their names.
    page.keyboard.press("Control+k")
    jump = page.get_by_role("dialog", name="Jump to a conversation")
    page.keyboard.type("Xtitle")
    expect(jump.get_by_role("option")).to_have_count(1)
    expect(jump.get_by_role("option")).to_contain_text(shown("Xtitle"))
    assert_inert(page, dialogs)
    page.keyboard.press("Escape")

    page.goto(f"{server.http_url}/search/?q=zebra")
    results = page.locator("main")
    expect(results).to_contain_text("Xplain")
    assert_inert(page, dialogs, "<img id=pwn-Xplain", shown("Xtitle"))
    expect(results.locator("mark", has_text="zebra")).not_to_have_count(0)

    # The notification settings list muted conversations by title.
    off_loop(mutes.mute_conversation, user=sam, conversation_id=group.pk, until=None)
    page.goto(f"{server.http_url}/settings/notifications/")
    expect(page.locator("#muted-conversations li")).to_have_count(1)
    assert_inert(page, dialogs, shown("Xtitle"))

    # Eve: her own support request, its conversation and her profile.
    _, page = open_as(browser, server, console, eve, "/")
    dialogs.watch(page)
    page.goto(f"{server.http_url}/support/")
    assert_inert(page, dialogs, shown("Xsubject"))
    page.goto(f"{server.http_url}/c/{stored['support'].conversation_id}/")
    expect(page.locator("#message-list")).to_contain_text("Xsupportbody")
    assert_inert(page, dialogs, shown("Xsubject"), shown("Xsupportbody"))
    page.goto(f"{server.http_url}/profile/")
    assert_inert(page, dialogs)
    expect(page.locator("input[name=display_name]")).to_have_value(NAME)

    # Ada: the support queue, and the moderation queue, case and review pages.
    _, page = open_as(browser, server, console, ada, "/")
    dialogs.watch(page)
    page.goto(f"{server.http_url}/support/")
    assert_inert(page, dialogs, shown("Xsubject"), shown("Xname"))
    page.goto(f"{server.http_url}/admin/messaging/moderationcase/")
    assert_inert(page, dialogs, shown("Xplain"))
    page.locator("#result_list tbody a").first.click()
    page.wait_for_load_state()
    assert_inert(page, dialogs, shown("Xplain"), shown("Xdetails"), shown("Xname"))
    page.goto(server.http_url + reverse("admin:messaging_moderationcase_review", args=[group.pk]))
    assert_inert(page, dialogs, shown("Xplain"), shown("Xtitle"), shown("Xname"))
    page.goto(f"{server.http_url}/admin/accounts/user/")
    assert_inert(page, dialogs, shown("Xname"))


def test_every_admin_list_and_page_shows_hostile_markup_as_text(
    stored, browser, files_server, console
):
    """Every model the admin site registers: its list, and the page of its
    list's first row. User text is on many of them (conversations,
    messages, the audit log, reports, attachments, link cards, support
    requests, notifications)."""
    server = files_server
    dialogs = Dialogs()
    _, page = open_as(browser, server, console, stored["ada"], "/")
    dialogs.watch(page)
    models = list(admin.site._registry)
    assert len(models) > 30
    for model in models:
        meta = model._meta
        page.goto(server.http_url + reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
        expect(page.locator("#changelist")).to_have_count(1)
        assert_inert(page, dialogs)
        first_row = page.locator("#result_list tbody tr th a, #result_list tbody tr td a").first
        if first_row.count():
            first_row.click()
            page.wait_for_load_state()
            assert_inert(page, dialogs)
    page.goto(server.http_url + reverse("admin:messaging_message_changelist"))
    assert_inert(page, dialogs, shown("Xplain"), shown("Xname"))


@pytest.fixture
def smtp(tmp_path, settings):
    """A real SMTP server process; Django sends to it."""
    server = MailServer(tmp_path / "mail")
    send_django_mail_to(server, settings)
    settings.PARLEY_MISSED_EMAIL_DELAY_SECONDS = 0
    yield server
    server.stop()


def test_the_emails_show_hostile_markup_as_text(smtp, stored, browser):
    """The emails' HTML parts, as a mail client would draw them: with
    scripts allowed and no Content Security Policy. Five go out: three
    missed-message emails (Sam's mention in the group, Eve's mention by Sam,
    her name inside a mention, and Eve's direct message to Sam) and Sam's
    and Eve's daily digests (conversation names, senders, excerpts, Eve's
    support request by its subject, greetings by name)."""
    sam, eve = stored["sam"], stored["eve"]
    for conversation in (stored["group"], stored["direct"]):
        off_loop(
            tasks.send_missed_messages, conversation_id=str(conversation.pk), user_id=str(sam.pk)
        )

    def digests_now():
        at = timezone.now()
        # Only theirs: everyone else's default digest (daily at 08:00) would
        # be due too when the suite runs in that hour.
        for user in User.objects.exclude(pk__in=[sam.pk, eve.pk]):
            NotificationPreference.objects.update_or_create(
                user=user, defaults={"digest": DigestFrequency.OFF}
            )
        for user in (sam, eve):
            NotificationPreference.objects.update_or_create(
                user=user,
                defaults={
                    "digest": DigestFrequency.DAILY,
                    "digest_hour": at.astimezone(dt.UTC).hour,
                    "digest_weekday": at.astimezone(dt.UTC).weekday(),
                },
            )
        return digests.send_due_digests(at=at)

    assert off_loop(digests_now) == 2
    mailed = smtp.wait_for(5)
    by_subject = {(m["To"], m["Subject"]): m.get_body(preferencelist=("html",)) for m in mailed}
    expected = {
        (sam.email, f"{NAME} mentioned you in {TITLE}"): (
            shown("Xname"),
            shown("Xtitle"),
            shown("Xmention"),
        ),
        (eve.email, f"Sam Student mentioned you in {TITLE}"): (f"@{NAME} thanks", shown("Xtitle")),
        (sam.email, f"{NAME} sent you a message"): (shown("Xname"), shown("Xdirect")),
        (sam.email, "digest"): (shown("Xname"), shown("Xtitle"), shown("Xdirect")),
        (eve.email, "digest"): (shown("Xname"), shown("Xsubject")),
    }
    for key in list(by_subject):
        if "digest" in key[1]:
            by_subject[(key[0], "digest")] = by_subject.pop(key)
    assert sorted(by_subject) == sorted(expected)

    dialogs = Dialogs()
    context = browser.new_context(java_script_enabled=True)
    context.set_default_timeout(TIMEOUT_MS)
    page = dialogs.watch(context.new_page())
    for key, texts in expected.items():
        page.set_content(by_subject[key].get_content(), wait_until="load")
        assert_inert(page, dialogs, *texts)
    context.close()
