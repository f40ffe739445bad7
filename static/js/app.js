// Entry point on every signed-in page: one socket for the tab, the outbox
// and its sender, presence, and the page's own view (inbox list,
// conversation).

import { Connection } from "./socket.js";
import { Outbox } from "./outbox.js";
import { Presence } from "./presence.js";
import { InboxList } from "./inbox.js";
import { Bell } from "./bell.js";
import { localizeTimes } from "./render.js";
import { alertNow } from "./announce.js";
import { gettext } from "./i18n.js";

const SEND_ERRORS_TO_RETRY = new Set(["internal", "timeout", "connection_lost", "not_connected"]);
const MAX_RESUME_CURSORS = 500; // docs/protocol.md, resume

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends outbox entries one at a time, oldest first, whenever connected. */
class Sender {
  constructor(conn, outbox, app = null) {
    this.conn = conn;
    this.outbox = outbox;
    this.app = app;
    this.running = false;
    this.again = false;
    this.retryTimer = null;
  }

  async flush() {
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    try {
      while (this.conn.ready) {
        const item = this.outbox.all().find((entry) => entry.state === "pending");
        if (!item) break;
        try {
          const frame = { type: "message.send", conversation_id: item.conversation_id, client_id: item.client_id };
          // End-to-end encrypted: the ciphertext instead of the text (the
          // same ciphertext on every resend; docs/e2e.md, Messages).
          if (item.e2e) frame.e2e = item.e2e;
          else frame.content = item.content;
          if (item.attachments && item.attachments.length) frame.attachments = item.attachments;
          // A reply (quoting a message) and a thread reply (docs/protocol.md,
          // "Replies and threads"): every resend says the same.
          if (item.reply_to_id) frame.reply_to_id = item.reply_to_id;
          if (item.parent_id) {
            frame.parent_id = item.parent_id;
            frame.also_to_conversation = !!item.also_to_conversation;
          }
          const ack = await this.conn.request(
            frame,
            { key: item.client_id, done: ["ack"] },
          );
          this.outbox.remove(item.client_id);
          // The stored message, as every other member gets it.
          this.conn.emit("message.new", { type: "message.new", message: ack.message, via: "ack" });
        } catch (error) {
          if (error.code === "e2e_key_stale" && item.e2e && this.app?.e2eChat) {
            // The key changed (a member came or went): encrypt again under
            // the current one, same client_id, and send that.
            if (await this.app.e2eChat.reencrypt(item, error.frame)) continue;
          }
          if (error.code === "rate_limited") {
            await sleep(Math.max(0.2, Number(error.frame.retry_after) || 1) * 1000);
            continue;
          }
          if (error.code === "unavailable") {
            // The server could not reach its database: nothing was stored.
            // Send again after the pause it asks for (docs/protocol.md).
            this._retryLater(Number(error.frame.retry_after) || 3);
            break;
          }
          if (SEND_ERRORS_TO_RETRY.has(error.code)) {
            this._retryLater();
            break;
          }
          // Refused for good (forbidden, archived, too long, ...): the
          // person decides whether to retry. Refusals that keep the draft
          // (muted, blocked, content_blocked) go back to the composer
          // (ConversationView._keepRefusedDrafts).
          this.outbox.update(item.client_id, { state: "failed", error: error.message, code: error.code });
        }
      }
    } finally {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.flush();
      }
    }
  }

  _retryLater(seconds = 3) {
    clearTimeout(this.retryTimer);
    // Jitter: the tabs a fault held back do not all come back at once.
    this.retryTimer = setTimeout(() => this.flush(), seconds * 1000 + Math.random() * 2000);
  }
}

/**
 * The connection's state in the top bar, and said at once (assertively)
 * when it changes: going offline, reconnecting, live delivery degraded (the
 * server cannot reach Redis: docs/protocol.md, ``degraded``) and back. The
 * first connection of the page is shown, not said.
 */
