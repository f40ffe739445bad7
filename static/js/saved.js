// Saved messages (docs/api.md, "Pins and saved messages"): a person's own
// bookmarks, seen by nobody else.
//
// On the conversation page (SavedMarks, made by reactions.js): the
// Save/Saved quick action of each message, its state from
// GET /api/saved/?conversation_id=<id> at load (and after each reconnect),
// live on saved.changed (every tab of the person gets it).
//
// On the Saved page (/saved/, body data-page="saved"): the list, newest
// first, from GET /api/saved/, paged with "Show more"; each saved message
// with its conversation, sender, time, rendered text, a link to it in
// context and an Unsave button; live on saved.changed.

import { announce, el, formatFull, formatShort, localizeTimes, markBusy, replaceKeepingFocus } from "./render.js";
import { api } from "./moderation.js";
import { gettext, interpolate, pgettext } from "./i18n.js";

const PAGE_SIZE = 50;
const MAX_PAGES_IN_CONVERSATION = 10;

function savedQuery(params) {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") query.set(name, String(value));
  }
  return `/api/saved/?${query}`;
}

export class SavedMarks {
  constructor(extras) {
    this.extras = extras;
    this.view = extras.view;
    this.conn = extras.conn;
    this.ids = new Set();
    this.conn.on("saved.changed", (frame) => {
      if (frame && frame.message_id) this.apply(frame.message_id, Boolean(frame.saved));
    });
    let first = true;
    this.conn.on("hello", () => {
      if (first) {
        first = false;
        return;
      }
      this.load();
    });
    this.load();
  }

  /** Which of this conversation's messages I saved (a few pages at most). */
  async load() {
    const ids = new Set();
    let before = null;
    try {
      for (let page = 0; page < MAX_PAGES_IN_CONVERSATION; page += 1) {
        const data = await api(savedQuery({ conversation_id: this.view.id, limit: PAGE_SIZE, before }));
        const entries = (data && data.saved) || [];
        for (const entry of entries) if (entry.message && entry.message.id) ids.add(entry.message.id);
        if (!data.has_more || !entries.length) break;
        before = entries[entries.length - 1].saved_at;
      }
    } catch (error) {
      if (!ids.size) return; // keep what is shown; the buttons still work
    }
    const changed = new Set([...ids, ...this.ids]);
    this.ids = ids;
    for (const id of changed) this._redraw(id);
  }

  toolButton(message) {
    const saved = this.ids.has(message.id);
    return el("button", {
      type: "button",
      class: saved ? "tool-btn tool-save saved" : "tool-btn tool-save",
      dataset: { extra: "save" },
      "aria-pressed": saved ? "true" : "false",
      "aria-label": gettext("Save message"),
      title: saved ? gettext("Saved: press to remove it from your saved messages") : gettext("Save for later"),
      // The button's state ("Saved", a message I saved), not the page's name.
      text: saved ? pgettext("a saved message", "Saved") : gettext("Save"),
    });
  }

  apply(messageId, saved) {
    if (saved === this.ids.has(messageId)) return;
    if (saved) this.ids.add(messageId);
    else this.ids.delete(messageId);
    this._redraw(messageId);
  }

  _redraw(messageId) {
    const message = this.extras.payload(messageId);
    if (!message) return;
    for (const li of this.extras.itemsOf(messageId)) {
      const old = li.querySelector("button[data-extra='save']");
      if (old) replaceKeepingFocus(old, this.toolButton(message));
    }
  }

  async toggle(messageId, button) {
    const saved = this.ids.has(messageId);
    const free = markBusy(button);
    if (!free) return;
    try {
      await this.conn.request({ type: saved ? "message.unsave" : "message.save", message_id: messageId }, { done: ["ok"] });
      this.apply(messageId, !saved);
      announce(saved ? gettext("Removed from your saved messages.") : gettext("Saved. Find it under Saved."));
    } catch (error) {
      const template = saved ? gettext("Not removed: %(reason)s") : gettext("Not saved: %(reason)s");
      this.extras.notice(messageId, interpolate(template, { reason: this.extras.refusal(error) }));
    } finally {
      free();
    }
  }
}

// --- The Saved page ------------------------------------------------------------

