// One WebSocket per tab, speaking docs/protocol.md.
//
// Reconnects with exponential backoff and jitter, sends a ping every
// heartbeat_seconds (and treats a missing pong as a dead connection), and
// stays down while the browser says it is offline: an open socket is not
// reliably closed by the network going away, so the client closes it itself.

import { gettext } from "./i18n.js";

const MAX_BACKOFF_MS = 30000;
const BASE_BACKOFF_MS = 500;
const PONG_TIMEOUT_MS = 10000;
const REQUEST_TIMEOUT_MS = 15000;
const REPLY_TYPES = ["ok", "ack", "history", "presence.state", "pong", "resume.done"];

export class RequestError extends Error {
  constructor(frame) {
    // The server's message is in the person's language already; these
    // messages of the client's own may be shown as the reason too.
    super(frame.message || gettext("the request failed"));
    this.code = frame.code;
    this.frame = frame;
  }
}

export class Connection extends EventTarget {
  constructor(url) {
    super();
    this.url = url;
    this.ws = null;
    this.ready = false; // true between hello and close
    this.attempt = 0;
    this.hello = null;
    this.retryTimer = null;
    this.heartbeatTimer = null;
    this.pongTimer = null;
    this.refCounter = 0;
    this.requests = new Map(); // ref -> {resolve, reject, done, timer}
    window.addEventListener("offline", () => this._offline());
    window.addEventListener("online", () => this.reconnectNow());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && !this.ws) this.reconnectNow();
    });
    window.addEventListener("pagehide", () => this._closeSocket(1000, "page hidden"));
    // A form the page lets go (no script held it back) navigates away: Log
    // out among them, whose session ends, and 4401 with it, before its
    // answer comes. Going to the login page then would cancel the logout's
    // navigation and leave the next person signing in on this browser sent
    // to this page. Bubbling at the window, a script's preventDefault is
    // known by then.
    this.leaving = false;
    window.addEventListener("submit", (event) => {
      if (!event.defaultPrevented) this.leaving = true;
    });
  }

  on(type, handler) {
    this.addEventListener(type, (event) => handler(event.detail));
  }

  emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  start() {
    if (!navigator.onLine) {
      this._setState("offline");
      return;
    }
    this._open();
  }

  reconnectNow() {
    this.attempt = 0;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    if (!this.ws && navigator.onLine) this._open();
  }

  _open() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this._setState(this.attempt > 0 ? "reconnecting" : "connecting");
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (error) {
      this._scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.addEventListener("message", (event) => this._onMessage(ws, event));
    ws.addEventListener("close", (event) => this._onClose(ws, event));
  }

  _closeSocket(code, reason) {
    const ws = this.ws;
    if (!ws) return;
    this._teardown();
    try {
      ws.close(code, reason);
    } catch (error) {
      /* already closing */
    }
  }

  _teardown() {
    this.ws = null;
    this.ready = false;
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.pongTimer);
    for (const [ref, pending] of this.requests) {
      clearTimeout(pending.timer);
      const error = new Error(gettext("the connection was lost"));
      error.code = "connection_lost";
      pending.reject(error);
      this.requests.delete(ref);
    }
  }

  _offline() {
    this._closeSocket(1000, "offline");
    clearTimeout(this.retryTimer);
    this._setState("offline");
    this.emit("down", { reason: "offline" });
  }

  _onClose(ws, event) {
    if (ws !== this.ws) return;
    this._teardown();
    this.emit("down", { code: event.code });
    if (event.code === 4401) {
      this._setState("signed-out");
      if (!this.leaving) window.location.assign("/login/?next=" + encodeURIComponent(window.location.pathname));
      return;
    }
    if (!navigator.onLine) {
      this._setState("offline");
      return;
    }
    // Any other close, 4008 (too far behind: frames were dropped) among them:
    // reconnect; the next hello resumes from the cursors (app.js).
    this._scheduleReconnect(event.code === 4429 ? 10000 : 0);
  }

  _scheduleReconnect(minimum = 0) {
    const ceiling = Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** this.attempt);
    // "Equal jitter": half fixed, half random, so a server restart does not
    // bring every tab back in the same instant.
    const delay = Math.max(minimum, ceiling / 2 + Math.random() * (ceiling / 2));
    this.attempt += 1;
    this._setState("reconnecting");
    this.retryTimer = setTimeout(() => this._open(), delay);
  }

  _onMessage(ws, event) {
    if (ws !== this.ws) return;
    let frame;
    try {
      frame = JSON.parse(event.data);
    } catch (error) {
      return;
    }
    if (!frame || typeof frame.type !== "string") return;
    if (frame.type === "hello") {
      this.attempt = 0;
      this.ready = true;
      this.hello = frame;
      this._startHeartbeat(frame.heartbeat_seconds || 25);
      this._setState("online");
      this.emit("hello", frame);
      return;
    }
    if (frame.type === "pong") clearTimeout(this.pongTimer);
    const key = frame.ref ?? (frame.type === "ack" || frame.type === "error" ? frame.client_id : null);
    const pending = key != null ? this.requests.get(key) : null;
    if (pending) {
      if (frame.type === "error" && pending.errorsEnd) {
        this._finish(key, pending);
        pending.reject(new RequestError(frame));
        return;
      }
      if (pending.done.includes(frame.type)) {
        this._finish(key, pending);
        pending.resolve(frame);
        if (!pending.dispatch) return;
      } else if (!pending.dispatch) {
        return;
      }
    }
    this.emit(frame.type, frame);
    this.emit("frame", frame);
  }

  _finish(key, pending) {
    clearTimeout(pending.timer);
    this.requests.delete(key);
  }

  _startHeartbeat(seconds) {
    clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = setInterval(() => {
      if (!this.send({ type: "ping", ref: this.nextRef("p") })) return;
      clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => {
        // No pong: the connection is dead even if the socket looks open.
        const ws = this.ws;
        this._teardown();
        this.emit("down", { reason: "heartbeat" });
        try {
          ws && ws.close(4000, "no pong");
        } catch (error) {
          /* ignore */
        }
        this._scheduleReconnect();
      }, PONG_TIMEOUT_MS);
    }, seconds * 1000);
  }

  _setState(state) {
    this.state = state;
    this.emit("state", state);
  }

  nextRef(prefix = "r") {
    this.refCounter += 1;
    return `${prefix}${this.refCounter}`;
  }

  /** Send a frame now; false when not connected. */
  send(frame) {
    if (!this.ready || !this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /**
   * Send a command and wait for its reply (a frame of one of `done` types
   * carrying the same ref). Error frames with the ref reject, unless
   * `errorsEnd` is false (resume: one error per conversation, then done).
   * With `dispatch`, frames with the ref are also emitted as events.
   */
  request(frame, { done = null, dispatch = false, errorsEnd = true, key = null,
    timeout = REQUEST_TIMEOUT_MS } = {}) {
    const ref = key || frame.ref || this.nextRef();
    frame = { ...frame, ref };
    return new Promise((resolve, reject) => {
      if (!this.send(frame)) {
        const error = new Error(gettext("not connected"));
        error.code = "not_connected";
        reject(error);
        return;
      }
      const timer = setTimeout(() => {
        this.requests.delete(ref);
        const error = new Error(gettext("no answer in time"));
        error.code = "timeout";
        reject(error);
      }, timeout);
      this.requests.set(ref, {
        resolve, reject, timer, dispatch, errorsEnd, done: done || REPLY_TYPES,
      });
    });
  }
}
