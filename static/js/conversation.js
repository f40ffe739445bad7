// One open conversation: history (the first page from the page's JSON,
// older pages on scroll up, gaps filled by seq), live messages de-duplicated
// by id, the outbox's pending and failed messages, typing, receipts, edit and
// delete. Every message goes through render.js's messageElement, whichever
// way it arrived.

import {
  announce, attachmentElement, dayKey, el, formatDay, initials, insertBySeq, keepToolsInView, messageElement, nameList,
  openLightbox,
  messageWords, outboxElement, receiptText,
} from "./render.js";
import { alertNow } from "./announce.js";
import { focusLeftBehind } from "./dialogs.js";
import { foldMenu } from "./fold-menu.js";
import { formatNumber, gettext, interpolate, ngettext } from "./i18n.js";
import { lengthProblem } from "./length-guard.js";
import { MessageKeyboard } from "./message-keyboard.js";
import { noticeText } from "./notices.js";
import {
  ReportDialog, closeMenus, menuKeydown, openMenu, wireBlockControl,
} from "./moderation.js";
import { MentionAutocomplete } from "./mentions.js";
import { UploadTray, discardUpload, wireDrop, wirePaste } from "./uploads.js";
import { JumpToContext, jumpFromLocation } from "./jump.js";
import { ModerationWarnings } from "./warnings.js";
import { inMainStream, wireThreads } from "./threads.js";
import { wireFormatting } from "./format.js";
import { wireMessageExtras } from "./reactions.js";
import { wireMeetings } from "./meetings.js";
import { wireReminders } from "./reminders.js";
import { EncryptedChat } from "./e2e/chat.js";

const TYPING_RENEW_MS = 2000;
const GROUP_WINDOW_MS = 5 * 60 * 1000;
const PAGE_SIZE = 50;
// A document's preview made by a worker that cannot reach this page's socket
// (the embedded default: docs/protocol.md, Files) is fetched instead.
const PREVIEW_POLL_MS = 5000;
const PREVIEW_POLL_FOR_MS = 3 * 60 * 1000;
// Sends refused for a reason the person must act on first (docs/protocol.md):
// the draft goes back to the composer with the reason, and is not retried.
const DRAFT_KEEPING_REFUSALS = new Set(["muted", "blocked", "content_blocked"]);
// How much of an arriving message the live region reads out.
const ANNOUNCED_CHARACTERS = 140;

/** Puts ``user``'s new name wherever ``message`` names them (its sender,
 * the sender of the message it quotes, its thread summary's repliers, its
 * reactions' people); whether it named them. */
function renameIn(message, user) {
  let changed = false;
  const named = (person) => {
    if (!person || person.id !== user.id || person.display_name === user.display_name) return person;
    changed = true;
    return { ...person, display_name: user.display_name };
  };
  if (message.sender) message.sender = named(message.sender);
  if (message.reply_to && message.reply_to.sender) message.reply_to.sender = named(message.reply_to.sender);
  if (message.thread && Array.isArray(message.thread.last_repliers)) {
    message.thread.last_repliers = message.thread.last_repliers.map(named);
  }
  for (const reaction of Array.isArray(message.reactions) ? message.reactions : []) {
    if (Array.isArray(reaction.users)) reaction.users = reaction.users.map(named);
  }
  return changed;
}

export class ConversationView {
  constructor(app) {
    this.app = app;
    this.conn = app.conn;
    this.me = app.me;
    const data = JSON.parse(document.getElementById("page-data").textContent);
    this.id = data.conversation_id;
    app.activeConversationId = this.id;
    this.type = data.type;
    this.archived = data.archived;
    this.removed = false;
    // A block between the two people of a direct conversation: the server
    // drew its note in place of the composer (a change redraws the page).
    this.blocked = Boolean(document.getElementById("blocked-note"));
    this.hasMoreBefore = data.has_more_before;
    this.participants = new Map(data.participants.map((p) => [p.id, { ...p }]));
    this.mayMentionEveryone = !!data.may_mention_everyone;
    this.muted = data.muted || null;
    this._updateNames();
    this.messages = new Map(); // id -> message
    this.seqs = new Map(); // seq -> id
    // Threads (threads.js) and reactions, pins, saved, link cards
    // (reactions.js) register their message decorators before anything renders.
    this.threads = wireThreads(this);
    this.extras = wireMessageExtras(this);
    wireMeetings(); // video calls: the call button, and call cards
    wireReminders();
    this.cursor = 0; // every seq up to here is held
    this.list = document.getElementById("message-list");
    this.outboxList = document.getElementById("outbox-list");
    this.scroller = document.getElementById("messages");
    this.status = document.getElementById("history-status");
    this.typingLine = document.getElementById("typing-line");
    this.composer = document.getElementById("composer");
    this.input = document.getElementById("composer-input");
    this.typers = new Map(); // user id -> {name, timer}
    this.typingSentAt = 0;
    this.loadingOlder = false;
    this.filling = false;
    this.polls = new Map(); // attachment id -> timer, while its preview is pending
    this.failuresAlerted = new Set(); // client ids of failed sends already said
    // End-to-end encrypted (docs/e2e.md): messages are decrypted before
    // they are drawn, and sends encrypted before the outbox keeps them.
    this.e2e = data.e2e ? new EncryptedChat(this) : null;

    for (const message of data.messages) this.upsert(message);
    this.cursor = data.messages.length ? Math.max(...data.messages.map((m) => m.seq)) : 0;
    this._advanceCursor();
    this.readSent = this.participants.get(this.me)?.last_read_seq || 0;
    this.decorate();
    this._showHistoryStatus();
    this.renderOutbox();
    // ?around=<seq> (a search hit): that message in context, not the latest.
    this.jump = jumpFromLocation(this);
    if (this.jump) {
      this.jump.open();
    } else {
      this.scrollToBottom();
      this.goToHash();
    }

    app.cursorSources.push(() => (this.removed ? {} : { [this.id]: this.cursor }));
    app.outbox.addEventListener("change", () => this.renderOutbox());
    this._listen();
    // A support conversation's request banner, live on support.updated.
    if (data.support) {
      import("./support.js").then(({ SupportBanner }) => { this.support = new SupportBanner(this, data.support); });
    }
    this._wireComposer();
    this._wireActions();
    foldMenu(document.querySelector(".chat-header"), document.getElementById("chat-actions-toggle"), document.getElementById("chat-actions"));
    this._wireModeration();
    this._wireDeleteDialog();
    this.keyboard = new MessageKeyboard(this);
    this._updateOnlineCount();
    this.warnings = new ModerationWarnings(this);
  }