class SavedPage {
  constructor() {
    const data = JSON.parse(document.getElementById("page-data").textContent);
    this.titles = data.titles || {};
    this.list = document.getElementById("saved-list");
    this.empty = document.getElementById("saved-empty");
    this.more = document.getElementById("saved-more");
    this.status = document.getElementById("saved-status");
    this.shown = new Map(); // message id -> entry
    this.next = null; // the `before` of the next page, or null
    this.more.addEventListener("click", () => this.loadMore());
    this.list.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-unsave]");
      if (button) this.unsave(button.closest("li.saved-item"), button);
    });
    const conn = window.parley && window.parley.conn;
    if (conn) {
      conn.on("saved.changed", (frame) => {
        if (!frame || !frame.message_id) return;
        if (!frame.saved) this._remove(frame.message_id);
        else if (!this.shown.has(frame.message_id)) this.reload();
      });
    }
    this.reload();
  }

  async _page(before) {
    return api(savedQuery({ limit: PAGE_SIZE, before }));
  }

  async reload() {
    try {
      const data = await this._page(null);
      this.shown.clear();
      this.list.replaceChildren();
      this._append(data);
      this.status.textContent = "";
    } catch (error) {
      this.status.textContent = interpolate(gettext("Your saved messages could not be loaded: %(reason)s"), {
        reason: error.message,
      });
    }
    this._updateEmpty();
  }

  async loadMore() {
    if (!this.next) return;
    this.more.disabled = true;
    try {
      this._append(await this._page(this.next));
    } catch (error) {
      this.status.textContent = interpolate(gettext("More could not be loaded: %(reason)s"), { reason: error.message });
    } finally {
      this.more.disabled = false;
    }
  }

  _append(data) {
    const entries = (data && data.saved) || [];
    for (const entry of entries) {
      if (!entry.message || this.shown.has(entry.message.id)) continue;
      this.shown.set(entry.message.id, entry);
      this.list.append(this._item(entry));
    }
    this.next = data && data.has_more && entries.length ? entries[entries.length - 1].saved_at : null;
    this.more.hidden = !this.next;
    localizeTimes(this.list);
  }

  _item(entry) {
    const message = entry.message;
    const conversationId = message.conversation_id;
    const title = this.titles[conversationId] || gettext("A conversation");
    const sent = new Date(message.sent_at);
    const content = el("div", { class: "saved-content content rich", dir: "auto" });
    if (message.deleted_at) content.textContent = gettext("This message was deleted.");
    else if (message.hidden) content.textContent = gettext("This message was hidden by a moderator.");
    // Rendered and sanitized once on the server (docs/protocol.md, Rich text).
    else if (message.content_html) {
      content.innerHTML = message.content_html;
      for (const link of content.querySelectorAll("a[href]")) {
        link.rel = "noopener noreferrer nofollow";
        link.target = "_blank";
      }
    }
    else content.textContent = message.content || "";
    const files = (message.attachments || []).map((a) => a.name).filter(Boolean);
    const context = `/c/${encodeURIComponent(conversationId)}/#seq-${message.seq}`;
    return el("li", { class: "saved-item", dataset: { messageId: message.id, conversationId } },
      el("div", { class: "saved-meta" },
        el("a", { class: "saved-conversation", dir: "auto", href: `/c/${encodeURIComponent(conversationId)}/`, text: title }),
        el("span", { class: "sender", dir: "auto", text: message.sender ? message.sender.display_name : gettext("Former member") }),
        Number.isNaN(sent.getTime()) ? null
          : el("time", { datetime: message.sent_at, "data-format": "short", title: formatFull(sent), text: formatShort(sent) })),
      content,
      files.length ? el("p", { class: "saved-files muted" }, el("span", { "aria-hidden": "true", text: "📎 " }), files.join(", ")) : null,
      el("div", { class: "saved-actions" },
        el("a", { class: "btn btn-small saved-open", href: context, text: gettext("Show in conversation") }),
        el("button", { type: "button", class: "btn btn-small btn-ghost", dataset: { unsave: "1" }, text: gettext("Unsave") })));
  }

  async unsave(item, button) {
    if (!item) return;
    button.disabled = true;
    try {
      await api(`/api/messages/${encodeURIComponent(item.dataset.messageId)}/saved/`, { method: "DELETE" });
      this._remove(item.dataset.messageId);
      announce(gettext("Removed from your saved messages."));
    } catch (error) {
      button.disabled = false;
      this.status.textContent = interpolate(gettext("Not removed: %(reason)s"), { reason: error.message });
    }
  }

  _remove(messageId) {
    this.shown.delete(messageId);
    for (const item of this.list.querySelectorAll("li.saved-item")) {
      if (item.dataset.messageId === messageId) item.remove();
    }
    this._updateEmpty();
  }

  _updateEmpty() {
    this.empty.hidden = this.list.childElementCount > 0;
  }
}

if (document.body && document.body.dataset.page === "saved") new SavedPage();