function connectionIndicator(conn) {
  const node = document.getElementById("connection");
  if (!node) return;
  // Short in the top bar (it shares a line with the whole bar), whole
  // sentences when said.
  const labels = {
    connecting: gettext("Connecting…"),
    online: gettext("Connected"),
    reconnecting: gettext("Reconnecting…"),
    offline: gettext("Offline"),
    "signed-out": gettext("Signed out"),
    degraded: gettext("Delayed"),
  };
  const sentences = {
    online: gettext("Connected again."),
    reconnecting: gettext("Connection lost. Reconnecting…"),
    offline: gettext("You are offline. Your messages will be sent when you are back online."),
    "signed-out": gettext("You were signed out."),
    degraded: gettext("Connected, but new messages may arrive late."),
  };
  let shown = null;
  let everOnline = false;
  let degraded = false;
  const show = (state) => {
    if (state === shown) return;
    // Back online after a break, not the page's first connection.
    const worthSaying = state === "online" ? everOnline : state !== "connecting";
    shown = state;
    node.dataset.state = state;
    node.textContent = labels[state] || state;
    // The whole sentence on hover, while something is wrong.
    node.title = state === "online" ? "" : sentences[state] || "";
    document.body.dataset.connection = state;
    if (worthSaying) alertNow(sentences[state]);
    // Degraded is connected too: a first connection that starts degraded
    // still has its recovery said.
    if (state === "online" || state === "degraded") everOnline = true;
  };
  conn.on("state", (state) => show(state === "online" && degraded ? "degraded" : state));
  conn.on("degraded", (frame) => {
    degraded = !frame.live;
    if (conn.state === "online") show(degraded ? "degraded" : "online");
  });
}

/** Delivered receipts for conversations not open in this tab. */
function deliveredReceipts(app) {
  const sent = new Map();
  const acknowledge = (conversationId, seq) => {
    if (conversationId === app.activeConversationId) return;
    if ((sent.get(conversationId) || 0) >= seq) return;
    if (app.conn.send({ type: "delivered", conversation_id: conversationId, seq })) {
      sent.set(conversationId, seq);
    }
  };
  app.conn.on("message.new", (frame) => {
    const message = frame.message;
    if (message && message.sender && message.sender.id !== app.me && frame.via !== "ack") {
      acknowledge(message.conversation_id, message.seq);
    }
  });
  app.conn.on("history", (frame) => {
    const others = (frame.messages || []).filter((m) => m.sender && m.sender.id !== app.me);
    if (others.length) acknowledge(frame.conversation_id, Math.max(...others.map((m) => m.seq)));
  });
}

async function resume(app, hello) {
  const cursors = {};
  for (const source of app.cursorSources) {
    for (const [id, seq] of Object.entries(source(hello))) {
      cursors[id] = id in cursors ? Math.min(cursors[id], seq) : seq;
    }
  }
  // A resume frame names at most MAX_RESUME_CURSORS conversations.
  const ids = Object.keys(cursors);
  for (let start = 0; start < ids.length; start += MAX_RESUME_CURSORS) {
    const part = Object.fromEntries(
      ids.slice(start, start + MAX_RESUME_CURSORS).map((id) => [id, cursors[id]]),
    );
    try {
      await app.conn.request(
        { type: "resume", cursors: part },
        { done: ["resume.done"], dispatch: true, errorsEnd: false, timeout: 30000 },
      );
    } catch (error) {
      return; /* the connection dropped; the next hello resumes again */
    }
  }
}

async function main() {
  const me = document.body.dataset.userId;
  if (!me) return;
  localizeTimes();
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  const conn = new Connection(`${scheme}//${window.location.host}/ws/`);
  const outbox = new Outbox(me);
  const app = {
    conn, outbox, me,
    myName: document.body.dataset.userName || "",
    sender: null,
    cursorSources: [],
    activeConversationId: null,
    isActive: () => document.visibilityState === "visible" && document.hasFocus(),
  };
  app.sender = new Sender(conn, outbox, app);
  window.parley = app; // for the console and the browser tests
  connectionIndicator(conn);
  app.presence = new Presence(app);
  deliveredReceipts(app);
  app.bell = new Bell(app);
  const listNode = document.getElementById("conversation-list");
  if (listNode) app.inbox = new InboxList(app, listNode);
  if (document.body.dataset.page === "conversation") {
    const { ConversationView } = await import("./conversation.js");
    app.view = new ConversationView(app);
  }
  conn.on("hello", async (hello) => {
    app.presence.onHello();
    await resume(app, hello);
    app.sender.flush();
    document.body.dataset.synced = "true";
  });
  conn.on("down", () => {
    document.body.dataset.synced = "false";
  });
  outbox.addEventListener("change", () => app.sender.flush());
  conn.start();
}

// A skip link to a control (the message box) puts the focus in it: a
// fragment link alone only scrolls there.
document.addEventListener("click", (event) => {
  const link = event.target.closest("a.skip-link[href^='#']");
  const target = link && document.getElementById(link.getAttribute("href").slice(1));
  if (!target || !target.matches("input, textarea, select, button")) return;
  event.preventDefault();
  target.focus();
});

main();
