// Pinned messages of the open conversation (docs/protocol.md, "Pins and
// saved messages"): the Pin/Unpin quick action, shown only to people the
// server says may pin (``may_pin`` in GET /api/conversations/{id}/pins/;
// assumed true when absent, and a refusal is shown if it was wrong), the
// "Pinned by …" label on a message, and the header's "Pinned (N)" button
// with its dialog listing the pinned messages, newest pin first, each a
// link to the message in context (#seq-N). Live on message.pinned and
// message.unpinned; fetched again after each reconnect, since frames missed
// while offline are not replayed.

import { announce, el, formatFull, formatShort, markBusy, messageWords, replaceKeepingFocus } from "./render.js";
import { api } from "./moderation.js";
import { focusLeftBehind } from "./dialogs.js";
import { formatNumber, gettext, interpolate } from "./i18n.js";

const EXCERPT_CHARS = 140;

/** The text of a message for a one-line excerpt (``messageWords``). */
export function excerptOf(message, limit = EXCERPT_CHARS) {
  let text = messageWords(message).replace(/\s+/g, " ").trim();
  if (!text && (message.attachments || []).length) text = message.attachments.map((a) => a.name).join(", ");
  return text.length > limit ? `${text.slice(0, limit - 1).trimEnd()}…` : text;
}

export class Pins {
  constructor(extras) {
    this.extras = extras;
    this.view = extras.view;
    this.conn = extras.conn;
    this.mayPin = null; // unknown until the list is fetched
    this.items = new Map(); // message id -> message payload (with `pinned`)
    this.button = document.getElementById("pins-button");
    this.count = document.getElementById("pins-count");
    this.dialog = null;
    if (this.button) this.button.addEventListener("click", () => this.open());
    this._listen();
    this.load();
  }

  async load() {
    try {
      const data = await api(`/api/conversations/${encodeURIComponent(this.view.id)}/pins/`);
      this.mayPin = data && typeof data.may_pin === "boolean" ? data.may_pin : true;
      this.items = new Map();
      for (const message of (data && data.pins) || []) {
        if (message && message.id && message.pinned) this.items.set(message.id, message);
      }
    } catch (error) {
      // The list stays as it was; the action is offered and the server
      // has the last word.
      if (this.mayPin === null) this.mayPin = true;
    }
    this._refreshTools();
    this._render();
    // Whether the Pin action is offered is known from here on.
    if (this.button) this.button.dataset.loaded = "true";
  }

  /** The quick action of one message. */
  toolButton(message) {
    const pinned = Boolean(message.pinned);
    return el("button", {
      type: "button",
      class: "tool-btn tool-pin",
      dataset: { extra: "pin", pinned: pinned ? "true" : "false" },
      "aria-label": pinned ? gettext("Unpin message") : gettext("Pin message"),
      hidden: this._offered() ? null : true,
      text: pinned ? gettext("Unpin") : gettext("Pin"),
    });
  }

  _offered() {
    return this.mayPin === true && this.extras.writable();
  }

  _refreshTools() {
    for (const button of document.querySelectorAll("li.message button[data-extra='pin']")) {
      button.hidden = !this._offered();
    }
  }

  async toggle(messageId, button) {
    const message = this.extras.payload(messageId);
    if (!message) return;
    const pinned = Boolean(message.pinned);
    const free = markBusy(button);
    if (!free) return;
    try {
      await this.conn.request({ type: pinned ? "message.unpin" : "message.pin", message_id: messageId }, { done: ["ok"] });
      if (pinned) this.apply(messageId, null);
      else if (!message.pinned) {
        this.apply(messageId, {
          pinned_by: { id: this.view.me, display_name: this.view.app.myName },
          pinned_at: new Date().toISOString(),
        });
      }
      announce(pinned ? gettext("Message unpinned.") : gettext("Message pinned."));
    } catch (error) {
      if (error.code === "forbidden") {
        this.mayPin = false;
        this._refreshTools();
      }
      const template = pinned ? gettext("Not unpinned: %(reason)s") : gettext("Not pinned: %(reason)s");
      this.extras.notice(messageId, interpolate(template, { reason: this.extras.refusal(error) }));
    } finally {
      free();
    }
  }

  /** "Pinned by Maria Mentor", "Pinned by you" (``by``: who pinned it). */
  pinnedByText(by) {
    if (!by) return gettext("Pinned");
    if (by.id === this.view.me) return gettext("Pinned by you");
    return interpolate(gettext("Pinned by %(name)s"), { name: by.display_name });
  }

