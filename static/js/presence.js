// Other people's presence on the page's dots and labels, and our own:
// away after a few idle minutes or while the tab is hidden. A dot is never
// only its colour: it has a title and, where it stands alone, a visually
// hidden .presence-text with the same word.

import { gettext } from "./i18n.js";

const IDLE_MS = 3 * 60 * 1000;
const LABELS = { online: gettext("Online"), away: gettext("Away"), offline: gettext("Offline") };

export class Presence {
  constructor(app) {
    this.app = app;
    this.conn = app.conn;
    this.states = new Map();
    this.mine = "online";
    this.lastActivity = Date.now();
    this.conn.on("presence", (frame) => this.apply(frame));
    const active = () => this._activity();
    for (const type of ["pointerdown", "keydown", "wheel", "touchstart", "focus"]) {
      window.addEventListener(type, active, { passive: true });
    }
    let lastMove = 0;
    window.addEventListener("mousemove", () => {
      const now = Date.now();
      if (now - lastMove > 5000) {
        lastMove = now;
        active();
      }
    }, { passive: true });
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "hidden") this._set("away");
      else this._activity();
    });
    setInterval(() => {
      if (Date.now() - this.lastActivity > IDLE_MS) this._set("away");
    }, 15000);
  }

  _activity() {
    this.lastActivity = Date.now();
    if (document.visibilityState === "visible") this._set("online");
  }

  _set(status) {
    if (this.mine === status) return;
    this.mine = status;
    this.conn.send({ type: "presence.set", status });
  }

  async onHello() {
    if (this.mine !== "online") this.conn.send({ type: "presence.set", status: this.mine });
    const ids = new Set();
    for (const node of document.querySelectorAll("[data-presence-user]")) {
      if (node.dataset.presenceUser !== this.app.me) ids.add(node.dataset.presenceUser);
    }
    for (const id of this.extraIds || []) ids.add(id);
    if (!ids.size) return;
    try {
      const reply = await this.conn.request(
        { type: "presence.query", user_ids: [...ids].slice(0, 200) }, { done: ["presence.state"] });
      for (const state of reply.users || []) this.apply(state);
    } catch (error) {
      /* stays as rendered; live presence events still update it */
    }
  }

  status(userId) {
    return this.states.get(userId)?.status || null;
  }

  apply({ user_id: userId, status, last_seen: lastSeen }) {
    if (!userId || !LABELS[status]) return;
    this.states.set(userId, { status, lastSeen });
    const label = LABELS[status];
    for (const node of document.querySelectorAll(`[data-presence-user="${CSS.escape(userId)}"]`)) {
      node.dataset.status = status;
      node.title = label;
      if (node.classList.contains("presence-label")) node.textContent = label;
      const text = node.querySelector(".presence-text");
      if (text) text.textContent = label;
    }
    document.dispatchEvent(new CustomEvent("parley:presence", { detail: { userId, status } }));
  }
}
