"""The push devices page in real headless Chromium against a daphne process:
the service worker registers from /sw.js, the person's devices are listed
and removed, and "Enable push" subscribes with the server's VAPID key."""

import json

import pytest
from cryptography.hazmat.primitives import serialization
from playwright.sync_api import expect

from notifications.models import PushSubscription
from notifications.services import push
from notifications.vapid import b64url
from tests.browser.conftest import ARTIFACTS, off_loop, open_as
from tests.notifications.helpers import browser_keys

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.services,
    pytest.mark.browser,
]

# Headless Chromium has no push service to reach (it would ask Google's),
# so the test stands in for the browser's PushManager: subscribe() checks
# the applicationServerKey it is given and answers a subscription whose
# endpoint and keys the test made. Everything of Parley's runs for real.
FAKE_PUSH_MANAGER = """
(() => {
  const made = %s;
  const KEPT = "fake-push-server-key";  // the subscription outlives a reload
  const toB64 = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
    .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
  const fromB64 = (text) => Uint8Array.from(
    atob(text.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
  const subscription = (key) => ({
    endpoint: made.endpoint,
    options: { applicationServerKey: key.buffer },
    toJSON: () => ({ endpoint: made.endpoint, expirationTime: null, keys: made.keys }),
    unsubscribe: async () => { sessionStorage.removeItem(KEPT); return true; },
  });
  PushManager.prototype.subscribe = async function (options) {
    if (!options.userVisibleOnly) throw new Error("userVisibleOnly must be true");
    const key = new Uint8Array(options.applicationServerKey);
    sessionStorage.setItem(KEPT, toB64(key));
    return subscription(key);
  };
  PushManager.prototype.getSubscription = async function () {
    const kept = sessionStorage.getItem(KEPT);
    return kept ? subscription(fromB64(kept)) : null;
  };
})();
"""


@pytest.fixture
def phone(pair):
    """A device the student subscribed before (made before the browser
    starts: the ORM does not run in Playwright's thread)."""
    _, student, _ = pair
    subscription, _ = push.subscribe(
        user=student,
        endpoint="https://push.example.com/send/phone",
        user_agent="Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0",
        **browser_keys(),
    )
    return subscription


def test_push_page_registers_the_worker_lists_and_removes_devices(
    pair, phone, browser, asgi_server, console, tmp_path
):
    _, student, _ = pair
    server = asgi_server(extra_env={"VAPID_KEY_FILE": str(tmp_path / "vapid.pem")})
    made = {"endpoint": "http://127.0.0.1:9/push/this-browser", "keys": browser_keys()}

    context, page = open_as(browser, server, console, student, "/settings/push/")
    context.grant_permissions(["notifications"], origin=server.http_url)
    context.add_init_script(FAKE_PUSH_MANAGER % json.dumps(made))
    page.reload()

    # The worker is registered from the site root and controls every page.
    expect(page.locator("body")).to_have_attribute("data-service-worker", "ready")
    registered = page.evaluate(
        "navigator.serviceWorker.getRegistration('/').then("
        "r => r && r.active && [r.active.scriptURL, r.scope])"
    )
    assert registered == [f"{server.http_url}/sw.js", f"{server.http_url}/"]

    devices = page.locator("#push-devices .push-device")
    expect(devices).to_have_count(1)
    expect(devices.first).to_contain_text("Firefox on Android")

    # Enable: subscribes with the server's key and registers the device.
    page.get_by_role("button", name="Enable push on this browser").click()
    expect(devices).to_have_count(2)
    this_browser = devices.filter(has=page.locator(".push-this-browser:visible"))
    expect(this_browser).to_have_count(1)
    # The applicationServerKey given to subscribe() is the server's own.
    pem = (tmp_path / "vapid.pem").read_bytes()
    public = serialization.load_pem_private_key(pem, password=None).public_key()
    expected = b64url(
        public.public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
    )
    assert page.evaluate("sessionStorage.getItem('fake-push-server-key')") == expected
    expect(this_browser).to_contain_text("Chrome on Linux")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "push-settings.png"))

    stored = off_loop(
        lambda: sorted(PushSubscription.objects.filter(user=student).values_list("endpoint"))
    )
    assert stored == sorted([(phone.endpoint,), (made["endpoint"],)])

    # Remove the phone: gone from the page and from the server.
    devices.filter(has_text="Firefox on Android").get_by_role("button", name="Remove").click()
    expect(devices).to_have_count(1)
    assert off_loop(lambda: PushSubscription.objects.filter(pk=phone.pk).exists()) is False
    page.reload()
    expect(devices).to_have_count(1)
    expect(this_browser).to_contain_text("Chrome on Linux")
    context.close()


def test_service_worker_shows_pushes_one_per_conversation(
    pair, browser, asgi_server, console, tmp_path
):
    """A push message handed to the registered worker (Chromium's DevTools
    protocol delivers it as a push service would) becomes a notification
    with the payload's title, body and link; a second one for the same
    conversation replaces the first."""
    _, student, conversation = pair
    server = asgi_server(extra_env={"VAPID_KEY_FILE": str(tmp_path / "vapid.pem")})
    context, page = open_as(browser, server, console, student, "/settings/push/")
    context.grant_permissions(["notifications"], origin=server.http_url)
    expect(page.locator("body")).to_have_attribute("data-service-worker", "ready")

    cdp = context.new_cdp_session(page)
    registrations = []
    cdp.on(
        "ServiceWorker.workerRegistrationUpdated",
        lambda event: registrations.extend(event["registrations"]),
    )
    cdp.send("ServiceWorker.enable")
    for _ in range(100):
        if registrations:
            break
        page.wait_for_timeout(50)
    [registration] = [r for r in registrations if r["scopeURL"] == f"{server.http_url}/"][:1]

    def deliver(payload):
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {
                "origin": server.http_url,
                "registrationId": registration["registrationId"],
                "data": json.dumps(payload),
            },
        )

    url = f"/c/{conversation.pk}/"
    tag = f"conversation:{conversation.pk}"
    base = {"url": url, "tag": tag, "conversation_id": str(conversation.pk)}
    shown = (
        "navigator.serviceWorker.ready.then(r => r.getNotifications()).then(list =>"
        " list.map(n => ({title: n.title, body: n.body, tag: n.tag, url: n.data.url})))"
    )

    def delivered_and_shown(payload):
        """Deliver ``payload`` until it is shown: on a loaded machine a push
        delivered while the worker starts up can be dropped by Chromium,
        and delivering the same one again (same tag) replaces, never adds."""
        notifications = []
        for _ in range(6):
            deliver(payload)
            # page.evaluate awaits the promise (wait_for_function would not).
            for _ in range(100):
                notifications = page.evaluate(shown)
                if any(n["body"] == payload["body"] for n in notifications):
                    return notifications
                page.wait_for_timeout(50)
        return notifications

    first = delivered_and_shown({**base, "title": "Maria Mentor", "body": "First"})
    assert [n["body"] for n in first] == ["First"]
    notifications = delivered_and_shown(
        {**base, "title": "Maria Mentor", "body": "Are you free at 3?"}
    )
    assert notifications == [
        {"title": "Maria Mentor", "body": "Are you free at 3?", "tag": tag, "url": url}
    ]
    context.close()
