// Replies and threads on the conversation page: the quote above a reply, the
// thread summary under a root, the thread side panel and its composer
// (docs/protocol.md, "Replies and threads").
//
// A thread reply is an ordinary message of the conversation's seq stream:
// ConversationView holds every message it receives (its cursor and gap
// filling run over all seqs) but shows in the main stream only those
// `inMainStream` says; every stored message also comes here
// (`onMessage`), and the replies of the open thread show in the panel.

import {
  addMessageDecorator, announce, el, formatFull, formatShort, initials, insertBySeq, messageElement, messageTools,
  messageWords, openLightbox, outboxElement,
} from "./render.js";
import { wireFormatting } from "./format.js";
import { MentionAutocomplete } from "./mentions.js";
import { closeMenus, menuKeydown, openMenu } from "./moderation.js";
import { formatNumber, gettext, interpolate, ngettext } from "./i18n.js";
import { lengthProblem } from "./length-guard.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const THREAD_PAGE = 50;
const EXCERPT_CHARS = 80;
const NEAR_TOP_PX = 80;
const NEAR_BOTTOM_PX = 120;

/** Whether a message shows in the main stream: anything but a thread reply
 * that was not also sent to the conversation. */
export function inMainStream(message) {
  return !message.parent_id || Boolean(message.also_to_conversation);
}

/** What the reply bar quotes: the message's words as shown (no Markdown marks). */
function excerpt(message) {
  const text = messageWords(message).replace(/\s+/g, " ").trim();
  if (!text) return (message.attachments || []).length ? gettext("a file") : "";
  return text.length > EXCERPT_CHARS ? `${text.slice(0, EXCERPT_CHARS - 1)}…` : text;
}

function senderName(message) {
  return message.sender ? message.sender.display_name : gettext("Former member");
}

/** The summary with the highest ``last_reply_seq`` (a newer one may come
 * from a frame or from the replies themselves, in any order). */
function newest(a, b) {
  if (!a) return b || null;
  if (!b) return a;
  return (b.last_reply_seq || 0) >= (a.last_reply_seq || 0) ? b : a;
}

/**
 * "Replying to <name>: <excerpt>" above a composer's textarea, with a
 * cancel (× or Escape); the next send quotes that message.
 */
class ReplyBar {
  constructor(form, textarea, { before }) {
    this.textarea = textarea;
    this.target = null;
    this.text = el("span", { class: "reply-bar-text" });
    this.cancelButton = el("button", {
      type: "button",
      class: "reply-bar-cancel",
      "aria-label": gettext("Cancel reply"),
      "aria-keyshortcuts": "Escape",
      title: gettext("Cancel reply (Escape)"),
      text: "×",
    });
    this.node = el("div", { class: "reply-bar", role: "status", hidden: true }, this.text, this.cancelButton);
    form.insertBefore(this.node, before && before.parentNode === form ? before : form.firstChild);
    this.cancelButton.addEventListener("click", () => {
      this.clear();
      this.textarea.focus();
    });
    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.target && !event.defaultPrevented) {
        event.preventDefault();
        event.stopPropagation();
        this.clear();
      }
    });
  }

  get id() {
    return this.target ? this.target.id : null;
  }

  set(message) {
    this.target = message;
    // The name in bold inside a translated sentence: the sentence is
    // translated whole, then split around the name's placeholder. Either
    // half may hold the excerpt: a translation may put it first.
    const sentence = excerpt(message)
      ? gettext("Replying to %(name)s: %(excerpt)s")
      : gettext("Replying to %(name)s");
    const [before, after = ""] = sentence.split("%(name)s");
    const values = { excerpt: excerpt(message) };
    this.text.replaceChildren(
      interpolate(before, values), el("strong", { text: senderName(message) }), interpolate(after, values),
    );
    this.node.hidden = false;
    this.textarea.focus();
  }

  clear() {
    this.target = null;
    this.node.hidden = true;
    this.text.replaceChildren();
  }
}

/** The quote above a reply: who, and an excerpt (or that it is gone); a
 * button that goes to the quoted message. */
