"""The assistant's fixtures: the fake endpoint process (``fake_ai.py``),
the settings that point at it, people, and a group with the assistant."""

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from accounts.models import Role
from messaging import services as messaging_services
from messaging.integrations.bots import services as bot_services
from messaging.integrations.models import BotKind
from messaging.models import ConversationType

INSTRUCTIONS = "You are the test assistant. Be brief."
MODEL = "parley-test-model"


class FakeAI:
    """The fake endpoint, as the tests drive it."""

    def __init__(self, port: int):
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def control(self, mode: str = "normal", answer: str | None = None) -> None:
        request = urllib.request.Request(
            f"{self.url}/_control",
            data=json.dumps({"mode": mode, "answer": answer}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200

    def requests(self) -> list[dict]:
        with urllib.request.urlopen(f"{self.url}/_requests", timeout=5) as response:
            return json.loads(response.read())


@pytest.fixture(scope="module")
def fake_ai_process():
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("fake_ai.py"))],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        port = int(process.stdout.readline())
        yield FakeAI(port)
    finally:
        process.kill()
        process.wait(timeout=10)
        process.stdout.close()


@pytest.fixture
def fake_ai(fake_ai_process, settings):
    """The fake endpoint in ``normal`` mode, with the settings that reach
    it: loopback allowed, short timeouts, an edit for every chunk."""
    fake_ai_process.control("normal")
    settings.AI_BASE_URL = f"{fake_ai_process.url}/v1"
    settings.AI_MODEL = MODEL
    settings.AI_API_KEY = "sk-test-key"
    settings.AI_ALLOW = ["127.0.0.1"]
    settings.AI_STREAM = "auto"
    settings.AI_TIMEOUT_SECONDS = 1.0
    settings.AI_TOTAL_TIMEOUT_SECONDS = 3.0
    settings.AI_STREAM_EDIT_INTERVAL_SECONDS = 0
    settings.AI_MAX_HISTORY_MESSAGES = 20
    return fake_ai_process


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN, name="Ada Admin")


@pytest.fixture
def bot(admin):
    return bot_services.create_bot(
        owner=admin,
        display_name="Success Partner AI",
        kind=BotKind.ASSISTANT,
        instructions=INSTRUCTIONS,
        issue_token=False,
    ).bot


@pytest.fixture
def people(make_user):
    """A mentor and two students."""
    return (
        make_user(Role.MENTOR, name="Maria Mentor"),
        make_user(Role.STUDENT, name="Sam Student"),
        make_user(Role.STUDENT, name="Sofia Student"),
    )


@pytest.fixture
def group(admin, people, bot):
    """A group of the admin, the people and the assistant."""
    conversation = messaging_services.create_conversation(
        creator=admin,
        kind=ConversationType.GROUP,
        participants=list(people),
        title="Capstone",
    )
    messaging_services.add_participants(
        actor=admin, conversation_id=conversation.pk, users=[bot.user]
    )
    return conversation
