// A conversation opened at one message: a search hit links to
// /c/<id>/?around=<seq>#m-<seq>. The page arrives with the latest messages;
// this loads the message with its neighbours before and after it (the REST
// history endpoint, so it needs no socket), shows that stretch instead,
// scrolls the message into view and marks it. Scrolling up pages older
// history as usual (ConversationView.loadOlder); while the stretch does not
// reach the newest message, scrolling down pages newer history here, one
// page at a time, and live messages still arrive (shown at the end until
// the pages reach them).

import { announce, el } from "./render.js";
import { gettext } from "./i18n.js";

const NEIGHBOURS = 25; // each side of the message
const PAGE_SIZE = 50;
const NEAR_END_PX = 400;

/** The seq in `?around=`, or null. */
export function aroundSeq(location = window.location) {
  const value = new URLSearchParams(location.search).get("around");
  return value && /^[1-9]\d{0,17}$/.test(value) ? Number(value) : null;
}

async function historyPage(conversationId, cursor, limit) {
  const query = new URLSearchParams({ ...cursor, limit: String(limit) });
  const response = await fetch(
    `/api/conversations/${encodeURIComponent(conversationId)}/messages/?${query}`,
    { credentials: "same-origin", headers: { Accept: "application/json" } },
  );
  if (!response.ok) throw new Error(`history answered ${response.status}`);
  return response.json();
}

export class JumpToContext {
  constructor(view, seq) {
    this.view = view;
    this.seq = seq;
    // True while messages newer than the held stretch exist that are not
    // shown: the end of the list is then not the end of the conversation.
    this.detached = false;
    this.loadingNewer = false;
    this.note = null;
  }

  /** Show the message in context; the latest page stays if it cannot. */
  async open() {
    const view = this.view;
    if (!view.seqs.has(this.seq)) {
      let older;
      let newer;
      try {
        [older, newer] = await Promise.all([
          historyPage(view.id, { before_seq: String(this.seq + 1) }, NEIGHBOURS + 1),
          historyPage(view.id, { after_seq: String(this.seq) }, NEIGHBOURS),
        ]);
      } catch (error) {
        older = null;
      }
      if (!older || !older.messages.some((m) => m.seq === this.seq)) {
        view.scrollToBottom();
        announce(gettext("That message could not be shown; here are the latest messages."));
        return;
      }
      this.detached = newer.has_more;
      view.replaceHistory([...older.messages, ...newer.messages], { hasMoreBefore: older.has_more });
      if (this.detached) this._showNote();
    }
    this._mark();
    view.scroller.addEventListener("scroll", () => {
      if (this.detached && this._nearEnd()) this.loadNewer();
    }, { passive: true });
  }

  /** The next page after the held stretch; the last one ends the detour. */
  async loadNewer() {
    const view = this.view;
    if (this.loadingNewer || !this.detached) return;
    this.loadingNewer = true;
    try {
      const page = await historyPage(view.id, { after_seq: String(view.cursor) }, PAGE_SIZE);
      for (const message of page.messages) view.upsert(message);
      view.decorate();
      if (!page.has_more) this._reattach();
    } catch (error) {
      /* offline for a moment: the next scroll tries again */
    } finally {
      this.loadingNewer = false;
    }
    // A short page may leave the end in view: keep going while it is.
    if (this.detached && this._nearEnd()) this.loadNewer();
  }

  _mark() {
    const id = this.view.seqs.get(this.seq);
    const message = id && this.view.messages.get(id);
    // A thread reply shown only in its thread: the thread opens at it.
    if (message && message.parent_id && !message.also_to_conversation) {
      this.view.threads.open(message.parent_id, { seq: this.seq });
      return;
    }
    const node = id && document.getElementById(`m-${id}`);
    if (!node) return;
    for (const old of this.view.list.querySelectorAll("li.message.jump-target")) {
      old.classList.remove("jump-target");
    }
    node.classList.add("jump-target");
    node.tabIndex = -1;
    node.scrollIntoView({ block: "center" });
    node.focus({ preventScroll: true });
  }

  _nearEnd() {
    const s = this.view.scroller;
    return s.scrollHeight - s.scrollTop - s.clientHeight < NEAR_END_PX;
  }

  _showNote() {
    const latest = el("a", { href: window.location.pathname, text: gettext("Go to the latest messages") });
    this.note = el("p", { class: "jump-newer", id: "jump-newer" },
      gettext("Newer messages load as you scroll down"), " · ", latest);
    this.view.list.after(this.note);
  }

  _reattach() {
    this.detached = false;
    this.note?.remove();
    this.note = null;
    this.view.fillGap(); // anything sent while the last page travelled
  }
}

/** The jump asked for by the page's URL, or null. */
export function jumpFromLocation(view) {
  const seq = aroundSeq();
  return seq ? new JumpToContext(view, seq) : null;
}
