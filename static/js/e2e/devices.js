// The Devices page (templates/e2e/devices.html): this browser's device
// (its approval code while pending), the others (Remove), the pending ones
// (Approve after comparing codes, or Reject), the recovery key (made and
// shown once) and recovery on a new browser. docs/e2e.md, "Devices" and
// "Recovery".

import { keyManager } from "./chat.js";
import { api, ApiError } from "./api.js";
import * as scheme from "./crypto.js";
import { el, formatFull } from "../render.js";
import { announce } from "../announce.js";
import { gettext, interpolate } from "../i18n.js";

const root = document.getElementById("e2e-devices");
const app = window.parley || { me: document.body.dataset.userId, conn: null };
const keys = keyManager(app);
const errorLine = document.getElementById("devices-error");
let devices = [];
let mine = null; // {local, device}
let backup = null;
// Whether a recovery key is set, as the server said when it drew the page
// and as this page has seen since: the backup is asked for only then
// (asking answers 404 when there is none).
let recoverySet = JSON.parse(document.getElementById("page-data")?.textContent || "{}").recovery_set !== false;

const statusWords = (device) => ({
  active: gettext("Active"), pending: gettext("Waiting for approval"), revoked: gettext("Removed"),
}[device.status] || device.status);

function since(device) {
  const when = device.approved_at || device.created_at;
  return when ? interpolate(gettext("since %(date)s"), { date: formatFull(new Date(when)) }) : "";
}

async function load() {
  errorLine.textContent = "";
  try {
    mine = await keys.deviceState({ fresh: true });
    devices = await keys.myDevices();
    backup = null;
    if (recoverySet) {
      try {
        backup = await api("GET", "e2e/recovery/");
      } catch (error) {
        if (!(error instanceof ApiError && error.status === 404)) throw error;
      }
    }
    recoverySet = backup !== null;
  } catch (error) {
    errorLine.textContent = error.message;
    return;
  }
  await render();
  root.setAttribute("aria-busy", "false");
  root.dataset.loaded = "true";
}

async function render() {
  const device = mine.device && mine.device.status !== "revoked" ? mine.device : null;
  const state = document.getElementById("this-device-state");
  const code = document.getElementById("this-device-code");
  const setup = document.getElementById("this-device-setup");
  root.dataset.thisDevice = device ? device.status : "none";
  code.hidden = true;
  setup.hidden = true;
  if (!device) {
    state.textContent = gettext("This browser has no keys yet. Set it up to read and write encrypted conversations here.");
    setup.hidden = false;
  } else if (device.status === "pending") {
    state.textContent = interpolate(gettext(
      "%(name)s is waiting for approval. Open the Devices page on another of your devices and approve it there: "
      + "it shows the same code."), { name: device.name });
    code.textContent = await keys.approvalCode(device);
    code.hidden = false;
  } else {
    state.textContent = interpolate(gettext("%(name)s is active %(since)s."), { name: device.name, since: since(device) });
  }
  document.getElementById("recover").hidden = !!(device && device.status === "active");

  const active = device && device.status === "active";
  const others = devices.filter((d) => d.status === "active" && (!device || d.id !== device.id) && d.kind === "browser");
  const pending = devices.filter((d) => d.status === "pending" && (!device || d.id !== device.id));
  const pendingList = document.getElementById("pending-devices");
  pendingList.replaceChildren(...await Promise.all(pending.map(async (d) => el("li", { class: "device", dataset: { id: d.id } },
    el("span", { class: "device-name", dir: "auto", text: d.name || gettext("Browser") }), " ",
    el("span", { class: "muted", text: since(d) }), " ",
    el("span", { class: "approval-code", dataset: { code: await keys.approvalCode(d) } },
      interpolate(gettext("Code %(code)s"), { code: await keys.approvalCode(d) })), " ",
    active ? el("button", { type: "button", class: "btn btn-small btn-primary", dataset: { approve: d.id },
      "aria-label": interpolate(gettext("Approve %(name)s"), { name: d.name }), text: gettext("Approve") }) : null, " ",
    el("button", { type: "button", class: "btn btn-small", dataset: { revoke: d.id },
      "aria-label": interpolate(gettext("Reject %(name)s"), { name: d.name }), text: gettext("Reject") }),
    el("p", { class: "form-error", role: "alert" })))));
  document.getElementById("pending-empty").hidden = pending.length > 0;
  const otherList = document.getElementById("other-devices");
  otherList.replaceChildren(...others.map((d) => el("li", { class: "device", dataset: { id: d.id } },
    el("span", { class: "device-name", dir: "auto", text: d.name || gettext("Browser") }), " ",
    el("span", { class: "muted", text: `${statusWords(d)} ${since(d)}` }), " ",
    el("button", { type: "button", class: "btn btn-small", dataset: { revoke: d.id },
      "aria-label": interpolate(gettext("Remove %(name)s"), { name: d.name }), text: gettext("Remove") }))));
  document.getElementById("others-empty").hidden = others.length > 0;

  const recoveryState = document.getElementById("recovery-state");
  const recoverySetup = document.getElementById("recovery-setup");
  recoveryState.textContent = backup
    ? interpolate(gettext("A recovery key was set up %(date)s."), { date: formatFull(new Date(backup.created_at)) })
    : gettext("You have no recovery key.");
  root.dataset.recovery = backup ? "set" : "none";
  recoverySetup.textContent = backup ? gettext("Make a new recovery key") : gettext("Set up a recovery key");
  // Not while a new key is on the screen, waiting to be written down.
  recoverySetup.hidden = !active || !document.getElementById("recovery-shown").hidden;
}

