"""Schemathesis holds a real server to its own OpenAPI schema.

``st run --checks all`` against a real server process, once with a
student's token, once with a mentor's and once with an admin's (fault case
17, docs/reliability.md; the schema's boundaries once, ``PHASES``), a fixed
seed and a bounded number of examples per operation: no 5xx, every status
and body as the schema says, everything the schema allows accepted and
everything it forbids refused.

Half the ids Schemathesis sends are real (the conversations, messages and
people made below), so requests get past "no such conversation" into the
services; the other half are whatever it makes up, malformed ones included.
"""

import json
import re
import subprocess
import sys
import urllib.request
import uuid
from pathlib import Path

import pytest

from accounts import services as account_services
from accounts.models import Role
from messaging import services
from messaging.models import ConversationType
from messaging.support import services as support_services
from messaging.support.models import SupportCategory
from notifications.models import Notification

pytestmark = [pytest.mark.services, pytest.mark.django_db(transaction=True)]

SEED = 20_261_017
MAX_EXAMPLES = 6
# Schemathesis' coverage phase (every boundary of every parameter, about
# 5,000 of a run's 5,800 cases and most of its time) tries the schema's
# edges, which are the same whoever asks; it runs with the student's token,
# the one most is refused to. The other roles run the phases that send the
# real ids (fuzzing and the stateful links), where what a role may reach
# differs.
PHASES = {
    "student": "examples,coverage,fuzzing,stateful",
    "mentor": "examples,fuzzing,stateful",
    "admin": "examples,fuzzing,stateful",
}

# Sends, edits and deletes are limited per user (5/s, burst 20); the limit
# is not what is tried here, and a 429 depends on the machine's speed, so it
# is raised out of the way. The token endpoint keeps its throttle (its 429
# is in the schema).
SERVER_ENV = {"PARLEY_SEND_RATE_PER_SECOND": "10000", "PARLEY_SEND_BURST": "10000"}

