// The conversation list (inbox page and the conversation page's sidebar),
// kept current from the socket: last message, time, order, unread badge.

import { gettext, interpolate, ngettext } from "./i18n.js";
import { noticeText, supportLabel } from "./notices.js";
import { announce, el, formatFull, formatShort, initials, messageWords } from "./render.js";

function preview(message, me, type) {
  if (message.deleted_at) return gettext("Message deleted");
  if (message.hidden) return gettext("Message hidden by a moderator");
  let text = messageWords(message).replace(/\s+/g, " ").trim();
  if (message.message_type === "file" || message.message_type === "image") {
    // The caption when there is one; else what kind of file came.
    text = text || (message.message_type === "image" ? gettext("Sent an image") : gettext("Sent a file"));
  }
  // End-to-end encrypted: the list has no key to read it with (the same
  // msgid as the server-drawn preview).
  if (message.message_type === "encrypted") text = gettext("Encrypted message");
  // "Maria added Sam" in the page's language (notices.js).
  if (message.message_type === "system") return noticeText(message);
  if (!message.sender) return text;
  // The same msgid as the server-drawn preview (messaging/views.py).
  if (message.sender.id === me) return interpolate(gettext("You: %(preview)s"), { preview: text });
  if (type !== "direct") {
    const name = message.sender.display_name.split(" ")[0];
    return interpolate(gettext("%(name)s: %(text)s"), { name, text });
  }
  return text;
}

/** A conversation's type as the inbox names it (its server-rendered rows
 * use the model's labels; these are the same words). */
const TYPE_NAMES = {
  direct: gettext("Direct"),
  group: gettext("Group"),
  support: gettext("Support"),
};

/** Shown in the conversation's main stream: a thread-only reply (parent set,
 * not also sent to the conversation) is not, and counts only in its thread's
 * own unread, so it moves neither the badge nor the preview. */
function inMainStream(message) {
  return !message.parent_id || !!message.also_to_conversation;
}

export class InboxList {
  constructor(app, node) {
    this.app = app;
    this.node = node;
    this.filter = node.dataset.filter || "all";
    this.rows = new Map();
    this.askedBack = new Map(); // conversation id → when we last asked whether it came back
    for (const row of node.querySelectorAll(".conversation-row")) {
      this.rows.set(row.dataset.conversationId, {
        node: row,
        lastSeq: Number(row.dataset.lastSeq) || 0,
        type: row.dataset.type,
      });
    }
    const conn = app.conn;
    app.cursorSources.push((hello) => this.cursors(hello));
    conn.on("hello", (hello) => this.onHello(hello));
    conn.on("message.new", (frame) => this.onMessage(frame.message, { live: frame.via !== "ack" }));
    conn.on("message.edited", (frame) => this.onMessage(frame.message, { live: false }));
    conn.on("message.deleted", (frame) => this.onMessage(frame.message, { live: false }));
    conn.on("message.hidden", (frame) => this.onMessage(frame.message, { live: false }));
    conn.on("message.restored", (frame) => this.onMessage(frame.message, { live: false }));
    conn.on("history", (frame) => {
      const messages = (frame.messages || []).filter(inMainStream);
      if (messages.length) this.onMessage(messages[messages.length - 1], { live: false });
    });
    conn.on("receipt", (frame) => {
      if (frame.user_id !== app.me || frame.status !== "read") return;
      const row = this.rows.get(frame.conversation_id);
      // row.lastSeq is the latest main-stream message's: read up to it is
      // all read; short of it, at most the seqs between (thread-only
      // replies among them do not count).
      if (row) this.setUnread(row, Math.min(row.unread ?? Infinity, row.lastSeq - frame.up_to_seq));
    });
    conn.on("conversation.added", (frame) => this.add(frame.conversation));
    conn.on("conversation.removed", (frame) => this.remove(frame.conversation_id));
    conn.on("conversation.updated", (frame) => this.updated(frame.conversation));
    conn.on("user.updated", (frame) => this.renamed(frame.user));
    conn.on("support.updated", (frame) => this.supportUpdated(frame.support));
  }