  /** ``messageId`` is now pinned (``pinned``: {pinned_by, pinned_at}) or
   * not (null); ``payload`` is its message when the frame carried one. */
  apply(messageId, pinned, payload = null) {
    const held = this.extras.payload(messageId);
    for (const copy of this.extras.payloads(messageId)) copy.pinned = pinned;
    if (held && !held.deleted_at && !held.hidden) {
      for (const li of this.extras.itemsOf(messageId)) {
        this.extras._drawPinLabel(li, held);
        const old = li.querySelector("button[data-extra='pin']");
        if (old) replaceKeepingFocus(old, this.toolButton(held));
      }
    }
    if (pinned) {
      const message = { ...(payload || held || { id: messageId }), pinned };
      if (message.seq !== undefined) this.items.set(messageId, message);
    } else {
      this.items.delete(messageId);
    }
    this._render();
  }

  _listen() {
    const here = (frame) => frame && frame.conversation_id === this.view.id;
    this.conn.on("message.pinned", (frame) => {
      if (here(frame)) this.apply(frame.message_id, frame.pinned || (frame.message && frame.message.pinned), frame.message);
    });
    this.conn.on("message.unpinned", (frame) => {
      if (here(frame)) this.apply(frame.message_id, null);
    });
    // A pinned message that is deleted or hidden leaves the list.
    for (const type of ["message.deleted", "message.hidden"]) {
      this.conn.on(type, (frame) => {
        const message = frame && frame.message;
        if (message && message.conversation_id === this.view.id && this.items.delete(message.id)) this._render();
      });
    }
    let first = true;
    this.conn.on("hello", () => {
      if (first) {
        first = false;
        return;
      }
      this.load();
    });
  }

  _sorted() {
    return [...this.items.values()].sort((a, b) => String(b.pinned.pinned_at).localeCompare(String(a.pinned.pinned_at)));
  }

  /** The header button's count, and the dialog's list when it is open. */
  _render() {
    const n = this.items.size;
    if (this.button) this.button.hidden = n === 0 && !(this.dialog && this.dialog.open);
    if (this.count) this.count.textContent = interpolate(gettext("Pinned (%(count)s)"), { count: formatNumber(n) });
    if (this.dialog && this.dialog.open) this._fill();
  }

  _makeDialog() {
    const dialog = el("dialog", { class: "modal pins-dialog", id: "pins-dialog", "aria-labelledby": "pins-title" },
      el("div", { class: "pins-head" },
        el("h2", { id: "pins-title", text: gettext("Pinned messages") }),
        el("button", { type: "button", class: "btn btn-small", dataset: { pinsClose: "1" }, text: gettext("Close") })),
      el("ol", { class: "pins-list", id: "pins-list", "aria-labelledby": "pins-title" }),
      el("p", { class: "muted pins-empty", id: "pins-empty", text: gettext("Nothing is pinned here.") }));
    dialog.querySelector("[data-pins-close]").addEventListener("click", () => dialog.close());
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) {
        dialog.close();
        return;
      }
      const link = event.target.closest("a[data-seq]");
      if (!link) return;
      event.preventDefault();
      dialog.close();
      const hash = `#seq-${link.dataset.seq}`;
      if (window.location.hash === hash) this.view.goToHash?.();
      else window.location.hash = hash;
    });
    dialog.addEventListener("close", () => {
      this._render();
      if (this.button && !this.button.hidden && focusLeftBehind(dialog, this.button)) this.button.focus();
    });
    document.body.append(dialog);
    return dialog;
  }

  _fill() {
    const items = this._sorted();
    const list = this.dialog.querySelector("#pins-list");
    list.replaceChildren(...items.map((message) => {
      const sent = new Date(message.sent_at);
      const by = message.pinned.pinned_by;
      return el("li", { class: "pin-item", dataset: { messageId: message.id } },
        el("a", { class: "pin-link", href: `#seq-${message.seq}`, dataset: { seq: String(message.seq) } },
          el("span", { class: "pin-meta" },
            el("span", { class: "sender", text: message.sender ? message.sender.display_name : gettext("Former member") }), " ",
            Number.isNaN(sent.getTime()) ? null
              : el("time", { datetime: message.sent_at, title: formatFull(sent), text: formatShort(sent) })),
          el("span", { class: "pin-excerpt", dir: "auto", text: excerptOf(message) || gettext("(no text)") }),
          by ? el("span", { class: "pin-by muted", text: this.pinnedByText(by) }) : null));
    }));
    this.dialog.querySelector("#pins-empty").hidden = items.length > 0;
  }

  open() {
    if (!this.dialog) this.dialog = this._makeDialog();
    this._fill();
    this.dialog.showModal();
    (this.dialog.querySelector(".pin-link") || this.dialog.querySelector("[data-pins-close]")).focus();
  }
}