# Refusals the schema cannot state, each a 400 ``invalid`` for a body that
# is well-formed: an id that names nobody, a rule across fields or across
# rows (a group needs a name; a direct conversation has two people and no
# title; nobody leaves one), wrong credentials. Schemathesis' default list
# plus 400, for these operations only.
CROSS_FIELD_REFUSALS = {
    "conversations_create": "participant_ids that name nobody; a group needs a title; "
    "a direct conversation is with one other person, and has no title; an encrypted one is "
    "not support, has "
    "no bot and at most PARLEY_E2E_MAX_MEMBERS members",
    "conversations_rename": "a direct conversation has no title; a group needs one",
    "messages_send": "attachments that are not unsent uploads of the sender in that "
    "conversation; content is required when there are no attachments; e2e for a plain "
    "conversation (e2e_not_allowed) or content for an encrypted one (e2e_required), a "
    "device_id that is not the sender's active device",
    "messages_edit": "e2e for a plain message (e2e_not_allowed), content for an encrypted "
    "one (e2e_required)",
    # Reactions and saved messages (messaging.threads.api.reactions).
    "reactions_add": "an emoji path segment that is not exactly one emoji",
    "reactions_remove": "an emoji path segment that is not exactly one emoji",
    "saved_list": "a before that is not a date-time Python can read (a leap second)",
    "participants_add": "user_ids that name nobody; a direct conversation has two people",
    "participants_remove": "nobody leaves a direct conversation",
    "auth_token": "wrong email or password",
    "notification_preferences_update": "quiet hours that start when they end",
    "conversation_mute": "a mute that ends in the past (or a date-time Python cannot read, "
    "such as a leap second)",
    "push_subscriptions_create": "an endpoint that is not https to a public host (the server "
    "posts to it); a p256dh that is not a point on P-256",
    "search": "a q with nothing to search for (spaces, punctuation) or a bad operator value "
    "(has:video, before:soon)",
    "support_requests_list": "a category slug that names no category",
    "support_requests_create": "a category slug that names no active category; a subject "
    "that is blank, over SUPPORT_SUBJECT_MAX_CHARS or not one line",
    "support_requests_assign": "an assignee_id that is not an active admin",
    "support_requests_rate": "a comment over SUPPORT_RATING_COMMENT_MAX_CHARS",
    "support_requests_bulk": "an assignee_id that is not an active admin",
    "messages_report": "one's own message or a system message; details with a character "
    "the API refuses in any text; e2e for a plain message, or an encrypted message's e2e "
    "that does not match its franking tag",
    "blocks_create": "blocking oneself",
    # Reminders (messaging.integrations.reminders.api).
    "reminders_create": "remind_at and preset: exactly one; a time in the future and within "
    "REMINDERS_MAX_DAYS_AHEAD; a note with a character the API refuses in any text",
    "reminders_snooze": "remind_at and preset: at most one, or a note; a time in the future "
    "and within REMINDERS_MAX_DAYS_AHEAD",
    # Scheduled messages (messaging.integrations.scheduling.api).
    "scheduled_messages_create": "a send_at that is not a date and time Python reads, is "
    "past, more than SCHEDULED_MESSAGES_MAX_DAYS ahead, or skipped by the clocks in time_zone",
    "scheduled_messages_edit": "as for creating; a body with neither content nor send_at",
    "messages_delete": "a system message (someone joined or left)",
    # Bots and incoming webhooks (messaging.integrations.bots, .webhooks).
    "bots_create": "an outgoing_url that is refused (not http(s), a private, local or "
    "metadata address, a port other than 80 and 443, a host that does not resolve); a "
    "display name blank once stripped, or not one line",
    "bots_update": "as bots_create; an outgoing_url for an assistant bot",
    "bots_token_rotate": "a deactivated bot",
    "conversation_webhooks_create": "a name blank once stripped or not one line; a "
    "conversation that is not a group",
    # End-to-end encryption (messaging.e2e.api): what cryptography decides.
    "e2e_devices_create": "a public key that is not a point on P-256; an approval whose "
    "signature does not verify, or a first device that does not sign itself; an id used "
    "before; more than 20 devices",
    "e2e_devices_approve": "a signature that does not verify; a signer that is not one of "
    "your active devices; envelopes not for the device, of no encrypted conversation of "
    "yours, at a version that does not exist, or with a signature that does not verify",
    "e2e_conversation_key_create": "a point not on P-256; envelopes not signed by one active "
    "device of yours, or with a signature that does not verify",
    "e2e_recovery_put": "a device_id that is not your active recovery device",
}
POSITIVE_STATUSES = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]
# Refusals of what a file holds, which a schema cannot describe: an upload
# whose bytes are of a type not allowed (415), empty or damaged (422). Its
# bodies are made well-formed only: daphne answers a multipart body it
# cannot parse itself, with 400 and no body (docs/api.md, Errors), before
# Parley sees the request.
FILE_REFUSALS = {"attachments_upload": ["415", "422"]}


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
        )
    raise TypeError(value)


def config(ids: dict[str, list[str]]) -> str:
    """schemathesis.toml: no state kept between runs, the real ids as
    dictionaries bound to the parameters and body fields that take them,
    and the per-operation refusals above."""
    lines = [
        "[cache]",
        "enabled = false",
        "[generation]",
        'database = "none"',
    ]
    lines.append("[dictionaries]")
    for name, values in ids.items():
        lines.append(f"{name} = {_toml_value({'values': values})}")
    bindings = {
        "path.conversation_id": "conversations",
        "path.message_id": "messages",
        "path.user_id": "users",
        "path.notification_id": "notifications",
        "path.request_id": "support_requests",
        "body.ids[*]": "support_requests",
        "query.before": "notifications",
        "query.user_ids": "users",
        "body.participant_ids[*]": "users",
        "body.user_ids[*]": "users",
    }
    lines.append("[parameters]")
    for key, dictionary in bindings.items():
        lines.append(
            f"{json.dumps(key)} = {_toml_value({'dictionary': dictionary, 'probability': 0.5})}"
        )
    for operation_id in CROSS_FIELD_REFUSALS:
        lines += [
            "[[operations]]",
            f"include-operation-id = {json.dumps(operation_id)}",
            f"checks.positive_data_acceptance.expected-statuses = {_toml_value(POSITIVE_STATUSES)}",
        ]
    for operation_id, statuses in FILE_REFUSALS.items():
        lines += [
            "[[operations]]",
            f"include-operation-id = {json.dumps(operation_id)}",
            'generation.mode = "positive"',
            "checks.positive_data_acceptance.expected-statuses = "
            + _toml_value(POSITIVE_STATUSES + statuses),
        ]
    return "\n".join(lines) + "\n"