  /** Rows whose last message we have not seen: fetch just the newest. */
  cursors(hello) {
    const cursors = {};
    for (const c of hello.conversations || []) {
      const row = this.rows.get(c.id);
      if (row && c.last_seq > row.lastSeq && c.id !== this.app.activeConversationId) {
        cursors[c.id] = Math.max(row.lastSeq, c.last_seq - 1);
      }
    }
    return cursors;
  }

  onHello(hello) {
    for (const c of hello.conversations || []) {
      const row = this.rows.get(c.id);
      // "unread" is the server's main-stream count; older servers sent only seqs.
      if (row) this.setUnread(row, c.unread ?? c.last_seq - c.last_read_seq);
    }
  }

  setUnread(row, count) {
    count = Math.max(0, count);
    row.unread = count;
    row.node.querySelector(".row-unread").hidden = count === 0;
    row.node.querySelector(".unread-badge").textContent = String(count);
    row.node.querySelector(".unread-text").textContent = ` ${ngettext("unread message", "unread messages", count)}`;
    row.node.classList.toggle("has-unread", count > 0);
  }

  onMessage(message, { live }) {
    if (!message || !inMainStream(message)) return;
    const row = this.rows.get(message.conversation_id);
    if (!row) {
      if (live) this.maybeBack(message.conversation_id);
      return;
    }
    if (message.seq < row.lastSeq) return;
    const isNew = message.seq > row.lastSeq;
    row.lastSeq = message.seq;
    row.node.dataset.lastSeq = String(message.seq);
    row.node.querySelector(".row-preview").textContent = preview(message, this.app.me, row.type);
    const time = row.node.querySelector(".row-time");
    const sent = new Date(message.sent_at);
    time.setAttribute("datetime", message.sent_at);
    time.textContent = formatShort(sent);
    time.title = formatFull(sent);
    if (!isNew) return;
    if (this.node.firstElementChild !== row.node) this.node.prepend(row.node);
    const mine = message.sender && message.sender.id === this.app.me;
    const watching = message.conversation_id === this.app.activeConversationId && this.app.isActive();
    if (live && !mine && !watching) {
      this.setUnread(row, (row.unread ?? Number(row.node.querySelector(".unread-badge").textContent)) + 1);
      if (message.conversation_id !== this.app.activeConversationId && message.sender) {
        announce(interpolate(gettext("New message from %(name)s"), { name: message.sender.display_name }));
      }
    }
  }

  /** A message came for a conversation this list does not show: one the
   * person archived for themselves comes back with a newer message unless
   * they muted it. The server decides (its inbox list); asked at most every
   * 10 seconds per conversation, so a muted one's chatter costs little. */
  async maybeBack(conversationId) {
    if (this.filter === "archived") return;
    const now = Date.now();
    if (now - (this.askedBack.get(conversationId) || 0) < 10000) return;
    this.askedBack.set(conversationId, now);
    const type = this.filter === "all" ? "" : `?type=${encodeURIComponent(this.filter)}`;
    let listed;
    try {
      const response = await fetch(`/api/conversations/${type}`, {
        headers: { Accept: "application/json" }, credentials: "same-origin",
      });
      if (!response.ok) return;
      listed = (await response.json()).conversations || [];
    } catch (error) {
      return; // offline: the next message asks again
    }
    const back = listed.find((c) => c.id === conversationId);
    if (!back || this.rows.has(back.id)) return;
    this.add(back, { announcement: null });
    if (back.last_message) this.onMessage(back.last_message, { live: false });
    const row = this.rows.get(back.id);
    const title = row.node.querySelector(".row-title").textContent;
    announce(interpolate(gettext("New message in %(title)s"), { title }));
  }