function quoteElement(quote, onActivate) {
  const name = quote.sender ? quote.sender.display_name : gettext("Former member");
  let text = quote.excerpt || "";
  if (quote.deleted) text = gettext("Deleted message");
  else if (quote.hidden) text = gettext("Hidden message");
  const button = el("button", {
    type: "button",
    class: `reply-quote${quote.deleted || quote.hidden ? " gone" : ""}`,
    dataset: { quoteId: quote.id, quoteSeq: String(quote.seq) },
    "aria-label": interpolate(gettext("Replying to %(name)s: %(excerpt)s. Go to that message"), {
      name, excerpt: text || gettext("a message"),
    }),
  },
  el("span", { class: "quote-name", text: name }),
  el("span", { class: "quote-text", text: text || "…" }));
  button.addEventListener("click", () => onActivate(quote, button));
  return button;
}

const QUOTE_EXCERPT_CHARS = 200; // as the server cuts a quote's excerpt

/** The quote of ``message`` as the server writes it (``reply_to``), from
 * the message as it stands now: no words once it is deleted or hidden. */
function quoteOf(message) {
  const gone = Boolean(message.deleted_at || message.hidden);
  // Cut by characters, as the server cuts it (never inside an emoji).
  const words = Array.from(gone ? "" : messageWords(message).split(/\s+/).filter(Boolean).join(" "));
  return {
    id: message.id,
    seq: message.seq,
    parent_id: message.parent_id || null,
    sender: message.sender,
    excerpt: words.length <= QUOTE_EXCERPT_CHARS
      ? words.join("") : `${words.slice(0, QUOTE_EXCERPT_CHARS - 1).join("").trimEnd()}…`,
    deleted: Boolean(message.deleted_at),
    hidden: Boolean(message.hidden),
  };
}

const ID_REFERENCES = ["aria-labelledby", "aria-describedby", "aria-controls", "aria-activedescendant", "for"];

/** The message that had the focus (or a control in it) was redrawn as
 * ``node``: the focus goes to the same control in it (the Edit button an
 * edit gave the focus back to), else to the message. */
function keepFocusIn(node, focused) {
  const action = focused.dataset?.action;
  const control = action && node.querySelector(`[data-action="${action}"]`);
  if (control) {
    control.focus();
  } else {
    node.tabIndex = -1;
    node.focus();
  }
}

/**
 * Every id in ``node`` (a message drawn for the panel) prefixed:
 * the main stream may show the same message, and ids must stay unique for
 * the names and menus that point at them. References follow their ids;
 * a reference to a part the panel left out (the receipt) is dropped.
 */
function uniqueIds(node, prefix) {
  const renamed = new Map();
  for (const part of [node, ...node.querySelectorAll("[id]")]) {
    if (!part.id) continue;
    renamed.set(part.id, `${prefix}${part.id}`);
    part.id = `${prefix}${part.id}`;
  }
  for (const attribute of ID_REFERENCES) {
    for (const part of [node, ...node.querySelectorAll(`[${attribute}]`)]) {
      if (!part.hasAttribute(attribute)) continue;
      const ids = part.getAttribute(attribute).split(/\s+/).map((id) => renamed.get(id)).filter(Boolean);
      if (ids.length) part.setAttribute(attribute, ids.join(" "));
      else part.removeAttribute(attribute);
    }
  }
}

/** "3 replies · last reply 14:05" with the last repliers: opens the thread. */
function summaryElement(thread, onActivate) {
  const count = thread.reply_count;
  const last = thread.last_reply_at ? new Date(thread.last_reply_at) : null;
  const repliers = (thread.last_repliers || []).slice(0, 3);
  const names = repliers.map((user) => user.display_name).filter(Boolean);
  const countText = interpolate(ngettext("%(count)s reply", "%(count)s replies", count), { count: formatNumber(count) });
  const lastText = last ? interpolate(gettext("last reply %(time)s"), { time: formatShort(last) }) : "";
  const nameList = names.join(gettext(", "));
  const parts = [countText, lastText, names.length ? interpolate(gettext("from %(names)s"), { names: nameList }) : ""];
  const button = el("button", {
    type: "button",
    class: "thread-summary",
    dataset: { action: "open-thread", replyCount: String(count), lastReplySeq: String(thread.last_reply_seq || 0) },
    "aria-label": interpolate(gettext("%(summary)s. Open the thread"), {
      summary: parts.filter(Boolean).join(gettext(", ")),
    }),
  },
  el("span", { class: "thread-repliers", "aria-hidden": "true" },
    ...repliers.map((user) => el("span", { class: "avatar avatar-xs", title: user.display_name, text: initials(user.display_name) }))),
  el("span", { class: "thread-count", text: countText }),
  lastText ? el("span", { class: "thread-last", title: last ? formatFull(last) : null, text: ` · ${lastText}` }) : null,
  names.length ? el("span", { class: "thread-names", text: ` · ${nameList}` }) : null);
  button.addEventListener("click", () => onActivate(button));
  return button;
}