@pytest.fixture(autouse=True)
def _fast_password_hashing_here(settings):
    """Nobody's password is checked in these runs (tokens are made directly,
    and Schemathesis knows no one's email), so users are made quickly."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def world(make_user, assigned, send_as):
    """A mentor and a student they look after, an admin, another student; a
    group of all but the last, a direct conversation, a message of each."""
    mentor, student = assigned
    admin = make_user(Role.ADMIN, is_staff=True)
    other = make_user(Role.STUDENT)
    group = services.create_conversation(
        creator=mentor, kind=ConversationType.GROUP, participants=[student, admin], title="G"
    )
    direct = services.create_conversation(
        creator=mentor, kind=ConversationType.DIRECT, participants=[student]
    )
    messages = [send_as(user, group) for user in (student, admin, mentor)]
    messages.append(send_as(student, direct))
    support_request = support_services.open_request(
        requester=student,
        category_id=SupportCategory.objects.get_or_create(
            slug="complaint", defaults={"name": "Complaint"}
        )[0].pk,
        subject="Help",
        body="Please help.",
        client_id=uuid.uuid4(),
    )
    return {
        "student": student,
        "mentor": mentor,
        "admin": admin,
        "ids": {
            "conversations": [str(group.pk), str(direct.pk)],
            "messages": [str(m.pk) for m in messages],
            "users": [str(u.pk) for u in (mentor, student, admin, other)],
            "support_requests": [str(support_request.pk)],
            # Being added to the group told the student and the admin.
            "notifications": [str(pk) for pk in Notification.objects.values_list("pk", flat=True)],
        },
    }


@pytest.fixture
def send_as():
    def send(user, conversation):
        return services.send_message(
            sender=user, conversation_id=conversation.pk, content="hello", client_id=uuid.uuid4()
        ).message

    return send


def fetch_schema(server, token: str) -> dict:
    """The schema as a client reads it, with its token (the schema may be
    served to signed-in people only)."""
    request = urllib.request.Request(
        f"{server.http_url}/api/schema/?format=json", headers={"Authorization": f"Token {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


@pytest.mark.parametrize("role", list(PHASES))
def test_the_server_keeps_to_its_schema(asgi_server, world, role, tmp_path: Path):
    token = account_services.issue_api_token(user=world[role])
    # Uploads it makes are stored in the test's own folder, never in var/.
    server = asgi_server(extra_env={**SERVER_ENV, "MEDIA_ROOT": str(tmp_path / "media")})
    schema_path = tmp_path / "schema.json"
    schema_path.write_text(json.dumps(fetch_schema(server, token)))
    config_path = tmp_path / "schemathesis.toml"
    config_path.write_text(config(world["ids"]))
    # Schemathesis keeps its state and reports in the working directory: a
    # scratch one, so nothing lands in the checkout and no run feeds the next.
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "schemathesis.cli",
            "--config-file",
            str(config_path),
            "--no-color",
            "run",
            str(schema_path),
            "--url",
            server.http_url,
            "--checks",
            "all",
            "--header",
            f"Authorization: Token {token}",
            "--seed",
            str(SEED),
            "--max-examples",
            str(MAX_EXAMPLES),
            "--phases",
            PHASES[role],
            "--workers",
            "1",
            "--request-timeout",
            "30",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = done.stdout[-20_000:] + done.stderr[-5_000:]
    assert done.returncode == 0, f"{report}\n--- server log ---\n{server.log()}"
    # Cases were made, and every one passed every check.
    counts = re.search(r"(\d+) generated, (\d+) passed", report)
    assert counts and int(counts[1]) > 100 and counts[1] == counts[2], report
