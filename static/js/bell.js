// The notification centre in the top bar: the unread count (as text, and in
// the tab title), the list with links to each message in context, mark one
// or all read. Kept live by the socket's notification.new / notification.read
// frames (docs/protocol.md) and refreshed from the REST API on every hello,
// since frames sent while the socket was down are lost.
// When the tab is hidden and the person allowed it, a new notification also
// shows as a browser Notification; permission is asked only from a click.

import { announce } from "./announce.js";
import { gettext, interpolate, ngettext } from "./i18n.js";
import { supportWord } from "./notices.js";
import { el, formatFull, formatShort } from "./render.js";

const PAGE = 20;

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

async function api(path, { method = "GET" } = {}) {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json", ...(method === "GET" ? {} : { "X-CSRFToken": csrfToken() }) },
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status}`);
  return response.json();
}

/** A notification in one sentence. Each case is a whole sentence to
 * translate: word order differs between languages. */
function describe(n) {
  const who = n.actor ? n.actor.display_name : gettext("Someone");
  const where = n.data && n.data.conversation_title;
  const status = n.data && n.data.status && supportWord("status", n.data.status);
  const say = (text) => interpolate(text, { who, where, status });
  // A scheduled message that could not be sent (its reason is the excerpt).
  if (n.data && n.data.scheduled_message_id) return gettext("Your scheduled message was not sent");
  switch (n.kind) {
    case "mention": return say(where ? gettext("%(who)s mentioned you in %(where)s") : gettext("%(who)s mentioned you"));
    case "direct": return say(gettext("%(who)s sent you a message"));
    case "group": return say(where ? gettext("%(who)s wrote in %(where)s") : gettext("%(who)s wrote"));
    case "added": return say(where ? gettext("%(who)s added you to %(where)s") : gettext("%(who)s added you to a conversation"));
    case "support": return say(status ? gettext("Support request updated: %(status)s") : gettext("Support request updated"));
    case "reminder":
      if (!where) return gettext("Reminder about a message");
      // A direct conversation is named after the other person.
      return say(n.data.conversation_type === "direct"
        ? gettext("Reminder about a message in your conversation with %(where)s")
        : gettext("Reminder about a message in %(where)s"));
    default: return where ? say(gettext("%(who)s in %(where)s")) : who;
  }
}

/** What a notification quotes: its message's excerpt, or a reminder's
 * own note when its message is no longer there to quote. */
function excerptOf(n) {
  if (!n.data) return "";
  return n.data.excerpt || (n.kind === "reminder" ? n.data.note : "") || "";
}

export class Bell {
  constructor(app) {
    this.app = app;
    this.root = document.getElementById("bell");
    if (!this.root) return;
    this.button = document.getElementById("bell-button");
    this.panel = document.getElementById("bell-panel");
    this.countNode = document.getElementById("bell-count");
    this.list = document.getElementById("bell-list");
    this.empty = document.getElementById("bell-empty");
    this.alerts = document.getElementById("bell-alerts");
    this.items = new Map(); // id -> notification, newest first by insertion
    this.count = 0;
    this.refreshing = false;
    this.framesDuringRefresh = 0;
    this._wire();
    this._showAlertsOffer();
    app.conn.on("hello", () => this.refresh());
    app.conn.on("notification.new", (frame) => this._onNew(frame));
    app.conn.on("notification.read", (frame) => this._onRead(frame));
  }

  async refresh() {
    // A frame that arrives while the page is being fetched may be newer
    // than the page (or older: the two race). Fetch again until a page
    // comes back with no frame in between, so a stale page never
    // overwrites a live count; after a few tries the page is taken as is.
    if (this.refreshing) {
      this.framesDuringRefresh += 1;
      return;
    }
    this.refreshing = true;
    try {
      for (let attempt = 0; attempt < 3; attempt += 1) {
        this.framesDuringRefresh = 0;
        const page = await api(`/api/notifications/?limit=${PAGE}`);
        if (this.framesDuringRefresh && attempt < 2) continue;
        this.items = new Map(page.notifications.map((n) => [n.id, n]));
        this._setCount(page.unread_count);
        this._render();
        break;
      }
    } catch (error) {
      /* the next hello tries again */
    } finally {
      this.refreshing = false;
    }
  }

  _wire() {
    this.button.addEventListener("click", () => this.toggle());
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !this.panel.hidden) {
        this.toggle(false);
        this.button.focus();
      }
    });
    document.addEventListener("click", (event) => {
      if (!this.panel.hidden && !this.root.contains(event.target)) this.toggle(false);
    });
    // Tabbing out of the panel closes it, so it never covers what has the focus.
    this.root.addEventListener("focusout", (event) => {
      if (!this.panel.hidden && event.relatedTarget && !this.root.contains(event.relatedTarget)) this.toggle(false);
    });
    document.getElementById("bell-read-all").addEventListener("click", async () => {
      try {
        const reply = await api("/api/notifications/read-all/", { method: "POST" });
        this._onRead({ all: true, unread_count: reply.unread_count });
      } catch (error) {
        /* the frame or the next refresh corrects it */
      }
    });
    document.getElementById("bell-enable").addEventListener("click", async () => {
      await Notification.requestPermission();
      this._showAlertsOffer();
    });
    this.list.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-read]");
      const link = event.target.closest("a[data-id]");
      if (button) this.markRead(button.dataset.read);
      else if (link) this.markRead(link.dataset.id, { keepalive: true });
    });
  }

  toggle(open = this.panel.hidden) {
    this.panel.hidden = !open;
    this.button.setAttribute("aria-expanded", String(open));
  }

  async markRead(id, { keepalive = false } = {}) {
    const item = this.items.get(id);
    if (!item || item.read_at) return;
    if (keepalive) {
      // The link navigates away: the request must outlive the page.
      fetch(`/api/notifications/${id}/read/`, {
        method: "POST", credentials: "same-origin", keepalive: true,
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
      });
      return;
    }
    try {
      await api(`/api/notifications/${id}/read/`, { method: "POST" });
    } catch (error) {
      /* the next refresh shows the truth */
    }
  }

  _onNew(frame) {
    this.framesDuringRefresh += 1;
    const n = frame.notification;
    if (!n || this.items.has(n.id)) {
      if (frame.unread_count !== undefined) this._setCount(frame.unread_count);
      return;
    }
    this.items = new Map([[n.id, n], ...this.items]);
    this._setCount(frame.unread_count);
    this._render();
    // Read already (its message was read live before it was written): listed, not said.
    if (n.read_at) return;
    // Only the newcomer is said: the list is rebuilt whole, and a live list
    // would be read again from the top each time. Not when it is about the
    // conversation open here: its message is said there already.
    if (n.conversation_id !== this.app.activeConversationId) announce(describe(n));
    this._browserAlert(n);
  }

  _onRead(frame) {
    this.framesDuringRefresh += 1;
    const now = new Date().toISOString();
    const ids = frame.all ? [...this.items.keys()] : frame.ids || [];
    if (frame.removed) {
      // Their message was deleted: nothing of it stays on screen.
      for (const id of ids) this.items.delete(id);
    }
    for (const id of ids) {
      const item = this.items.get(id);
      if (item && !item.read_at) item.read_at = now;
    }
    this._setCount(frame.unread_count);
    this._render();
  }

  _setCount(count) {
    this.count = Math.max(0, Number(count) || 0);
    this.countNode.dataset.count = String(this.count);
    this.countNode.textContent = interpolate(ngettext("%(count)s unread", "%(count)s unread", this.count), { count: this.count });
    this.root.dataset.unread = String(this.count);
    // The title as it is now: a page may have renamed someone in it.
    const base = document.title.replace(/^\(\d+\)\s*/, "");
    document.title = this.count ? `(${this.count}) ${base}` : base;
  }

  _render() {
    // The list is rebuilt: a keyboard user inside it keeps their place (the
    // same notification, its "Mark read" button now gone, so its link).
    const focusedItem = this.list.contains(document.activeElement) ? document.activeElement.closest("li") : null;
    const nodes = [...this.items.values()].slice(0, PAGE).map((n) => this._item(n));
    this.list.replaceChildren(...nodes);
    this.empty.hidden = nodes.length > 0;
    if (focusedItem) {
      const same = nodes.find((node) => node.dataset.id === focusedItem.dataset.id);
      const target = same?.querySelector("a, button") || document.getElementById("bell-read-all");
      target.focus();
    }
  }

  _item(n) {
    const created = new Date(n.created_at);
    const unread = !n.read_at;
    const body = [
      el("span", { class: "bell-title", text: describe(n) }),
      excerptOf(n) ? el("span", { class: "bell-excerpt", dir: "auto", text: excerptOf(n) }) : null,
      el("time", { datetime: n.created_at, title: formatFull(created), text: formatShort(created) }),
    ];
    const main = n.url
      ? el("a", { href: n.url, class: "bell-link", dataset: { id: n.id } }, ...body)
      : el("div", { class: "bell-link" }, ...body);
    const li = el("li", { class: `bell-item${unread ? " unread" : ""}`, dataset: { id: n.id, kind: n.kind } }, main);
    if (unread) {
      li.prepend(el("span", { class: "visually-hidden", text: gettext("Unread:") }));
      li.append(el("button", {
        type: "button", class: "link-btn", dataset: { read: n.id }, text: gettext("Mark read"),
        // Which one, for a screen reader going through the buttons alone.
        "aria-label": interpolate(gettext("Mark read: %(notification)s"), { notification: describe(n) }),
      }));
    }
    return li;
  }

  _showAlertsOffer() {
    this.alerts.hidden = !("Notification" in window) || Notification.permission !== "default";
  }

  _browserAlert(n) {
    if (document.visibilityState !== "hidden") return;
    if (!("Notification" in window) || Notification.permission !== "granted") return;
    try {
      const alert = new Notification(describe(n), {
        body: excerptOf(n), tag: n.id, icon: "/static/img/parley.svg",
      });
      alert.addEventListener("click", () => {
        window.focus();
        if (n.url) window.location.assign(n.url);
        alert.close();
      });
    } catch (error) {
      /* some browsers only allow notifications from a service worker */
    }
  }
}