  add(conversation, { announcement } = {}) {
    if (!conversation || this.rows.has(conversation.id)) return;
    const wanted = this.filter === "all" ? !conversation.archived_at
      : this.filter === "archived" ? !!conversation.archived_at
        : conversation.type === this.filter && !conversation.archived_at;
    if (!wanted) return;
    const others = (conversation.participants || []).filter((p) => p.user.id !== this.app.me);
    const title = conversation.title || (conversation.type === "support" ? gettext("Support")
      : others.map((p) => p.user.display_name).join(", ") || gettext("Just you"));
    const other = conversation.type === "direct" && others[0] ? others[0].user : null;
    const link = el("a", { href: `/c/${conversation.id}/` },
      el("span", { class: "avatar-wrap" },
        el("span", { class: `avatar avatar-${conversation.type}`, "aria-hidden": "true",
          text: other ? initials(other.display_name) : initials(conversation.title || "#") }),
        // The dot's colour, for the eye; the words below, for everyone.
        other ? el("span", { class: "presence-dot", title: gettext("Offline"), "aria-hidden": "true",
          dataset: { presenceUser: other.id, status: "offline" } }) : null),
      el("span", { class: "row-main" },
        el("span", { class: "row-top" },
          el("span", { class: "row-title", dir: "auto", text: title }),
          // Presence in words as well as the dot's colour; presence.js keeps it current.
          other ? el("span", { class: "visually-hidden" }, "(",
            el("span", { class: "presence-label", text: gettext("Offline"),
              dataset: { presenceUser: other.id, status: "offline" } }), ")") : null,
          conversation.type !== "direct"
            ? el("span", { class: "type-tag" }, el("span", { class: "visually-hidden", text: ", " }), TYPE_NAMES[conversation.type] || conversation.type)
            : null,
          el("time", { class: "row-time", datetime: conversation.last_message_at || "", dataset: { format: "short" } })),
        el("span", { class: "row-bottom" },
          el("span", { class: "visually-hidden", text: ": " }),
          el("span", { class: "row-preview", dir: "auto", text: gettext("New conversation") }),
          el("span", { class: "row-unread", hidden: true },
            el("span", { class: "visually-hidden", text: ", " }),
            el("span", { class: "unread-badge", text: "0" }),
            el("span", { class: "visually-hidden unread-text" })))));
    const node = el("li", {
      class: "conversation-row",
      dataset: { conversationId: conversation.id, lastSeq: String(conversation.last_seq), type: conversation.type },
    }, link);
    this.node.querySelector(".empty-state")?.remove();
    this.node.prepend(node);
    const row = { node, lastSeq: conversation.last_seq, type: conversation.type };
    this.rows.set(conversation.id, row);
    const me = (conversation.participants || []).find((p) => p.user.id === this.app.me);
    // The API's list gives the main-stream unread_count; a conversation.added
    // frame has only seqs (a new membership starts read up to last_seq).
    if (conversation.unread_count !== undefined) this.setUnread(row, conversation.unread_count);
    else if (me) this.setUnread(row, conversation.last_seq - me.last_read_seq);
    if (announcement !== null) announce(announcement || interpolate(gettext("You were added to %(title)s"), { title }));
  }

  remove(conversationId) {
    const row = this.rows.get(conversationId);
    if (!row) return;
    row.node.remove();
    this.rows.delete(conversationId);
  }

  /** The other person of a direct conversation changed their name
   * (user.updated): its row's title and initials follow. */
  renamed(user) {
    if (!user || typeof user.id !== "string" || typeof user.display_name !== "string") return;
    for (const row of this.rows.values()) {
      if (row.type !== "direct" || !row.node.querySelector(`.presence-dot[data-presence-user="${CSS.escape(user.id)}"]`)) continue;
      row.node.querySelector(".row-title").textContent = user.display_name;
      row.node.querySelector(".avatar").textContent = initials(user.display_name);
    }
  }

  /** A support request moved (support.updated): its row's status pill. */
  supportUpdated(support) {
    if (!support || typeof support.conversation_id !== "string") return;
    const pill = this.node.querySelector(`[data-support-status-for="${CSS.escape(support.conversation_id)}"]`);
    if (!pill) return;
    // The words after the visually hidden comma that separates them from the title.
    pill.lastChild.textContent = supportLabel("status", support.status);
    pill.dataset.status = support.status;
  }

  updated(conversation) {
    const row = this.rows.get(conversation.id);
    if (!row) return;
    const archivedView = this.filter === "archived";
    if (!!conversation.archived_at !== archivedView) {
      this.remove(conversation.id);
      return;
    }
    if (conversation.title) row.node.querySelector(".row-title").textContent = conversation.title;
  }
}