export class Threads {
  constructor(view) {
    this.view = view;
    this.summaries = new Map(); // root id -> newest thread summary seen
    this.rootId = null;
    this.root = null;
    this.replies = new Map(); // id -> reply, of the open thread
    this.hasMore = false;
    this.loadingEarlier = false;
    this.readSent = 0;
    this.opener = null;
    this.mainReply = null;
    this.generation = 0; // which open() the answers in flight belong to
    addMessageDecorator((li, message, context) => this.decorate(li, message, context));
    this._wirePanel();
    view.conn.on("thread.updated", (frame) => {
      if (frame.conversation_id === view.id && frame.thread) this.applySummary(frame.thread_id, frame.thread);
    });
    view.conn.on("thread.read", (frame) => {
      // Read further in another tab: the marks go. This tab's own reads
      // keep them while the thread stays open (they show what was new).
      if (frame.thread_id === this.rootId && (frame.up_to_seq || 0) > this.readSent) {
        this.readSent = frame.up_to_seq;
        if (!frame.unread) this._clearUnread();
      }
    });
    // /c/<id>/?thread=<root id> (a notification's link) opens the panel,
    // once the view is built.
    queueMicrotask(() => this._openFromLocation());
  }

  /** The replies shown that quote ``message`` (in the conversation and in
   * the thread panel) follow its edit, deletion, hiding or restoring at
   * once: a deleted message's words do not stay in a quote until a reload. */
  _refreshQuotesOf(message) {
    const shown = document.querySelectorAll(`.reply-quote[data-quote-id="${message.id}"]`);
    if (!shown.length) return;
    const quote = quoteOf(message);
    for (const old of shown) {
      const fresh = quoteElement(quote, (q, button) => this.goToQuote(q, button));
      const focused = old.contains(document.activeElement);
      old.replaceWith(fresh);
      if (focused) fresh.focus();
    }
    // A reply drawn again later (its own edit, the panel's root) shows the same.
    if (this.root?.reply_to?.id === message.id) this.root.reply_to = quote;
    for (const reply of this.view.messages.values()) {
      if (reply.reply_to && reply.reply_to.id === message.id) reply.reply_to = quote;
    }
    for (const reply of this.replies.values()) {
      if (reply.reply_to && reply.reply_to.id === message.id) reply.reply_to = quote;
    }
  }

  // --- Decorating every message -------------------------------------------------

  decorate(li, message, { gone }) {
    if (message.message_type === "system") return;
    if (message.reply_to && !gone) {
      const bubble = li.querySelector(".bubble");
      bubble?.prepend(quoteElement(message.reply_to, (quote, button) => this.goToQuote(quote, button)));
      li.classList.add("is-reply");
    }
    if (!message.parent_id) {
      const thread = this.summaryOf(message.id, message.thread);
      if (thread && thread.reply_count > 0) this._placeSummary(li, message.id, thread);
    }
    // Replying needs a conversation I may write in (its summary still
    // opens an existing thread to read).
    if (!gone && this.view.mayWrite()) {
      const tools = messageTools(li);
      const reply = el("button", {
        type: "button", class: "tool-btn", dataset: { action: "reply" },
        "aria-label": interpolate(gettext("Reply to %(name)s"), { name: senderName(message) }),
        title: gettext("Reply"),
        text: gettext("Reply"),
      });
      reply.addEventListener("click", () => this.startReply(message.id, reply));
      const threadButton = el("button", {
        type: "button", class: "tool-btn", dataset: { action: "thread" },
        "aria-label": interpolate(gettext("Reply in thread to %(name)s"), { name: senderName(message) }),
        title: gettext("Reply in thread"),
        text: gettext("Thread"),
      });
      threadButton.addEventListener("click", () => this.open(message.parent_id || message.id, { opener: threadButton }));
      tools.append(reply, threadButton);
    }
  }