// --- Actions -----------------------------------------------------------------

document.getElementById("this-device-setup").addEventListener("click", async (event) => {
  event.target.disabled = true;
  try {
    mine = await keys.ensureDevice();
    devices = await keys.myDevices();
    await render();
    document.getElementById("this-device-state").focus?.();
  } catch (error) {
    errorLine.textContent = error.message;
  } finally {
    event.target.disabled = false;
  }
});

root.addEventListener("click", async (event) => {
  const approve = event.target.closest("button[data-approve]");
  const revoke = event.target.closest("button[data-revoke]");
  if (approve) {
    const device = devices.find((d) => d.id === approve.dataset.approve);
    const error = approve.closest("li").querySelector(".form-error");
    approve.disabled = true;
    try {
      await keys.approve(device);
      announce(interpolate(gettext("%(name)s approved."), { name: device.name }));
      await load();
      document.getElementById("pending-title").focus?.();
    } catch (failure) {
      error.textContent = failure.message;
      approve.disabled = false;
    }
  } else if (revoke) {
    askToRevoke(devices.find((d) => d.id === revoke.dataset.revoke), revoke);
  }
});

const revokeDialog = document.getElementById("revoke-dialog");
let revoking = null;
function askToRevoke(device, opener) {
  revoking = { device, opener };
  const activeBrowsers = devices.filter((d) => d.status === "active" && d.kind === "browser" && d.id !== device.id);
  document.getElementById("revoke-last").hidden = device.status !== "active" || activeBrowsers.length > 0 || !!backup;
  document.getElementById("revoke-error").textContent = "";
  revokeDialog.showModal();
  revokeDialog.querySelector("[data-revoke-cancel]").focus();
}
revokeDialog.querySelector("[data-revoke-cancel]").addEventListener("click", () => revokeDialog.close());
revokeDialog.addEventListener("close", () => {
  if (revoking?.opener?.isConnected) revoking.opener.focus();
  else document.getElementById("others-title").focus?.();
  revoking = null;
});
revokeDialog.querySelector("[data-revoke-confirm]").addEventListener("click", async () => {
  if (!revoking) return;
  try {
    await api("DELETE", `e2e/devices/${encodeURIComponent(revoking.device.id)}/`);
    announce(interpolate(gettext("%(name)s removed."), { name: revoking.device.name }));
    revokeDialog.close();
    await load();
  } catch (error) {
    document.getElementById("revoke-error").textContent = error.message;
  }
});

// The recovery key: a recovery device approved by this browser, its keys
// sealed under the key shown once (docs/e2e.md, Recovery).
document.getElementById("recovery-setup").addEventListener("click", async (event) => {
  const button = event.target;
  button.disabled = true;
  errorLine.textContent = "";
  try {
    const local = mine.local;
    const recoveryKey = scheme.makeRecoveryKey();
    const made = await scheme.makeDeviceKeys({ extractable: true });
    const id = window.crypto.randomUUID();
    const body = {
      id, name: gettext("Recovery key"), kind: "recovery", ecdh_public: made.ecdhPublic, signing_public: made.signingPublic,
    };
    body.approval = { signer_device_id: local.device_id, signature: await scheme.sign(local.signingPrivate, keys.statement(body)) };
    await api("POST", "e2e/devices/", body);
    const sealed = await scheme.sealRecovery({
      recoveryKey, userId: app.me, deviceId: id, ecdhPrivate: made.ecdhPrivate, signingPrivate: made.signingPrivate,
    });
    backup = await api("PUT", "e2e/recovery/", sealed);
    recoverySet = true;
    // What is written from now on opens with the recovery key too.
    await keys.rotateAll();
    document.getElementById("recovery-key").textContent = recoveryKey;
    const shown = document.getElementById("recovery-shown");
    shown.hidden = false;
    button.hidden = true;
    shown.focus();
  } catch (error) {
    errorLine.textContent = interpolate(gettext("The recovery key could not be set up: %(reason)s"), { reason: error.message });
  } finally {
    button.disabled = false;
  }
});
document.getElementById("recovery-done").addEventListener("click", async () => {
  document.getElementById("recovery-key").textContent = "";
  document.getElementById("recovery-shown").hidden = true;
  await load();
  document.getElementById("recovery-setup").focus();
});

document.getElementById("recover-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const field = document.getElementById("recover-key");
  const error = document.getElementById("recover-error");
  const submit = event.target.querySelector("button[type=submit]");
  error.textContent = "";
  if (scheme.normalRecoveryKey(field.value).length !== 32) {
    error.textContent = gettext("A recovery key has 32 letters and digits.");
    field.focus();
    return;
  }
  submit.disabled = true;
  try {
    const stored = await api("GET", "e2e/recovery/");
    const opened = await scheme.openRecovery({ recoveryKey: field.value, userId: app.me, backup: stored });
    // This browser's device (pending: the recovery device is active), then
    // approved by the recovery device with every key it can open.
    mine = await keys.ensureDevice();
    await keys.approve(mine.device, { device_id: stored.device_id, ...opened });
    field.value = "";
    announce(gettext("This browser is approved. Your encrypted conversations can be read here."));
    await load();
  } catch (failure) {
    if (failure.code === "wrong_recovery_key") error.textContent = gettext("This recovery key does not open your backup. Check it and try again.");
    else if (failure.status === 404) error.textContent = gettext("You have no recovery key.");
    else error.textContent = failure.message;
    field.focus();
  } finally {
    submit.disabled = false;
  }
});

keys.addEventListener("devices", (event) => {
  if (event.detail.user_id === app.me) load();
});

load();
