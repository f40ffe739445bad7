// An end-to-end encrypted conversation in the chat page (docs/e2e.md):
// this browser's device (made on first use; a pending one shows its
// approval code), messages decrypted before they are drawn (history, live,
// resumed, edited), sends and edits encrypted before the outbox keeps them,
// files encrypted before upload and decrypted on click, the safety number
// dialog and "{name}'s devices changed". conversation.js calls in here only
// when the page says the conversation is encrypted.

import { KeyManager, scheme } from "./keys.js";
import { loadFingerprint, saveFingerprint } from "./store.js";
import { newClientId } from "../outbox.js";
import { announce, el, nameList } from "../render.js";
import { gettext, interpolate } from "../i18n.js";

const hex = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
// Files shown inline once decrypted: raster images only (never SVG).
const INLINE_IMAGE = /^image\/(png|jpeg|gif|webp)$/;

/** The key manager of the page (one per tab, shared by every module). */
export function keyManager(app) {
  if (!app.e2eKeys) app.e2eKeys = new KeyManager({ me: app.me, conn: app.conn });
  return app.e2eKeys;
}

export class EncryptedChat {
  constructor(view) {
    this.view = view;
    this.app = view.app;
    this.id = view.id;
    this.me = view.me;
    this.keys = keyManager(this.app);
    this.app.e2eChat = this;
    this.device = null;
    this.local = null;
    this.banner = document.getElementById("e2e-banner");
    this.notices = document.getElementById("e2e-notices");
    this.blobUrls = new Map(); // "message:index" -> object URL of a decrypted file
    this.keys.addEventListener("key", (event) => this._onKey(event.detail));
    this.keys.addEventListener("rotated", (event) => this._onKey(event.detail));
    this.keys.addEventListener("rekey", (event) => this._onRekey(event.detail));
    this.keys.addEventListener("devices", (event) => this._onDevices(event.detail));
    this.view.list.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action=e2e-file]");
      if (button) this.openFile(button);
    });
    this._wireSafetyDialog();
    this.ready = this._start();
  }

  // --- This browser's device ---------------------------------------------------

  async _start() {
    try {
      let state = await this.keys.deviceState({ fresh: true });
      if (!state.device || state.device.status === "revoked") state = await this.keys.ensureDevice();
      this.local = state.local;
      this.device = state.device;
    } catch (error) {
      this._showBanner(interpolate(gettext("Encryption is not available in this browser: %(reason)s"), {
        reason: error.message,
      }), "error");
      return;
    }
    await this._showDeviceState();
    if (this.device.status === "active") await this._rotateIfRequired();
    this.checkDevices();
  }

  async _showDeviceState() {
    document.body.dataset.e2eDevice = this.device ? this.device.status : "none";
    if (!this.device || this.device.status === "active") {
      this._showBanner("");
      return;
    }
    const code = await this.keys.approvalCode(this.device);
    this._showBanner(interpolate(gettext(
      "Approve this browser from another of your devices (Devices page): code %(code)s. "
      + "Until then it cannot read or send encrypted messages."), { code }), "pending", code);
  }

  _showBanner(text, kind = "", code = "") {
    if (!this.banner) return;
    this.banner.hidden = !text;
    this.banner.dataset.kind = kind;
    this.banner.dataset.code = code;
    const link = this.banner.dataset.devicesUrl;
    this.banner.replaceChildren(...(text ? [el("span", { text }), " ",
      link && kind === "pending" ? el("a", { href: link, text: gettext("Devices") }) : null] : []));
  }

  async _rotateIfRequired() {
    try {
      const state = await this.keys.conversationState(this.id, { fresh: true });
      if (state.rotation_required || !state.key_version) await this.keys.rotate(this.id);
      // This person's first device came after the current key was made:
      // a new one is made now, so what follows is readable here.
      else if (!(await this.keys.hasEnvelope(this.id, state.key_version))) {
        await this.keys.rotate(this.id, { ifVersion: state.key_version });
      }
    } catch (error) {
      /* another member's browser may make it; a send tries again */
    }
  }

  async _onRekey(frame) {
    if (frame.conversation_id !== this.id) return;
    await this.ready;
    if (this.device && this.device.status === "active") await this._rotateIfRequired();
  }

  _onKey(frame) {
    if (frame.conversation_id !== this.id) return;
    this.redecrypt();
    this.checkDevices();
  }

  async _onDevices(frame) {
    await this.ready;
    if (frame.user_id === this.me) {
      const before = this.device && this.device.status;
      const state = await this.keys.deviceState({ fresh: true }).catch(() => null);
      if (state) this.device = state.device;
      if (this.device && this.device.status === "revoked") {
        this._showBanner(gettext("This browser was removed from your devices: it can no longer read new encrypted messages."), "error");
        return;
      }
      await this._showDeviceState();
      if (before !== "active" && this.device && this.device.status === "active") {
        announce(gettext("This browser was approved: it can read this conversation now."));
        this.redecrypt();
      }
    }
    this.checkDevices();
  }

  // --- Reading -------------------------------------------------------------------

  /**
   * Called before ``message`` is drawn: it carries its decrypted state
   * (``message.plain``), taken from the copy already shown when the
   * ciphertext is the same, else "pending" while it is decrypted.
   */
  prepare(message, known) {
    if (message.message_type !== "encrypted" || message.deleted_at || message.hidden) return;
    if (message.plain) return; // this very copy is decrypted, or being decrypted
    // A copy still being decrypted has no state to share: its result goes
    // to that copy alone, so this one is decrypted on its own.
    const same = known && known.plain && known.plain.state !== "pending" && known.e2e && message.e2e
      && known.e2e.nonce === message.e2e.nonce && known.e2e.ciphertext === message.e2e.ciphertext;
    if (same) {
      message.plain = known.plain;
      return;
    }
    const pending = { state: "pending" };
    message.plain = pending;
    this._decrypt(message, pending);
  }

  async _decrypt(message, pending) {
    await this.ready;
    const plain = await this.decrypt(message);
    // Decrypted again meanwhile (redecrypt): the newer attempt answers.
    if (message.plain !== pending) return;
    message.plain = plain;
    // Drawn again wherever this copy is shown: the conversation and the
    // thread panel (its root and replies come by thread.fetch too). A copy
    // replaced meanwhile is drawn by its replacement.
    this.view.redraw(message);
    this.view.threads.redraw(message);
    if (this.view.messages.get(message.id) !== message) return;
    if (message.announcePending) {
      message.announcePending = false;
      this.view._announceArrival(message);
    }
  }

  /** {state, text, files, franking_key}: state ok, failed, before_join
   * (no envelope of that version for this browser) or not_approved. */
  async decrypt(message) {
    const e2e = message.e2e;
    if (!e2e || !message.client_id) return { state: "failed" };
    // A pending (or unregistered) browser holds no envelopes yet.
    if (!this.device || this.device.status !== "active") return { state: "not_approved" };
    let key = null;
    try {
      key = await this.keys.keyFor(this.id, e2e.key_version);
      if (!key) {
        if (await this.keys.hasEnvelope(this.id, e2e.key_version)) return { state: "failed" };
        return { state: "before_join" };
      }
      const payload = await scheme.decryptMessage({
        key, conversationId: this.id, clientId: message.client_id, e2e,
      });
      if (payload.text.length > scheme.MAX_TEXT) return { state: "failed" };
      return { state: "ok", text: payload.text, files: payload.files, franking_key: payload.franking_key };
    } catch (error) {
      return { state: "failed" };
    }
  }

  /** Decrypt again every message not shown as text (a key came, this
   * browser was approved). */
  redecrypt() {
    for (const message of new Set([...this.view.messages.values(), ...this.view.threads.shown()])) {
      if (message.message_type === "encrypted" && message.plain && message.plain.state !== "ok") {
        message.plain = null;
        this.prepare(message, null);
      }
    }
  }

  // --- Writing -------------------------------------------------------------------

  /** Encrypt a file for upload: {blob, entry} (the payload's file entry
   * without its attachment id, which the upload gives). */
  async sealFile(file) {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const sealed = await scheme.encryptFile(bytes, this.id);
    return {
      blob: new Blob([sealed.ciphertext], { type: "application/octet-stream" }),
      entry: {
        name: file.name || "file", type: file.type || "application/octet-stream", size: file.size,
        key: sealed.key, nonce: sealed.nonce, sha256: sealed.sha256,
      },
    };
  }

  async _encrypt(clientId, text, files) {
    await this.ready;
    const { version, key } = await this.keys.current(this.id);
    return scheme.encryptMessage({
      key, keyVersion: version, deviceId: this.local.device_id, conversationId: this.id, clientId, text, files,
    });
  }

  /** Why this browser cannot write now, in words, or "". */
  refusal(error) {
    // A browser still waiting for approval has no envelopes: the API says
    // "no such device" (404), which is not what stands in the way.
    const waiting = (!this.device || this.device.status !== "active") && error?.status === 404;
    if (waiting || (error && (error.code === "no_key" || error.code === "no_active_device"))) {
      return gettext("This browser cannot send encrypted messages until another of your devices approves it.");
    }
    return interpolate(gettext("The message could not be encrypted: %(reason)s"), {
      reason: (error && error.message) || gettext("the request failed"),
    });
  }

  /** Encrypt and queue a send; its client_id is made first (it is bound
   * into the ciphertext). Returns the outbox item. */
  async send(text, uploads, { replyToId = null } = {}) {
    const clientId = newClientId();
    const files = uploads.map((u) => ({ attachment_id: u.attachment.id, ...u.sealed }));
    const e2e = await this._encrypt(clientId, text, files);
    return this.app.outbox.add(this.id, text, {
      clientId,
      e2e,
      sealedFiles: files,
      attachments: uploads.map((u) => u.attachment.id),
      files: uploads.map((u) => ({ name: u.sealed.name, size: u.sealed.size, kind: u.attachment.kind })),
      replyToId,
    });
  }

  /** A queued send refused as stale (a new key was needed): encrypted again
   * under the current key, same client_id. False when nothing changed. */
  async reencrypt(item, frame = {}) {
    if (item.conversation_id !== this.id) return false;
    try {
      this.keys.states.delete(this.id);
      const { version } = await this.keys.current(this.id);
      if (version === item.e2e.key_version && !frame.rotation_required) return false;
      const e2e = await this._encrypt(item.client_id, item.content, item.sealed_files || []);
      if (e2e.key_version === item.e2e.key_version) return false;
      this.app.outbox.update(item.client_id, { e2e });
      item.e2e = e2e;
      return true;
    } catch (error) {
      return false;
    }
  }

  /** The message.edit frame's fields for ``message`` with ``text``: a new
   * encryption under the current key, same client_id, same files. */
  async editFrame(message, text) {
    const files = (message.plain && message.plain.files) || [];
    return { message_id: message.id, e2e: await this._encrypt(message.client_id, text, files) };
  }

  /** Send an edit; a stale key is replaced once, then it is sent again. */
  async edit(message, text) {
    try {
      await this.view.conn.request({ type: "message.edit", ...(await this.editFrame(message, text)) }, { done: ["ok"] });
    } catch (error) {
      if (error.code !== "e2e_key_stale") throw error;
      this.keys.states.delete(this.id);
      await this.view.conn.request({ type: "message.edit", ...(await this.editFrame(message, text)) }, { done: ["ok"] });
    }
  }

  // --- Files ---------------------------------------------------------------------

  /** Download, check and decrypt the file of ``button``; show an image
   * inline, save anything else. */
  async openFile(button) {
    const node = button.closest("li.message");
    const item = button.closest("li.e2e-file");
    const message = node && this.view.messages.get(node.dataset.id);
    const file = message && message.plain && message.plain.files[Number(button.dataset.index)];
    if (!file) return;
    const status = item.querySelector(".e2e-file-status");
    const key = `${message.id}:${button.dataset.index}`;
    try {
      let url = this.blobUrls.get(key);
      if (!url) {
        status.textContent = gettext("Decrypting…");
        const attachment = (message.attachments || []).find((a) => a.id === file.attachment_id);
        if (!attachment || typeof attachment.url !== "string" || !attachment.url.startsWith("/")) {
          throw new Error("missing");
        }
        const response = await fetch(attachment.url, { credentials: "same-origin" });
        if (!response.ok) throw new Error(String(response.status));
        const bytes = await scheme.decryptFile(new Uint8Array(await response.arrayBuffer()), file, this.id);
        const type = INLINE_IMAGE.test(file.type) ? file.type : "application/octet-stream";
        url = URL.createObjectURL(new Blob([bytes], { type }));
        this.blobUrls.set(key, url);
      }
      status.textContent = "";
      if (INLINE_IMAGE.test(file.type)) {
        item.querySelector("img.e2e-image")?.remove();
        item.prepend(el("img", { class: "e2e-image", src: url, alt: file.name || gettext("Image") }));
        item.dataset.shown = "true";
        button.hidden = true;
      } else {
        const link = el("a", { href: url, download: file.name || "file", hidden: true });
        document.body.append(link);
        link.click();
        link.remove();
        item.dataset.downloaded = "true";
      }
    } catch (error) {
      status.textContent = gettext("This file could not be decrypted.");
      item.dataset.failed = "true";
    }
  }

  // --- Verification --------------------------------------------------------------

  /**
   * Compare every other member's fingerprint with the one this browser saw
   * last; a change adds the line "{name}'s devices changed".
   */
  async checkDevices() {
    let state;
    try {
      state = await this.keys.conversationState(this.id);
    } catch (error) {
      return;
    }
    const changed = [];
    this.withoutDevice = this.withoutDevice || new Set();
    for (const member of state.members || []) {
      if (member.user_id === this.me) continue;
      if ((member.devices || []).length && this.withoutDevice.has(member.user_id)) {
        this.withoutDevice.delete(member.user_id);
        this.notices?.querySelector(`[data-kind=no-device][data-user="${member.user_id}"]`)?.remove();
      }
      if (!(member.devices || []).length && !this.withoutDevice.has(member.user_id)) {
        this.withoutDevice.add(member.user_id);
        this.notices?.append(el("p", { class: "e2e-notice", dataset: { kind: "no-device", user: member.user_id } }, interpolate(gettext(
          "%(name)s has not set up encryption yet: they will read what is sent after they first open this conversation."),
        { name: member.display_name })));
      }
      const print = hex(await this.keys.fingerprint(member.user_id, member.devices || []));
      const seen = await loadFingerprint(this.me, member.user_id);
      if (seen && seen !== print) changed.push(member.display_name);
      if (seen !== print) await saveFingerprint(this.me, member.user_id, print);
    }
    for (const name of changed) {
      this.notices?.append(el("p", { class: "e2e-notice", dataset: { kind: "devices-changed" } },
        interpolate(gettext("%(name)s's devices changed."), { name }), " ",
        el("button", { type: "button", class: "link-btn", dataset: { safetyFor: name }, text: gettext("Compare safety numbers") })));
    }
    if (changed.length) announce(interpolate(gettext("Devices changed: %(names)s."), { names: nameList(changed) }));
  }

  _wireSafetyDialog() {
    const button = document.getElementById("e2e-safety");
    const dialog = document.getElementById("e2e-safety-dialog");
    if (!button || !dialog) return;
    this.safetyDialog = dialog;
    const select = dialog.querySelector("select");
    button.addEventListener("click", () => this.openSafety(button));
    this.notices?.addEventListener("click", (event) => {
      const opener = event.target.closest("button[data-safety-for]");
      if (opener) this.openSafety(opener);
    });
    select.addEventListener("change", () => this._showSafety(select.value));
    dialog.querySelector("[data-close]").addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      this.safetyOpener?.focus();
      this.safetyOpener = null;
    });
  }

  async openSafety(opener) {
    const dialog = this.safetyDialog;
    this.safetyOpener = opener;
    const select = dialog.querySelector("select");
    const state = await this.keys.conversationState(this.id, { fresh: true });
    this.safetyMembers = state.members || [];
    const others = this.safetyMembers.filter((m) => m.user_id !== this.me);
    select.replaceChildren(...others.map((m) => el("option", { value: m.user_id, text: m.display_name })));
    const wanted = others.find((m) => m.display_name === opener.dataset.safetyFor);
    if (wanted) select.value = wanted.user_id;
    select.closest("p").hidden = others.length < 2;
    dialog.showModal();
    await this._showSafety(select.value);
    (others.length < 2 ? dialog.querySelector("[data-close]") : select).focus();
  }

  async _showSafety(userId) {
    const dialog = this.safetyDialog;
    const me = this.safetyMembers.find((m) => m.user_id === this.me);
    const them = this.safetyMembers.find((m) => m.user_id === userId);
    const out = dialog.querySelector("[data-safety-number]");
    const who = dialog.querySelector("[data-safety-who]");
    if (!me || !them) {
      out.replaceChildren();
      return;
    }
    who.textContent = them.display_name;
    const number = scheme.safetyNumber(
      { userId: me.user_id, fingerprint: await this.keys.fingerprint(me.user_id, me.devices || []) },
      { userId: them.user_id, fingerprint: await this.keys.fingerprint(them.user_id, them.devices || []) },
    );
    out.dataset.number = number;
    out.replaceChildren(...scheme.groupDigits(number).map((group) => el("span", { class: "safety-group", text: group })));
    // They saw this one now: no "devices changed" for it afterwards.
    await saveFingerprint(this.me, them.user_id, hex(await this.keys.fingerprint(them.user_id, them.devices || [])));
  }
}