  summaryOf(rootId, fromPayload = null) {
    return newest(fromPayload, this.summaries.get(rootId));
  }

  _placeSummary(li, rootId, thread) {
    const old = li.querySelector(":scope .thread-summary");
    // The same summary again (the thread's own answer): the button stays,
    // and with it the focus that may be on it.
    if (old && old.dataset.replyCount === String(thread.reply_count)
      && old.dataset.lastReplySeq === String(thread.last_reply_seq || 0)) return;
    const fresh = summaryElement(thread, (button) => this.open(rootId, { opener: button }));
    if (old) {
      old.replaceWith(fresh);
      return;
    }
    const wrap = li.querySelector(".bubble-wrap") || li;
    const tools = wrap.querySelector(":scope > .message-tools");
    if (tools) tools.before(fresh);
    else wrap.append(fresh);
  }

  /** A thread's summary changed (``thread.updated``, or a reply arrived):
   * kept when it is the newest, and shown under its root wherever it is. */
  applySummary(rootId, thread) {
    const current = this.summaryOf(rootId, this.view.messages.get(rootId)?.thread);
    if (current && (thread.last_reply_seq || 0) < (current.last_reply_seq || 0)) return;
    this.summaries.set(rootId, thread);
    const root = this.view.messages.get(rootId);
    if (root) root.thread = thread;
    if (this.root && this.root.id === rootId) this.root.thread = thread;
    for (const li of document.querySelectorAll(`li.message[data-id="${CSS.escape(rootId)}"]`)) {
      if (li.closest("#thread-panel")) continue;
      if (thread.reply_count > 0) this._placeSummary(li, rootId, thread);
      else li.querySelector(":scope .thread-summary")?.remove();
    }
  }

  /** Every stored message the view receives (live, history, resume). */
  onMessage(message, { via = null } = {}) {
    this._refreshQuotesOf(message);
    if (message.parent_id) {
      const known = this.summaryOf(message.parent_id, this.view.messages.get(message.parent_id)?.thread);
      // A reply newer than the summary we hold: count it now (the root shows
      // its line at once); the thread.updated frame that follows agrees.
      if (this.view.messages.has(message.parent_id) && message.seq > ((known && known.last_reply_seq) || 0)) {
        const repliers = [message.sender, ...((known && known.last_repliers) || [])
          .filter((user) => !message.sender || user.id !== message.sender.id)].filter(Boolean).slice(0, 3);
        this.applySummary(message.parent_id, {
          reply_count: ((known && known.reply_count) || 0) + 1,
          last_reply_at: message.sent_at,
          last_reply_seq: message.seq,
          last_repliers: repliers,
        });
      }
      if (message.parent_id === this.rootId) {
        const stick = this._nearBottom() || (message.sender && message.sender.id === this.view.me);
        const added = this._upsertReply(message);
        if (added && message.sender && message.sender.id !== this.view.me && via !== "ack") {
          announce(interpolate(gettext("Reply in the thread from %(name)s: %(excerpt)s"), {
            name: message.sender.display_name, excerpt: excerpt(message),
          }));
        }
        if (stick) this._scrollToBottom();
        this.markRead();
        this._renderOutbox();
      }
    } else if (message.id === this.rootId) {
      this.root = message;
      this._renderRoot();
    }
  }

  // --- Replies (quotes) ------------------------------------------------------------

  /** The main composer's reply bar (ConversationView._wireComposer). */
  attachMainComposer(form, textarea, before) {
    this.mainReply = new ReplyBar(form, textarea, { before });
  }

  _message(id) {
    if (this.root && this.root.id === id) return this.root;
    return this.replies.get(id) || this.view.messages.get(id) || null;
  }

  startReply(messageId, button) {
    const message = this._message(messageId);
    if (!message) return;
    const inPanel = button && button.closest("#thread-panel");
    const bar = inPanel ? this.panelReply : this.mainReply;
    bar?.set(message);
  }

