// The push devices page (/settings/push/): registers the service worker
// (/sw.js), subscribes this browser with the server's VAPID key and lists
// or removes the person's devices through the REST API (docs/api.md, Push).

import { gettext, interpolate } from "./i18n.js";

const statusLine = document.getElementById("push-status");
const enableButton = document.getElementById("push-enable");
const list = document.getElementById("push-devices");

function say(text) {
  statusLine.textContent = text;
}

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok && response.status !== 204) {
    let message = `${response.status}`;
    try {
      message = (await response.json()).error.message;
    } catch (_) { /* not JSON */ }
    throw new Error(message);
  }
  return response.status === 204 ? null : response.json();
}

function keyBytes(base64url) {
  const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
  const raw = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

const supported = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;

async function registration() {
  await navigator.serviceWorker.register("/sw.js", { scope: "/" });
  return navigator.serviceWorker.ready;
}

function markThisBrowser(endpoint) {
  for (const row of list.querySelectorAll(".push-device")) {
    row.querySelector(".push-this-browser").hidden = row.dataset.endpoint !== endpoint;
  }
}

async function enable() {
  // Asked from the click: browsers refuse a permission prompt without one.
  const permission = await Notification.requestPermission();
  if (permission !== "granted") {
    say(gettext("Notifications are blocked for this site; allow them in the browser's site settings."));
    return;
  }
  enableButton.disabled = true;
  try {
    const reg = await registration();
    const { public_key: key } = await api("GET", "/api/push/vapid-public-key/");
    let subscription = await reg.pushManager.getSubscription();
    if (subscription && subscription.options.applicationServerKey) {
      const current = new Uint8Array(subscription.options.applicationServerKey);
      const wanted = keyBytes(key);
      if (current.length !== wanted.length || current.some((b, i) => b !== wanted[i])) {
        await subscription.unsubscribe(); // made with another server key
        subscription = null;
      }
    }
    subscription ||= await reg.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: keyBytes(key),
    });
    await api("POST", "/api/push/subscriptions/", subscription.toJSON());
    say(gettext("Push is on for this browser."));
    window.location.reload();
  } catch (error) {
    say(interpolate(gettext("Could not enable push: %(reason)s"), { reason: error.message }));
  } finally {
    enableButton.disabled = false;
  }
}

async function remove(row) {
  const button = row.querySelector(".push-remove");
  button.disabled = true;
  try {
    await api("DELETE", `/api/push/subscriptions/${row.dataset.subscriptionId}/`);
    if (supported) {
      const reg = await navigator.serviceWorker.getRegistration("/");
      const mine = reg && (await reg.pushManager.getSubscription());
      if (mine && mine.endpoint === row.dataset.endpoint) await mine.unsubscribe();
    }
    row.remove();
    say(gettext("Device removed."));
  } catch (error) {
    button.disabled = false;
    say(interpolate(gettext("Could not remove the device: %(reason)s"), { reason: error.message }));
  }
}

list.addEventListener("click", (event) => {
  const button = event.target.closest(".push-remove");
  if (button) remove(button.closest(".push-device"));
});

if (!supported) {
  enableButton.disabled = true;
  say(gettext("This browser does not support push notifications."));
} else {
  enableButton.addEventListener("click", enable);
  registration()
    .then(async (reg) => {
      document.body.dataset.serviceWorker = "ready";
      const mine = await reg.pushManager.getSubscription();
      if (mine) markThisBrowser(mine.endpoint);
    })
    .catch((error) => {
      document.body.dataset.serviceWorker = "failed";
      say(interpolate(gettext("The service worker could not start: %(reason)s"), { reason: error.message }));
    });
}
