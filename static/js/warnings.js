// The moderators' warnings to me in this conversation: shown as notices
// above the composer, live on moderation.warning, and again after a reload
// (GET /api/conversations/{id}/warnings/). Only the warned person ever
// receives them. A notice I dismiss stays dismissed in this browser.

import { dateFormat, gettext, interpolate } from "./i18n.js";
import { el } from "./render.js";
import { profileZone } from "./zones.js";

export class ModerationWarnings {
  constructor(view) {
    this.view = view;
    this.conn = view.conn;
    this.url = `/api/conversations/${encodeURIComponent(view.id)}/warnings/`;
    this.key = `parley.warnings.dismissed.${view.me}`;
    this.shown = new Set();
    // Not a live region itself: each notice is (role=alert or status), and a
    // live container would have it said twice.
    this.node = el("div", { class: "moderation-notices", id: "moderation-notices" });
    const typing = document.getElementById("typing-line");
    typing.parentNode.insertBefore(this.node, typing);
    this.conn.on("moderation.warning", (frame) => {
      const warning = frame.warning;
      if (!warning || warning.conversation_id !== view.id) return;
      // Said once, by the notice's own role=alert.
      this.show(warning);
    });
    // A mute given or lifted while the page is open (docs/protocol.md,
    // "Moderation"): said at once, not at the next refused send.
    this.conn.on("moderation.muted", (frame) => {
      if (this._concerns(frame.mute)) this.showMute(frame.mute, { live: true });
    });
    this.conn.on("moderation.unmuted", (frame) => {
      if (!this._concerns(frame.mute)) return;
      this._endMute(this._muteNotice(frame.mute.id));
    });
    // Warnings given while this page was closed or its socket down.
    this.conn.on("hello", () => this.refresh());
    this.refresh();
    if (view.muted) this.showMute(view.muted);
  }

  _muteNotice(id) {
    return this.node.querySelector(`[data-mute-id="${CSS.escape(id)}"]`);
  }

  _concerns(mute) {
    return Boolean(mute) && (mute.everywhere || mute.conversation_id === this.view.id);
  }

  /** A moderator's mute in force (when the page was made, or told live),
   * until it ends or is lifted. Told live, it is an alert: a status region
   * that arrives already filled is not read out. */
  showMute(muted, { live = false } = {}) {
    if (this._muteNotice(muted.id)) return;
    const until = new Date(muted.until);
    const left = until.getTime() - Date.now();
    if (!(left > 0)) return;
    // On the profile's clock, its zone named, as the server's muted refusal
    // says it ("until 15:30 Europe/Paris"); the browser's if it does not
    // know that zone.
    let time;
    try {
      const zone = profileZone();
      time = `${dateFormat({ dateStyle: "medium", timeStyle: "short", timeZone: zone }).format(until)} ${zone}`;
    } catch {
      time = dateFormat({ dateStyle: "medium", timeStyle: "short" }).format(until);
    }
    const sentence = muted.everywhere
      ? gettext("A moderator muted you everywhere until %(time)s. You can read, but not send.")
      : gettext("A moderator muted you in this conversation until %(time)s. You can read, but not send.");
    const notice = el("div", { class: "moderation-warning moderation-mute", role: live ? "alert" : "status", dataset: { muteId: muted.id } },
      el("strong", { text: gettext("Muted:") }), " ", interpolate(sentence, { time }));
    this.node.append(notice);
    // It ends by the clock: nothing will tell the page, so it removes itself.
    notice.timer = setTimeout(() => this._endMute(notice), Math.min(left, 2 ** 31 - 1));
  }

  /** A mute's notice goes (lifted, or over); the refusal's line under the
   * composer goes with the last one. */
  _endMute(notice) {
    if (!notice) return;
    clearTimeout(notice.timer);
    notice.remove();
    if (!this.node.querySelector(".moderation-mute")) this.view.clearRefusal("muted");
  }

  _dismissed() {
    try {
      const ids = JSON.parse(window.localStorage.getItem(this.key) || "[]");
      return new Set(Array.isArray(ids) ? ids : []);
    } catch {
      return new Set();
    }
  }

  _dismiss(id, notice) {
    const ids = this._dismissed();
    ids.add(id);
    try {
      window.localStorage.setItem(this.key, JSON.stringify([...ids].slice(-200)));
    } catch {
      /* storage full or disabled: dismissed for this page only */
    }
    notice.remove();
  }

  async refresh() {
    try {
      const response = await fetch(this.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const body = await response.json();
      for (const warning of body.warnings || []) this.show(warning);
      // For tests and assistive tools: the stored warnings are on screen.
      this.node.dataset.loaded = "true";
    } catch {
      /* offline: the next hello asks again */
    }
  }

  /** Show one warning unless it is shown or dismissed. */
  show(warning) {
    if (this.shown.has(warning.id) || this._dismissed().has(warning.id)) return;
    this.shown.add(warning.id);
    const notice = el("div", { class: "moderation-warning", role: "alert", dataset: { warningId: warning.id } },
      el("strong", { text: gettext("Warning from the moderators:") }),
      " ",
      el("span", { class: "moderation-warning-text", text: warning.text }),
      " ",
      el("button", { type: "button", class: "link-btn", "aria-label": gettext("Dismiss this warning"), text: gettext("Dismiss") }));
    notice.querySelector("button").addEventListener("click", () => this._dismiss(warning.id, notice));
    this.node.append(notice);
  }
}