  /** Go to the message a quote names: in the open thread if it is there;
   * in its thread if it is a thread reply; else in the main stream, older
   * pages loaded until it is held. */
  async goToQuote(quote, button) {
    if (this.rootId && (quote.id === this.rootId || this.replies.has(quote.id))) {
      this._markInPanel(quote.id);
      return;
    }
    const held = this.view.messages.get(quote.id);
    if (held && inMainStream(held) && document.getElementById(`m-${quote.id}`)) {
      this.view.goToSeq(quote.seq);
      return;
    }
    if (quote.parent_id) {
      await this.open(quote.parent_id, { opener: button, seq: quote.seq });
      return;
    }
    this.view.goToSeq(quote.seq);
  }

  // --- The panel -----------------------------------------------------------------

  _wirePanel() {
    const $ = (id) => document.getElementById(id);
    this.panel = $("thread-panel");
    if (!this.panel) return;
    this.rootBox = $("thread-root");
    this.list = $("thread-list");
    this.outboxList = $("thread-outbox");
    this.scroller = $("thread-scroller");
    this.earlier = $("thread-earlier");
    this.status = $("thread-status");
    this.form = $("thread-composer");
    this.input = $("thread-input");
    this.also = $("thread-also");
    $("thread-close").addEventListener("click", () => this.close());
    this.panel.addEventListener("keydown", (event) => {
      // Escape in an edit form cancels the edit only.
      if (event.key === "Escape" && !event.defaultPrevented && !event.target.closest(".edit-form")) {
        event.preventDefault();
        this.close();
      }
    });
    this.earlier.addEventListener("click", () => this.loadEarlier());
    this.scroller.addEventListener("scroll", () => {
      if (this.scroller.scrollTop < NEAR_TOP_PX) this.loadEarlier();
      if (this._nearBottom()) this.markRead();
    }, { passive: true });
    window.addEventListener("focus", () => this.markRead());
    document.addEventListener("visibilitychange", () => this.markRead());
    this.view.app.outbox.addEventListener("change", () => this._renderOutbox());
    for (const box of [this.list, this.rootBox]) {
      box.addEventListener("click", (event) => this._onAction(event));
      box.addEventListener("keydown", menuKeydown);
    }
    this.outboxList.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      const node = button && button.closest("li.outbox");
      if (!node) return;
      const outbox = this.view.app.outbox;
      if (button.dataset.action === "retry") outbox.update(node.dataset.clientId, { state: "pending", error: "" });
      if (button.dataset.action === "discard") outbox.remove(node.dataset.clientId);
    });
    if (this.form) {
      this.panelReply = new ReplyBar(this.form, this.input, { before: this.form.firstChild });
      wireFormatting(this.input, { form: this.form, anchor: this.input.closest(".thread-compose-row") });
      this.mentions = new MentionAutocomplete(this.input, {
        members: () => [...this.view.participants.values()].filter((p) => p.id !== this.view.me),
        everyone: this.view.mayMentionEveryone && this.view.type !== "direct",
      });
      this.form.addEventListener("submit", (event) => {
        event.preventDefault();
        this.send();
      });
      this.input.addEventListener("keydown", (event) => {
        if (this.mentions.onKeydown(event)) return;
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          this.send();
        }
      });
      this.input.addEventListener("input", () => this._lengthNotice());
    }
  }

  /** Says, under the reply box, that the reply is over the length limit
   * (length-guard.js); true while it is. */
  _lengthNotice() {
    const notice = document.getElementById("thread-notice");
    const problem = lengthProblem(this.input);
    if (notice) {
      notice.textContent = problem;
      notice.hidden = !problem;
    }
    return Boolean(problem);
  }

  _openFromLocation() {
    const id = new URLSearchParams(window.location.search).get("thread");
    if (!id || !UUID.test(id)) return;
    const match = window.location.hash.match(/^#seq-(\d+)$/);
    this.open(id.toLowerCase(), { seq: match ? Number(match[1]) : null });
  }

  get isOpen() {
    return Boolean(this.panel && !this.panel.hidden && this.rootId);
  }

  /** Open the thread of ``rootId`` in the panel (its latest page of
   * replies), focus its composer; ``seq``: a reply to show and mark. */
  async open(rootId, { opener = null, seq = null } = {}) {
    if (!this.panel || !rootId) return;
    if (this.rootId === rootId && !this.panel.hidden) {
      if (seq) this._markInPanel(this._idOfSeq(seq));
      (this.input || this.panel.querySelector("#thread-close")).focus();
      return;
    }
    this.generation += 1;
    const generation = this.generation;
    this.rootId = rootId;
    this.opener = opener || this.opener;
    this._openerPlace = this.opener ? {
      itemId: this.opener.closest("li.message")?.id,
      kind: this.opener.classList.contains("thread-summary") ? "summary" : "button",
    } : null;
    this.replies.clear();
    this.hasMore = false;
    this.readSent = 0;
    this.root = this.view.messages.get(rootId) || null;
    this.list.replaceChildren();
    this.earlier.hidden = true;
    this.panelReply?.clear();
    if (this.input) this.input.value = "";
    if (this.also) this.also.checked = false;
    this._renderRoot();
    this.status.textContent = gettext("Loading the thread…");
    this.panel.hidden = false;
    document.getElementById("chat")?.closest(".chat-layout")?.classList.add("thread-open");
    this._setLocation(rootId);
    this._renderOutbox();
    this.view.renderOutbox();
    const composerUsable = this.form && this.view.composer;
    if (this.form) this.form.hidden = !composerUsable;
    (composerUsable ? this.input : document.getElementById("thread-close")).focus();
    let frame;
    try {
      frame = await this._fetch({ limit: THREAD_PAGE });
    } catch (error) {
      if (generation !== this.generation) return;
      this.status.textContent = error.code === "not_found" || error.code === "forbidden" || error.code === "invalid"
        ? gettext("This thread could not be opened.")
        : interpolate(gettext("The thread could not be loaded: %(reason)s"), { reason: error.message });
      return;
    }
    if (generation !== this.generation) return;
    this.status.textContent = "";
    if (frame.root) {
      this.view.e2e?.prepare(frame.root, this.view.messages.get(frame.root.id));
      this.root = frame.root;
      if (frame.root.thread) this.applySummary(rootId, frame.root.thread);
      this._renderRoot();
    }
    for (const message of frame.messages || []) this._upsertReply(message);
    // Replies that came by the conversation's stream while the page travelled.
    for (const message of this.view.messages.values()) {
      if (message.parent_id === rootId) this._upsertReply(message);
    }
    this.hasMore = Boolean(frame.has_more);
    this.earlier.hidden = !this.hasMore;
    this._markUnread(Number(frame.unread) || 0);
    if (seq) this._markInPanel(this._idOfSeq(seq));
    else this._scrollToBottom();
    this.markRead();
  }

  close() {
    if (!this.panel || this.panel.hidden) return;
    this.generation += 1;
    this.panel.hidden = true;
    this.rootId = null;
    this.root = null;
    this.replies.clear();
    this.list.replaceChildren();
    this.rootBox.replaceChildren();
    this.outboxList.replaceChildren();
    this.panelReply?.clear();
    closeMenus();
    document.getElementById("chat")?.closest(".chat-layout")?.classList.remove("thread-open");
    this._setLocation(null);
    this.view.renderOutbox();
    (this._openerNow() || this.view.input)?.focus();
    this.opener = null;
  }

  /** The button that opened the panel, or the one that took its place
   * when its message was drawn again (a summary updated meanwhile). */
  _openerNow() {
    const opener = this.opener;
    if (!opener || opener.isConnected) return opener;
    const { itemId, kind } = this._openerPlace || {};
    const item = itemId && document.getElementById(itemId);
    return item ? item.querySelector(kind === "summary" ? ".thread-summary" : "[data-action=thread]") : null;
  }

  /** The composer is gone from the conversation (archived, removed). */
  disableComposer() {
    if (this.form) this.form.hidden = true;
  }

  _setLocation(rootId) {
    const url = new URL(window.location.href);
    if (rootId) url.searchParams.set("thread", rootId);
    else {
      url.searchParams.delete("thread");
      if (/^#seq-/.test(url.hash)) url.hash = "";
    }
    if (url.href !== window.location.href) window.history.replaceState(window.history.state, "", url.href);
  }

  async _fetch(cursor) {
    const conn = this.view.conn;
    if (!conn.ready) await new Promise((resolve) => conn.addEventListener("hello", resolve, { once: true }));
    return conn.request({ type: "thread.fetch", thread_id: this.rootId, ...cursor }, { done: ["thread.history"] });
  }

  async loadEarlier() {
    if (this.loadingEarlier || !this.hasMore || !this.rootId) return;
    const seqs = [...this.replies.values()].map((m) => m.seq);
    if (!seqs.length) return;
    const generation = this.generation;
    this.loadingEarlier = true;
    this.earlier.disabled = true;
    try {
      const frame = await this._fetch({ before_seq: Math.min(...seqs), limit: THREAD_PAGE });
      if (generation !== this.generation) return;
      const height = this.scroller.scrollHeight;
      const top = this.scroller.scrollTop;
      for (const message of frame.messages || []) this._upsertReply(message);
      this.scroller.scrollTop = top + (this.scroller.scrollHeight - height);
      this.hasMore = Boolean(frame.has_more) && (frame.messages || []).length > 0;
      this.earlier.hidden = !this.hasMore;
    } catch (error) {
      /* offline for a moment: the next scroll or click tries again */
    } finally {
      this.loadingEarlier = false;
      this.earlier.disabled = false;
    }
  }

  _renderRoot() {
    if (!this.rootBox) return;
    if (!this.root) {
      this.rootBox.replaceChildren();
      return;
    }
    const node = this._node(this.root);
    node.classList.add("thread-root-message");
    this.rootBox.replaceChildren(el("ol", { class: "message-list" }, node));
  }

  /** A message as the panel shows it: no thread button or summary (it is
   * the thread), no receipts. */
  _node(message) {
    const node = messageElement(message, { me: this.view.me, names: this.view.names });
    for (const part of node.querySelectorAll("[data-action=thread], .thread-summary, .receipt")) part.remove();
    uniqueIds(node, "t-");
    node.id = `t-${message.id}`; // what the panel looks its messages up by
    return node;
  }

  /** Add or update a reply of the open thread, in seq order; false when it
   * was already shown as it is. */
  _upsertReply(message) {
    if (!this.list || message.parent_id !== this.rootId) return false;
    const known = this.replies.get(message.id);
    if (
      known && known.edited_at === message.edited_at && known.deleted_at === message.deleted_at
      && Boolean(known.hidden) === Boolean(message.hidden)
    ) {
      return false;
    }
    // An encrypted reply fetched here is decrypted as the conversation's
    // are (its text taken from a copy already read); redraw() draws it again.
    this.view.e2e?.prepare(message, known || this.view.messages.get(message.id));
    this.replies.set(message.id, message);
    this._drawReply(message);
    this._renderOutbox();
    return !known;
  }

  /** The root and replies the panel shows now (static/js/e2e/chat.js
   * decrypts them again when this browser can read more). */
  shown() {
    return [this.root, ...this.replies.values()].filter(Boolean);
  }

  /** Draw ``message`` again where the panel shows this very copy (its
   * decrypted text came). */
  redraw(message) {
    if (this.root === message) this._renderRoot();
    else if (this.replies.get(message.id) === message) this._drawReply(message);
  }

  _drawReply(message) {
    const node = this._node(message);
    const existing = document.getElementById(`t-${message.id}`);
    if (existing) {
      node.classList.toggle("unread", existing.classList.contains("unread"));
      const focused = existing.contains(document.activeElement) ? document.activeElement : null;
      existing.replaceWith(node);
      if (focused) keepFocusIn(node, focused);
    } else {
      insertBySeq(this.list, node, message.seq);
    }
  }

  _idOfSeq(seq) {
    if (this.root && this.root.seq === seq) return this.root.id;
    for (const message of this.replies.values()) if (message.seq === seq) return message.id;
    return null;
  }

  _markInPanel(id) {
    const node = id && document.getElementById(`t-${id}`);
    if (!node) return;
    for (const old of this.panel.querySelectorAll("li.message.target")) old.classList.remove("target");
    node.classList.add("target");
    node.tabIndex = -1;
    node.scrollIntoView({ block: "center" });
    node.focus({ preventScroll: true });
  }

  /** The ``count`` newest replies from others are the unread ones
   * (thread.history's ``unread``): marked, with a line above the first. */
  _markUnread(count) {
    this._clearUnread();
    if (!count) return;
    const others = [...this.replies.values()]
      .filter((m) => !m.deleted_at && m.sender && m.sender.id !== this.view.me)
      .sort((a, b) => b.seq - a.seq)
      .slice(0, count);
    let first = null;
    for (const message of others) {
      const node = document.getElementById(`t-${message.id}`);
      if (!node) continue;
      node.classList.add("unread");
      if (!first || Number(node.dataset.seq) < Number(first.dataset.seq)) first = node;
    }
    if (first) {
      const words = count === 1
        ? gettext("New reply")
        : interpolate(ngettext("%(count)s new reply", "%(count)s new replies", count), { count: formatNumber(count) });
      // A plain item of the list (a separator role would take its list
      // item semantics away), read as its words.
      first.before(el("li", { class: "unread-sep" }, el("span", { text: words })));
    }
  }

  _clearUnread() {
    if (!this.list) return;
    for (const sep of this.list.querySelectorAll("li.unread-sep")) sep.remove();
    for (const node of this.list.querySelectorAll("li.message.unread")) node.classList.remove("unread");
  }

  /** Tell the server the open thread is read up to its latest reply, while
   * the panel is open and the page visible. */
  markRead() {
    if (!this.isOpen || document.visibilityState !== "visible") return;
    let latest = 0;
    for (const message of this.replies.values()) latest = Math.max(latest, message.seq);
    if (!latest || latest <= this.readSent || !this.view.conn.ready) return;
    const previous = this.readSent;
    const rootId = this.rootId;
    this.readSent = latest;
    this.view.conn.request({ type: "thread.read", thread_id: rootId, seq: latest }, { done: ["ok"] })
      .catch(() => {
        // Not recorded (the connection dropped): the next look tries again.
        if (this.rootId === rootId && this.readSent === latest) this.readSent = previous;
      });
  }

  _nearBottom() {
    if (!this.scroller) return false;
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_BOTTOM_PX;
  }

  _scrollToBottom() {
    if (this.scroller) this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  _onAction(event) {
    const button = event.target.closest("button[data-action]");
    if (!button) return;
    const node = button.closest("li.message");
    const message = node && this._message(node.dataset.id);
    if (!message) return;
    const action = button.dataset.action;
    // The panel's messages are not the list's: the focus comes back here.
    if (action === "edit") this.view.editMessage(node, message, { returnTo: button });
    if (action === "delete") this.view.askToDelete(node, message, { returnTo: button });
    if (action === "menu") openMenu(button);
    if (action === "report") {
      closeMenus();
      this.view.reportDialog?.open(message, node.querySelector("[data-action=menu]"));
    }
    if (action === "open-image") {
      const id = button.closest("li.attachment")?.dataset.attachmentId;
      const attachment = (message.attachments || []).find((a) => a.id === id);
      if (attachment) openLightbox(attachment, button);
    }
  }

  // --- The panel's composer --------------------------------------------------------

  send() {
    if (!this.input || !this.rootId) return;
    const content = this.input.value;
    if (!content.trim()) return;
    if (this._lengthNotice()) return;
    this.view.app.outbox.add(this.view.id, content, {
      parentId: this.rootId,
      alsoToConversation: Boolean(this.also && this.also.checked),
      replyToId: this.panelReply?.id || null,
    });
    this.input.value = "";
    this.panelReply?.clear();
    this.input.focus();
    this._scrollToBottom();
  }

  /** The open thread's messages not stored yet: pending, or failed with
   * Retry and Discard. */
  _renderOutbox() {
    if (!this.outboxList) return;
    if (!this.rootId) {
      this.outboxList.replaceChildren();
      return;
    }
    const stored = new Set([...this.replies.values()].map((m) => m.client_id).filter(Boolean));
    const items = this.view.app.outbox.forConversation(this.view.id)
      .filter((item) => item.parent_id === this.rootId && !stored.has(item.client_id));
    this.outboxList.replaceChildren(...items.map((item) => {
      const node = outboxElement(item, { me: this.view.me, myName: this.view.app.myName });
      node.id = `to-${item.client_id}`;
      return node;
    }));
  }
}

/** Called once by ConversationView's constructor. */
export function wireThreads(view) {
  return new Threads(view);
}