  // --- Socket events ---------------------------------------------------------

  /** Names of the current members by id: mentions are highlighted by them. */
  _updateNames() {
    this.names = new Map([...this.participants.values()].map((p) => [p.id, p.display_name]));
  }

  /**
   * A link to a message in context (`#seq-<n>`, from the notification
   * centre): load older pages until it is held, then scroll to it and mark
   * it. Waits for the socket when it needs older pages.
   */
  async goToHash() {
    const match = window.location.hash.match(/^#seq-(\d+)$/);
    if (!match) return;
    // A thread's link (?thread=<root>#seq-<n>): the thread panel shows it.
    if (new URLSearchParams(window.location.search).get("thread")) return;
    await this.goToSeq(Number(match[1]));
  }

  /**
   * Show the message with ``seq`` (a quote's target, a link): load older
   * pages until it is held, then scroll to it, mark and focus it; a thread
   * reply not in the main stream opens its thread instead. Far back, the
   * stretch around it is loaded instead (jump.js).
   */
  async goToSeq(seq) {
    for (let round = 0; round < 10 && !this.seqs.has(seq) && this.hasMoreBefore; round += 1) {
      if (!this.conn.ready) {
        await new Promise((resolve) => this.conn.addEventListener("hello", resolve, { once: true }));
      }
      const before = this._oldestSeq();
      await this.loadOlder();
      if (this._oldestSeq() === before) break;
    }
    if (!this.seqs.has(seq) && this.hasMoreBefore && seq < this._oldestSeq()) {
      this.jump = new JumpToContext(this, seq);
      await this.jump.open();
      return;
    }
    const id = this.seqs.get(seq);
    const message = id && this.messages.get(id);
    if (message && !inMainStream(message)) {
      await this.threads.open(message.parent_id, { seq });
      return;
    }
    const node = id && document.getElementById(`m-${id}`);
    if (!node) return;
    for (const old of this.list.querySelectorAll("li.message.target")) old.classList.remove("target");
    node.classList.add("target");
    node.tabIndex = -1;
    node.scrollIntoView({ block: "center" });
    node.focus({ preventScroll: true });
  }

  /** The oldest seq held (shown or not: thread replies fill seqs too). */
  _oldestSeq() {
    let oldest = Infinity;
    for (const seq of this.seqs.keys()) if (seq < oldest) oldest = seq;
    return oldest;
  }

  _listen() {
    const conn = this.conn;
    window.addEventListener("hashchange", () => this.goToHash());
    conn.on("hello", (hello) => {
      const mine = (hello.conversations || []).find((c) => c.id === this.id);
      if (!mine) {
        this._gone(gettext("You are no longer a member of this conversation."));
        return;
      }
      this.readSent = Math.max(this.readSent, mine.last_read_seq);
      this._fillView();
    });
    conn.on("message.new", (frame) => {
      const message = frame.message;
      if (!message || message.conversation_id !== this.id) return;
      const stick = this.nearBottom() || (message.sender && message.sender.id === this.me);
      const added = this.upsert(message, { via: frame.via });
      this.decorate();
      if (message.seq > this.cursor) this.fillGap();
      if (added && message.sender && message.sender.id !== this.me) {
        this._stopTyping(message.sender.id);
        // A reply shown only in its thread is announced by the thread panel.
        if (frame.via !== "ack" && inMainStream(message)) this._announceArrival(message);
      }
      if (stick) this.scrollToBottom();
      this.markSeen();
    });
    for (const type of ["message.edited", "message.deleted", "message.hidden", "message.restored"]) {
      conn.on(type, (frame) => {
        if (frame.message && frame.message.conversation_id === this.id) {
          this.upsert(frame.message);
          this.decorate();
        }
      });
    }
    conn.on("history", (frame) => {
      if (frame.conversation_id !== this.id) return;
      const stick = this.nearBottom();
      for (const message of frame.messages || []) this.upsert(message);
      this.decorate();
      if (frame.has_more) this.fillGap();
      if (stick) this.scrollToBottom();
      this.markSeen();
    });
    conn.on("attachment.updated", (frame) => {
      if (frame.conversation_id === this.id && frame.attachment) {
        this._applyAttachment(frame.message_id, frame.attachment, "frame");
      }
    });
    conn.on("typing", (frame) => this._onTyping(frame));
    conn.on("block.changed", (frame) => this._onBlockChanged(frame));
    conn.on("user.updated", (frame) => this._onUserUpdated(frame.user));
    conn.on("receipt", (frame) => {
      if (frame.conversation_id !== this.id) return;
      const person = this.participants.get(frame.user_id);
      if (!person) return;
      if (frame.status === "read") {
        person.last_read_seq = Math.max(person.last_read_seq, frame.up_to_seq);
      }
      person.last_delivered_seq = Math.max(person.last_delivered_seq, frame.up_to_seq);
      this.updateReceipts();
    });
    conn.on("conversation.updated", (frame) => {
      const conversation = frame.conversation;
      if (!conversation || conversation.id !== this.id) return;
      if (conversation.participants) {
        this.participants = new Map(conversation.participants.map((p) => [p.user.id, {
          id: p.user.id, display_name: p.user.display_name, role: p.user.role,
          last_read_seq: p.last_read_seq, last_delivered_seq: p.last_delivered_seq,
        }]));
        this._updateNames();
        this.updateReceipts();
        this._updateOnlineCount();
      }
      if (conversation.participants) {
        const count = document.getElementById("member-count");
        const members = conversation.participants.length;
        if (count) count.textContent = interpolate(ngettext("%(count)s member", "%(count)s members", members), { count: formatNumber(members) });
      }
      // A direct conversation is named after the other person (user.updated).
      if (conversation.title && this.type !== "direct") this._retitle(conversation.title);
      if (conversation.archived_at && !this.archived) {
        this.archived = true;
        this._disableComposer(gettext("This conversation was archived and is read-only."));
      }
    });
    conn.on("conversation.removed", (frame) => {
      if (frame.conversation_id === this.id) this._gone(gettext("You are no longer a member of this conversation."));
    });
    conn.on("down", () => {
      this.typingSentAt = 0;
      for (const id of [...this.typers.keys()]) this._stopTyping(id);
    });
    conn.on("error", (frame) => {
      if (frame.conversation_id === this.id && (frame.code === "forbidden" || frame.code === "not_found") && !frame.client_id) {
        this._gone(gettext("You are no longer a member of this conversation."));
      }
    });
    window.addEventListener("focus", () => this.markSeen());
    document.addEventListener("visibilitychange", () => this.markSeen());
    document.addEventListener("parley:presence", () => this._updateOnlineCount());
    this.scroller.addEventListener("scroll", () => {
      if (this.scroller.scrollTop < 200) this.loadOlder();
      if (this.nearBottom()) this.markSeen();
    }, { passive: true });
  }

  /** Someone else's new message, for screen readers: "Maria Mentor: text"
   * (its start, on one line), or that they sent files. Never the list
   * itself (its log role is not live) and never my own sends. */
  _announceArrival(message) {
    const name = message.sender.display_name;
    let content = messageWords(message);
    let files = (message.attachments || []).length;
    if (message.message_type === "encrypted") {
      // Said once decrypted (e2e/chat.js calls here again), never before.
      if (message.plain?.state !== "ok") {
        message.announcePending = message.plain?.state === "pending";
        return;
      }
      content = message.plain.text;
      files = message.plain.files.length;
    }
    if (message.message_type === "system") {
      // "Maria added Sam": its own words, in the page's language.
      announce(noticeText(message));
      return;
    }
    const text = (content || "").replace(/\s+/g, " ").trim();
    if (text) {
      const clipped = text.length > ANNOUNCED_CHARACTERS ? `${text.slice(0, ANNOUNCED_CHARACTERS)}…` : text;
      announce(interpolate(gettext("%(name)s: %(text)s"), { name, text: clipped }));
    } else if (files) {
      announce(interpolate(ngettext("%(name)s sent %(count)s file", "%(name)s sent %(count)s files", files), {
        name, count: files,
      }));
    }
  }

  _gone(text) {
    this.removed = true;
    this._disableComposer(text);
  }

  /** Whether I may write here now (send, reply, react, pin): a member, not
   * archived, no block. */
  mayWrite() {
    return !this.archived && !this.removed && !this.blocked;
  }

  _disableComposer(text) {
    if (this.composer) {
      const note = el("p", { class: "archived-note", role: "status", text });
      this.composer.replaceWith(note);
      this.composer = null;
      this.input = null;
      this.threads.disableComposer();
    }
  }

  // --- Messages ----------------------------------------------------------------

  /** Add or update a message; false when it was already shown as it is.
   * Every message is held (its seq counts for the cursor); a thread reply
   * not also sent to the conversation shows only in its thread (threads.js). */
  upsert(message, { via = null } = {}) {
    if (message.conversation_id !== this.id) return false;
    const known = this.messages.get(message.id);
    if (
      known && known.edited_at === message.edited_at && known.deleted_at === message.deleted_at
      && Boolean(known.hidden) === Boolean(message.hidden)
    ) {
      return false;
    }
    if (known && known.thread && !message.thread) message.thread = known.thread;
    this.e2e?.prepare(message, known);
    this.messages.set(message.id, message);
    this.seqs.set(message.seq, message.id);
    const existing = document.getElementById(`m-${message.id}`);
    if (!inMainStream(message)) {
      existing?.remove();
      this._settleSent(message);
      this._advanceCursor();
      this.threads.onMessage(message, { via });
      return !known;
    }
    const node = messageElement(message, { me: this.me, names: this.names });
    if (existing) {
      // Focus on the message (or in it) stays on the message redrawn.
      const hadFocus = existing.contains(document.activeElement);
      existing.replaceWith(node);
      if (hadFocus) this.keyboard?.focus(node);
    } else {
      insertBySeq(this.list, node, message.seq);
    }
    this._watchPending(message);
    this._settleSent(message);
    this._advanceCursor();
    this.threads.onMessage(message, { via });
    return !known;
  }

  /** Draw ``message`` again where it is (its decrypted text came). */
  redraw(message, { decorate = true } = {}) {
    const existing = document.getElementById(`m-${message.id}`);
    if (!existing || this.messages.get(message.id) !== message) return;
    const node = messageElement(message, { me: this.me, names: this.names });
    const hadFocus = existing.contains(document.activeElement);
    existing.replaceWith(node);
    if (hadFocus) this.keyboard?.focus(node);
    // Many drawn at once (a rename) decorate once, after the last.
    if (decorate) this.decorate();
  }

  /** My message is stored: it leaves the outbox. */
  _settleSent(message) {
    if (message.client_id && message.sender && message.sender.id === this.me) {
      this.app.outbox.remove(message.client_id);
      document.getElementById(`o-${message.client_id}`)?.remove();
    }
  }

  // --- Attachments -------------------------------------------------------------

  /** Poll each of ``message``'s attachments whose preview is being made. */
  _watchPending(message) {
    if (message.deleted_at || message.hidden) return;
    for (const attachment of message.attachments || []) {
      if (attachment.preview && attachment.preview.state === "pending" && !this.polls.has(attachment.id)) {
        this._poll(message.id, attachment.id);
      }
    }
  }

  /** GET the attachment every PREVIEW_POLL_MS, for at most PREVIEW_POLL_FOR_MS,
   * until its preview is no longer pending (or the attachment is gone). */
  _poll(messageId, attachmentId) {
    const started = Date.now();
    const tick = async () => {
      if (!this.polls.has(attachmentId)) return;
      if (Date.now() - started > PREVIEW_POLL_FOR_MS) {
        this.polls.delete(attachmentId);
        return;
      }
      try {
        const response = await fetch(`/api/attachments/${encodeURIComponent(attachmentId)}/`, {
          credentials: "same-origin", headers: { Accept: "application/json" },
        });
        if (response.ok) {
          this._applyAttachment(messageId, await response.json(), "poll");
        } else if (response.status >= 400 && response.status < 500 && response.status !== 429) {
          this.polls.delete(attachmentId); // deleted, or no longer ours to see
          return;
        }
      } catch (error) {
        /* offline for a moment: the next tick tries again */
      }
      if (this.polls.has(attachmentId)) this.polls.set(attachmentId, setTimeout(tick, PREVIEW_POLL_MS));
    };
    this.polls.set(attachmentId, setTimeout(tick, PREVIEW_POLL_MS));
  }

  /** A newer state of one attachment (``attachment.updated``, or a poll):
   * its block is replaced in place; a pending state never replaces a
   * settled one (a poll answered after the frame). */
  _applyAttachment(messageId, attachment, via) {
    const message = this.messages.get(messageId);
    if (!message || message.deleted_at) return;
    const known = (message.attachments || []).find((a) => a.id === attachment.id);
    if (!known) return;
    const state = attachment.preview ? attachment.preview.state : "none";
    if (state === "pending" && known.preview && known.preview.state !== "pending") return;
    if (state !== "pending") {
      clearTimeout(this.polls.get(attachment.id));
      this.polls.delete(attachment.id);
    }
    message.attachments = message.attachments.map((a) => (a.id === attachment.id ? attachment : a));
    const node = [...this.list.querySelectorAll("li.attachment[data-attachment-id]")]
      .find((n) => n.dataset.attachmentId === attachment.id);
    if (!node) return;
    const stick = this.nearBottom();
    const fresh = attachmentElement(attachment);
    fresh.dataset.updatedVia = via;
    node.replaceWith(fresh);
    if (stick) this.scrollToBottom();
    if (state === "ready" && known.preview && known.preview.state === "pending") {
      announce(interpolate(gettext("The preview of %(name)s is ready."), { name: attachment.name }));
    }
  }

  _advanceCursor() {
    while (this.seqs.has(this.cursor + 1)) this.cursor += 1;
  }

  /** Fetch whatever follows the last contiguous seq (a gap, or more to resume).
   * Not while a message is open in context far back: jump.js pages newer
   * history as the person scrolls down instead. */
  async fillGap() {
    if (this.filling || !this.conn.ready || this.jump?.detached) return;
    this.filling = true;
    try {
      for (let round = 0; round < 50; round += 1) {
        const before = this.cursor;
        const reply = await this.conn.request({
          type: "history.fetch", conversation_id: this.id, after_seq: this.cursor, limit: 200,
        }, { done: ["history"] });
        const stick = this.nearBottom();
        for (const message of reply.messages || []) this.upsert(message);
        this.decorate();
        if (stick) this.scrollToBottom();
        if (!reply.has_more || this.cursor === before) break;
      }
      this.markSeen();
    } catch (error) {
      /* retried on the next resume */
    } finally {
      this.filling = false;
    }
  }

  async loadOlder() {
    if (this.loadingOlder || !this.hasMoreBefore || !this.conn.ready) return;
    const oldest = this._oldestSeq();
    if (oldest === Infinity) return;
    let loaded = false;
    this.loadingOlder = true;
    this.status.textContent = gettext("Loading older messages…");
    try {
      const reply = await this.conn.request({
        type: "history.fetch", conversation_id: this.id, before_seq: oldest, limit: PAGE_SIZE,
      }, { done: ["history"] });
      const height = this.scroller.scrollHeight;
      const top = this.scroller.scrollTop;
      for (const message of reply.messages || []) this.upsert(message);
      this.decorate();
      this.scroller.scrollTop = top + (this.scroller.scrollHeight - height);
      this.hasMoreBefore = !!reply.has_more && (reply.messages || []).length > 0;
      loaded = true;
    } catch (error) {
      /* try again on the next scroll */
    } finally {
      this.loadingOlder = false;
      this._showHistoryStatus();
    }
    if (loaded) this._fillView();
  }

  /** Older pages while the list does not reach the top of the view: a
   * page of thread replies shown only in their threads draws nothing, and
   * there is then nothing to scroll. */
  _fillView() {
    const s = this.scroller;
    // Only while there is next to nothing to scroll: a message opened in
    // context (jump.js) keeps its place.
    if (this.hasMoreBefore && s.scrollHeight - s.clientHeight < 200) setTimeout(() => this.loadOlder(), 0);
  }

  /** Show ``messages`` (one stretch without gaps, oldest first) instead of
   * what is held: a message opened in context (jump.js). */
  replaceHistory(messages, { hasMoreBefore }) {
    this.messages.clear();
    this.seqs.clear();
    this.list.replaceChildren();
    this.hasMoreBefore = hasMoreBefore;
    this.cursor = messages.length ? messages[0].seq - 1 : 0;
    for (const message of messages) this.upsert(message);
    this.decorate();
    this._showHistoryStatus();
  }

  _showHistoryStatus() {
    this.status.textContent = this.hasMoreBefore
      ? gettext("Scroll up for older messages") : gettext("This is the beginning of the conversation.");
  }

  /** Date separators, consecutive-message grouping, receipt marks. */
  decorate() {
    for (const sep of this.list.querySelectorAll("li.date-sep")) sep.remove();
    let previous = null;
    for (const node of this.list.querySelectorAll("li.message")) {
      const sentAt = new Date(node.dataset.sentAt || this.messages.get(node.dataset.id)?.sent_at);
      const day = dayKey(sentAt);
      if (!previous || previous.day !== day) {
        // A list item of its own holding a heading: the list stays a list,
        // and a screen reader can jump from day to day.
        node.before(el("li", { class: "date-sep" }, el("h2", { class: "date-sep-label", text: formatDay(sentAt) })));
      }
      const continued = previous && previous.day === day && !node.classList.contains("system")
        && !previous.system && previous.sender === node.dataset.sender
        && sentAt - previous.sentAt < GROUP_WINDOW_MS;
      node.classList.toggle("continued", !!continued);
      previous = { day, sender: node.dataset.sender, sentAt, system: node.classList.contains("system") };
    }
    this.updateReceipts();
  }

  /** Sent / delivered / read for each of my messages, from members' cursors. */
  updateReceipts() {
    // People, not the bots beside them (a bot reads everything at once, and
    // "Seen by Study" tells nobody anything); a conversation with only a
    // bot counts the bot.
    const everyoneElse = [...this.participants.values()].filter((p) => p.id !== this.me);
    const people = everyoneElse.filter((p) => p.role !== "bot");
    const others = people.length ? people : everyoneElse;
    const mine = [...this.list.querySelectorAll("li.message.mine")];
    mine.forEach((node, index) => {
      const receipt = node.querySelector(".receipt");
      if (!receipt) return;
      const seq = Number(node.dataset.seq);
      const readers = others.filter((p) => p.last_read_seq >= seq);
      const delivered = others.length > 0 && others.every((p) => Math.max(p.last_delivered_seq, p.last_read_seq) >= seq);
      const read = others.length > 0 && readers.length === others.length;
      const state = read ? "read" : delivered ? "delivered" : "sent";
      let text = receiptText(state);
      if (this.type !== "direct" && readers.length) {
        text = read && others.length > 1 ? gettext("Seen by everyone")
          : interpolate(gettext("Seen by %(names)s"), { names: nameList(readers.map((p) => p.display_name.split(" ")[0])) });
      }
      receipt.dataset.state = state;
      receipt.querySelector(".receipt-icon").textContent = state === "sent" ? "✓" : "✓✓";
      // Also the end of the message's accessible name (aria-labelledby).
      receipt.querySelector(".receipt-text").textContent = text;
      receipt.title = readers.length
        ? interpolate(gettext("Read by %(names)s"), { names: nameList(readers.map((p) => p.display_name)) }) : text;
      node.classList.toggle("last-mine", index === mine.length - 1);
    });
  }

  renderOutbox() {
    this._keepRefusedDrafts();
    // A thread reply waits in its thread's panel (threads.js); one that
    // failed shows here too while its thread is closed, to be retried or
    // discarded.
    const items = this.app.outbox.forConversation(this.id)
      .filter((item) => (!item.parent_id || (item.state === "failed" && item.parent_id !== this.threads.rootId))
        && !this._stored(item.client_id));
    this.outboxList.replaceChildren(...items.map((item) => outboxElement(item, { me: this.me, myName: this.app.myName })));
    this._alertNewFailures(items);
    for (const item of this.app.outbox.forConversation(this.id)) {
      if (this._stored(item.client_id)) this.app.outbox.remove(item.client_id);
    }
  }

  /** Said at once, and once, when a send of mine fails for good (the outbox
   * is redrawn on every change, so its items carry no alert role). */
  _alertNewFailures(items) {
    for (const item of items) {
      if (item.state !== "failed" || this.failuresAlerted.has(item.client_id)) continue;
      this.failuresAlerted.add(item.client_id);
      alertNow(interpolate(gettext("Your message was not sent: %(reason)s"), {
        reason: item.error || gettext("the server refused this message"),
      }));
    }
  }

  /** A send refused as muted, blocked or by a content rule
   * (content_blocked): its text goes back to the composer (unless something
   * else is being written there), the reason shows under it, and it leaves
   * the outbox; nothing retries it (sent again unchanged, it would be
   * refused again). A send with files stays in the outbox as failed, to be
   * retried or discarded: its files are not put back in the tray. */
  _keepRefusedDrafts() {
    for (const item of this.app.outbox.forConversation(this.id)) {
      if (item.state !== "failed" || !DRAFT_KEEPING_REFUSALS.has(item.code) || item.parent_id) continue;
      if ((item.attachments || []).length) continue;
      if (this.input && !this.input.value.trim()) {
        this.input.value = item.content;
        this.input.focus();
      } else if (this.input && this.input.value !== item.content) continue;
      this._composerNotice(item.error || gettext("This message was not sent."), item.code);
      this.app.outbox.remove(item.client_id);
    }
  }

  /** "@all" or "@here" from someone whose words cannot reach everyone
   * (docs/protocol.md: only mentors and admins, in groups and support
   * conversations): said before it is sent as plain text. */
  _everyoneHint() {
    if (this.mayMentionEveryone && this.type !== "direct") return "";
    if (!/(^|[\s(])@(all|here)(?![\w])/i.test(this.input.value)) return "";
    return gettext("@all and @here reach everyone only from mentors and admins, in groups: here they are plain text.");
  }

  /** A reason shown under the composer until the next send; ``code``, a
   * refusal's, lets what ends it (a mute lifted or over) take it away. */
  _composerNotice(text, code = "") {
    const notice = document.getElementById("composer-notice");
    if (!notice) return;
    notice.textContent = text;
    notice.hidden = !text;
    notice.dataset.code = text ? code : "";
  }

  /** The refusal ``code`` shown under the composer no longer holds. */
  clearRefusal(code) {
    const notice = document.getElementById("composer-notice");
    if (notice && notice.dataset.code === code) this._composerNotice("");
  }

  _stored(clientId) {
    for (const message of this.messages.values()) {
      if (message.client_id === clientId && message.sender && message.sender.id === this.me) return true;
    }
    return false;
  }

  markSeen() {
    if (this.removed || !this.app.isActive()) return;
    const seq = this.cursor;
    if (seq <= this.readSent) return;
    if (this.conn.send({ type: "read", conversation_id: this.id, seq })) {
      this.readSent = seq;
      const me = this.participants.get(this.me);
      if (me) me.last_read_seq = Math.max(me.last_read_seq, seq);
    }
  }

  /** False while the newest messages are not loaded (jump.js): the end of
   * the list is then not the end of the conversation to stick to. */
  nearBottom() {
    if (this.jump?.detached) return false;
    const s = this.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < 120;
  }

  scrollToBottom() {
    this.scroller.scrollTop = this.scroller.scrollHeight;
  }

  // --- Composer and typing ---------------------------------------------------

  _wireComposer() {
    if (!this.composer) return;
    this.mentions = new MentionAutocomplete(this.input, {
      members: () => [...this.participants.values()].filter((p) => p.id !== this.me),
      everyone: this.mayMentionEveryone && this.type !== "direct",
    });
    this.composer.addEventListener("submit", (event) => {
      event.preventDefault();
      this.send();
    });
    // Formatting shortcuts and toolbar (format.js); the quoted message of a
    // reply above the box (threads.js).
    // Before the file picker: Shift+Tab from the box still reaches Attach.
    wireFormatting(this.input, { form: this.composer, anchor: document.getElementById("composer-files") || this.input });
    this.threads.attachMainComposer(this.composer, this.input, this.composer.querySelector(".format-toolbar"));
    // The reason a draft came back goes once the draft is changed; a draft
    // over the length limit says so while it is (length-guard.js).
    this.input.addEventListener("input", () => {
      this._composerNotice(lengthProblem(this.input) || this._everyoneHint());
    });
    this._wireFiles();
    this.input.addEventListener("keydown", (event) => {
      if (this.mentions.onKeydown(event)) return;
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send();
      }
      // Up in an empty box edits my last message (as in Slack); the edit
      // gives the focus back here when saved or cancelled.
      const plain = !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey;
      if (event.key === "ArrowUp" && plain && !this.input.value) {
        const node = this._lastEditable();
        if (node) {
          event.preventDefault();
          this.editMessage(node, this.messages.get(node.dataset.id), { returnTo: this.input });
        }
      }
    });
    this.input.addEventListener("input", () => {
      if (!this.input.value.trim()) {
        this._typingStop();
        return;
      }
      const now = Date.now();
      if (now - this.typingSentAt >= TYPING_RENEW_MS) {
        if (this.conn.send({ type: "typing.start", conversation_id: this.id })) this.typingSentAt = now;
      }
    });
    this.input.addEventListener("blur", () => this._typingStop());
  }

  _typingStop() {
    if (!this.typingSentAt) return;
    this.typingSentAt = 0;
    this.conn.send({ type: "typing.stop", conversation_id: this.id });
  }

  _wireFiles() {
    const picker = document.getElementById("composer-files");
    if (!picker) return;
    this.uploadStatus = document.getElementById("upload-status");
    this.tray = new UploadTray({
      conversationId: this.id,
      list: document.getElementById("upload-list"),
      status: this.uploadStatus,
      seal: this.e2e ? (file) => this.e2e.sealFile(file) : null,
    });
    const add = (files) => {
      if (!this.composer) return;
      this.tray.add(files);
    };
    picker.addEventListener("change", () => {
      add([...picker.files]);
      picker.value = ""; // the same file may be chosen again
    });
    wireDrop(document.getElementById("chat"), document.getElementById("drop-zone"), add);
    wirePaste(this.input, add);
    this.tray.addEventListener("change", () => {
      if (this.sendWhenUploaded && !this.tray.uploading()) {
        this.sendWhenUploaded = false;
        this.send();
      }
    });
    // A send's chips go once it is acknowledged (or taken out of the outbox).
    this.app.outbox.addEventListener("change", () => {
      this.tray.settle((clientId) => this.app.outbox.get(clientId)?.state === "pending");
    });
  }

  send() {
    if (!this.input) return;
    const content = this.input.value;
    if (this.tray && this.tray.uploading()) {
      this.sendWhenUploaded = true;
      this.uploadStatus.textContent = gettext("Your message will be sent when the files finish uploading.");
      return;
    }
    const ready = this.tray ? this.tray.ready() : [];
    if (!content.trim() && !ready.length) return;
    const tooLong = lengthProblem(this.input);
    if (tooLong) {
      this._composerNotice(tooLong);
      return;
    }
    this._typingStop();
    this._composerNotice("");
    if (this.e2e) {
      this._sendEncrypted(ready.length && !content.trim() ? "" : content, ready);
      return;
    }
    const item = this.app.outbox.add(this.id, ready.length && !content.trim() ? "" : content, {
      attachments: ready.map((u) => u.attachment.id),
      files: ready.map((u) => ({ name: u.attachment.name, size: u.attachment.size, kind: u.attachment.kind })),
      replyToId: this.threads.mainReply?.id || null,
    });
    this.threads.mainReply?.clear();
    if (ready.length) {
      this.tray.claim(item.client_id);
      this.tray.settle((clientId) => this.app.outbox.get(clientId)?.state === "pending");
      this.uploadStatus.textContent = "";
    }
    this.input.value = "";
    this.input.focus();
    this.scrollToBottom();
  }

  /** Encrypt, then queue (docs/e2e.md, Messages): the box is emptied at
   * once; a refusal to encrypt puts the draft back with the reason. */
  async _sendEncrypted(content, ready) {
    const replyToId = this.threads.mainReply?.id || null;
    this.threads.mainReply?.clear();
    this.input.value = "";
    this.input.focus();
    if (ready.length) {
      for (const upload of ready) upload.state = "sending";
    }
    let item;
    try {
      item = await this.e2e.send(content, ready, { replyToId });
    } catch (error) {
      for (const upload of ready) upload.state = "done";
      this.tray?.render();
      if (this.input && !this.input.value) this.input.value = content;
      this._composerNotice(this.e2e.refusal(error));
      return;
    }
    if (ready.length) {
      for (const upload of ready) upload.state = "done";
      this.tray.claim(item.client_id);
      this.tray.settle((clientId) => this.app.outbox.get(clientId)?.state === "pending");
      this.uploadStatus.textContent = "";
    }
    this.scrollToBottom();
  }

  /** The other person of this direct conversation blocked me, or lifted
   * a block, or I did in another tab (block.changed): whether there is a
   * box to write in is drawn by the server, so the page is drawn again,
   * unless something is being written (its send then says whether it may
   * go; a refused draft comes back with the reason) or this page made the
   * change (it draws itself again on the answer). Pending sends wait in
   * the outbox. */
  _onBlockChanged(frame) {
    if (this.type !== "direct" || frame.user_id === this.me || !this.participants.has(frame.user_id)) return;
    if (document.body.dataset.blockChanging) return;
    if (this.input && this.input.value.trim()) return;
    window.location.reload();
  }

  /** Someone I share a conversation with changed their name
   * (user.updated): wherever this page names them (their messages, quotes
   * of them, thread summaries and reactions, the names that receipts and
   * mentions use, the thread panel's copies; in our direct conversation
   * the title, its initials, the composer's name and the tab's title)
   * shows the new one without a reload. */
  _onUserUpdated(user) {
    if (!user || typeof user.id !== "string" || typeof user.display_name !== "string") return;
    if (user.id === this.me) this.app.myName = user.display_name;
    const person = this.participants.get(user.id);
    const before = person ? person.display_name : null;
    if (person) {
      person.display_name = user.display_name;
      this._updateNames();
      this.updateReceipts();
    }
    // Summaries first: a root drawn again shows the newest one it holds.
    for (const summary of this.threads.summaries.values()) renameIn({ thread: summary }, user);
    // A live reply is one object in the stream and in the panel: drawn in both.
    const renamed = new Set();
    for (const message of [...this.messages.values(), ...this.threads.shown()]) {
      if (renamed.has(message) || renameIn(message, user)) renamed.add(message);
    }
    for (const message of renamed) {
      this.redraw(message, { decorate: false });
      this.threads.redraw(message);
    }
    if (renamed.size) this.decorate();
    if (this.type !== "direct" || !before || user.id === this.me || before === user.display_name) return;
    this._retitle(user.display_name);
    const avatar = document.querySelector(".chat-header .avatar");
    if (avatar) avatar.textContent = initials(user.display_name);
  }

  /** The conversation is called something else now (a group renamed, the
   * other person of a direct one renamed): everywhere the page names it. */
  _retitle(title) {
    document.getElementById("chat-title").textContent = title;
    // The words around the name come from the server, in the page's language.
    // Each element says where its words go: the log's label, the composer's
    // placeholder (and its label), the block dialog's title and note.
    for (const element of document.querySelectorAll("[data-name-template]")) {
      const words = interpolate(element.dataset.nameTemplate, { name: title });
      if (element.id === "messages") element.setAttribute("aria-label", words);
      else if (element === this.input) {
        element.placeholder = words;
        const label = document.getElementById("composer-label");
        if (label) label.textContent = words;
      } else element.textContent = words;
    }
    const count = document.title.match(/^\(\d+\)\s*/);
    document.title = `${count ? count[0] : ""}${title} · Parley`;
  }

  _onTyping(frame) {
    if (frame.conversation_id !== this.id || !frame.user || frame.user.id === this.me) return;
    if (!frame.is_typing) {
      this._stopTyping(frame.user.id);
      return;
    }
    const previous = this.typers.get(frame.user.id);
    if (previous) clearTimeout(previous.timer);
    // Said once per burst: the renewals that follow while they type are not.
    else announce(interpolate(gettext("%(name)s is typing…"), { name: frame.user.display_name }));
    const seconds = Number(frame.expires_in) > 0 ? Number(frame.expires_in) : 6;
    const timer = setTimeout(() => this._stopTyping(frame.user.id), seconds * 1000);
    this.typers.set(frame.user.id, { name: frame.user.display_name, timer });
    this._renderTyping();
  }

  _stopTyping(userId) {
    const typer = this.typers.get(userId);
    if (!typer) return;
    clearTimeout(typer.timer);
    this.typers.delete(userId);
    this._renderTyping();
  }

  _renderTyping() {
    const names = [...this.typers.values()].map((t) => t.name);
    let text = "";
    if (names.length === 1) text = interpolate(gettext("%(name)s is typing…"), { name: names[0] });
    else if (names.length === 2) {
      text = interpolate(gettext("%(first)s and %(second)s are typing…"), { first: names[0], second: names[1] });
    } else if (names.length > 2) text = gettext("Several people are typing…");
    this.typingLine.textContent = text;
    this.typingLine.classList.toggle("active", !!text);
  }

  _updateOnlineCount() {
    const node = document.getElementById("online-count");
    if (!node) return;
    const presence = this.app.presence;
    const online = [...this.participants.keys()].filter((id) => id !== this.me
      && presence && presence.status(id) === "online").length;
    node.textContent = online ? interpolate(ngettext("%(count)s online", "%(count)s online", online), { count: online }) : "";
  }

  // --- Edit, delete, retry -----------------------------------------------------

  _wireActions() {
    this.list.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      if (!button) return;
      const node = button.closest("li.message");
      const message = node && this.messages.get(node.dataset.id);
      if (!message) return;
      if (button.dataset.action === "open-image") {
        const id = button.closest("li.attachment")?.dataset.attachmentId;
        const attachment = (message.attachments || []).find((a) => a.id === id);
        if (attachment) openLightbox(attachment, button);
      }
      if (button.dataset.action === "edit") this.editMessage(node, message);
      if (button.dataset.action === "delete") this.askToDelete(node, message);
      if (button.dataset.action === "menu") openMenu(button);
      if (button.dataset.action === "report") {
        const menuButton = node.querySelector("[data-action=menu]");
        closeMenus();
        this.reportDialog?.open(message, menuButton);
      }
    });
    this.list.addEventListener("keydown", menuKeydown);
    keepToolsInView(this.list, document.getElementById("messages"));
    document.addEventListener("click", (event) => {
      if (!event.target.closest(".message-menu")) closeMenus();
    });
    this.outboxList.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-action]");
      const node = button && button.closest("li.outbox");
      if (!node) return;
      const clientId = node.dataset.clientId;
      if (button.dataset.action === "retry") this.app.outbox.update(clientId, { state: "pending", error: "" });
      if (button.dataset.action === "discard") {
        // Its uploads were never sent: take them back now rather than leave
        // them to the purge.
        for (const id of this.app.outbox.get(clientId)?.attachments || []) discardUpload(id);
        this.app.outbox.remove(clientId);
      }
    });
  }

  // --- Moderation: reports and blocks -------------------------------------------

  _wireModeration() {
    const dialog = document.getElementById("report-dialog");
    if (dialog) this.reportDialog = new ReportDialog(dialog);
    wireBlockControl(document.getElementById("block-toggle"), document.getElementById("block-dialog"));
  }

  /** My last message in the list that may still be edited. */
  _lastEditable() {
    const mine = [...this.list.querySelectorAll("li.message.mine:not(.deleted)")];
    return mine.reverse().find((node) => node.querySelector("[data-action=edit]")) || null;
  }

  /**
   * Edit my message in place: Enter (or Save) saves, Shift+Enter is a new
   * line, Escape (or Cancel) gives up. Either way the focus goes back to
   * ``returnTo`` (the composer, for ArrowUp there; the Edit button, in the
   * thread panel), else to the message.
   */
  editMessage(node, message, { returnTo = null } = {}) {
    if (node.querySelector("form.edit-form")) return;
    const content = node.querySelector(".content");
    const field = el("textarea", { class: "edit-input", dir: "auto", "aria-label": gettext("Edit message"), rows: "2" });
    const encrypted = message.message_type === "encrypted";
    if (encrypted && message.plain?.state !== "ok") return; // nothing readable to edit
    const before = encrypted ? message.plain.text : message.content;
    field.value = before;
    const error = el("p", { class: "form-error", role: "alert" });
    const form = el("form", { class: "edit-form" }, field,
      el("div", { class: "edit-actions" },
        el("button", { type: "submit", class: "btn btn-primary btn-small", text: gettext("Save") }),
        el("button", { type: "button", class: "btn btn-small", dataset: { cancel: "1" }, text: gettext("Cancel") })),
      error);
    const finish = () => {
      form.remove();
      content.hidden = false;
      this._giveFocusBack(returnTo, node.id);
    };
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (field.value === before) {
        finish();
        return;
      }
      try {
        if (encrypted) await this.e2e.edit(message, field.value);
        else await this.conn.request({ type: "message.edit", message_id: message.id, content: field.value }, { done: ["ok"] });
        finish();
      } catch (err) {
        error.textContent = interpolate(gettext("Could not save: %(reason)s"), { reason: err.message });
      }
    });
    form.querySelector("[data-cancel]").addEventListener("click", finish);
    field.addEventListener("keydown", (event) => {
      if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation(); // the message list's Escape is not for this
        finish();
      }
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit();
      }
    });
    content.hidden = true;
    content.after(form);
    this.keyboard.makeCurrent(node);
    field.focus();
    field.setSelectionRange(field.value.length, field.value.length);
  }

  /**
   * After an edit or a delete, focus ``returnTo`` while it is on the page;
   * else the message as drawn now where it was opened (it is redrawn when
   * edited or deleted): ``m-<id>`` in the list, ``t-<id>`` in the thread
   * panel, so the focus never drops to the page or leaves the panel.
   */
  _giveFocusBack(returnTo, nodeId) {
    if (returnTo?.isConnected) {
      returnTo.focus();
      return;
    }
    const node = document.getElementById(nodeId);
    if (!node) return;
    if (this.list.contains(node)) {
      this.keyboard.focus(node);
    } else {
      node.tabIndex = -1; // the thread panel's messages are not in the Tab order
      node.focus();
    }
  }

  // --- Deleting: a confirmation dialog ------------------------------------------

  _wireDeleteDialog() {
    const dialog = document.getElementById("delete-dialog");
    if (!dialog) return;
    this.deleteDialog = dialog;
    dialog.querySelector("[data-delete-cancel]").addEventListener("click", () => dialog.close());
    dialog.querySelector("[data-delete-confirm]").addEventListener("click", () => this._confirmDelete());
    // However it closes (Cancel, Escape, deleted): back to where it was asked.
    dialog.addEventListener("close", () => {
      // The event comes a task after the close: if the dialog was opened
      // again meanwhile (Escape, then Delete at once), it is not this
      // close's to end, and clearing it would make Delete do nothing.
      if (dialog.open) return;
      const { returnTo, nodeId } = this.deleting || {};
      this.deleting = null;
      if (nodeId && focusLeftBehind(dialog, document.getElementById(nodeId), returnTo)) {
        this._giveFocusBack(returnTo, nodeId);
      }
    });
  }

  /** Ask before deleting ``message`` (drawn as ``node``) for everyone;
   * Cancel has the focus. When the dialog closes, the focus goes back to
   * ``returnTo``, else to the message. */
  askToDelete(node, message, { returnTo = null } = {}) {
    if (!this.deleteDialog) return;
    this.deleting = { message, returnTo, nodeId: node.id };
    this.deleteDialog.querySelector("[data-delete-error]").textContent = "";
    this.deleteDialog.showModal();
    this.deleteDialog.querySelector("[data-delete-cancel]").focus();
  }

  async _confirmDelete() {
    const { message } = this.deleting || {};
    if (!message) return;
    try {
      await this.conn.request({ type: "message.delete", message_id: message.id }, { done: ["ok"] });
      this.deleteDialog.close();
    } catch (err) {
      this.deleteDialog.querySelector("[data-delete-error]").textContent = interpolate(
        gettext("Could not delete the message: %(reason)s"), { reason: err.message });
    }
  }
}
