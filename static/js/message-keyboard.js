// The conversation's message list by keyboard, as a roving tabindex: one
// message is in the Tab order (the newest, until another is chosen), so Tab
// from the header lands on it rather than on every button of every message;
// the controls of that message follow it in the Tab order, those of the
// others are reached by moving to their message first.
//
// On a focused message: ArrowUp/ArrowDown move to the previous/next one,
// Home/End to the first/last; E edits and Delete deletes my own; T opens its
// thread; R adds a reaction; Escape marks the conversation read and goes
// back to the composer. docs/accessibility.md, "Shortcuts", lists them.

const FOCUSABLE = "a[href], button, input, select, textarea, [tabindex]";

export class MessageKeyboard {
  constructor(view) {
    this.view = view;
    this.list = view.list;
    // The chosen message's id; null: the newest.
    this.currentId = null;
    this.syncQueued = false;
    // Messages are drawn, redrawn and decorated from many places: whatever
    // changes the list, the Tab order follows.
    new MutationObserver(() => this._queueSync()).observe(this.list, { childList: true, subtree: true });
    this.list.addEventListener("focusin", (event) => {
      const node = event.target.closest("li.message");
      if (node && node.id !== this.currentId) this.makeCurrent(node);
    });
    // Leaving the list: the next Tab into it lands on the newest again.
    this.list.addEventListener("focusout", (event) => {
      if (!this.list.contains(event.relatedTarget)) {
        this.currentId = null;
        this._queueSync();
      }
    });
    this.list.addEventListener("keydown", (event) => this._onKeydown(event));
    this.sync();
  }

  messages() {
    return [...this.list.querySelectorAll(":scope > li.message")];
  }

  current() {
    const chosen = this.currentId && document.getElementById(this.currentId);
    return chosen && this.list.contains(chosen) ? chosen : this.messages().at(-1) || null;
  }

  makeCurrent(node) {
    this.currentId = node?.id || null;
    this.sync();
  }

  /** Focus ``node`` (a message), making it the one in the Tab order. */
  focus(node) {
    if (!node || !this.list.contains(node)) return;
    this.makeCurrent(node);
    node.focus({ preventScroll: true });
    node.scrollIntoView({ block: "nearest" });
  }

  _queueSync() {
    if (this.syncQueued) return;
    this.syncQueued = true;
    queueMicrotask(() => {
      this.syncQueued = false;
      this.sync();
    });
  }

  /** tabindex 0 on the current message and its own controls, -1 elsewhere. */
  sync() {
    const current = this.current();
    for (const node of this.messages()) {
      const isCurrent = node === current;
      node.tabIndex = isCurrent ? 0 : -1;
      for (const control of node.querySelectorAll(FOCUSABLE)) {
        if (isCurrent && "rovingOff" in control.dataset) {
          const original = control.dataset.rovingOff;
          delete control.dataset.rovingOff;
          if (original) control.setAttribute("tabindex", original);
          else control.removeAttribute("tabindex");
        } else if (!isCurrent && control.getAttribute("tabindex") !== "-1") {
          // Only what was in the Tab order is taken out (and put back as it
          // was, its own tabindex if it had one): menu items stay at -1
          // whatever happens.
          control.dataset.rovingOff = control.getAttribute("tabindex") ?? "";
          control.tabIndex = -1;
        }
      }
    }
  }

  _onKeydown(event) {
    const node = event.target;
    // Keys of the message itself, not of a button or field inside it.
    if (!node.matches?.("li.message") || event.altKey || event.ctrlKey || event.metaKey) return;
    const messages = this.messages();
    const index = messages.indexOf(node);
    const moves = {
      ArrowUp: messages[index - 1],
      ArrowDown: messages[index + 1],
      Home: messages[0],
      End: messages.at(-1),
    };
    if (event.key in moves) {
      event.preventDefault();
      if (moves[event.key]) this.focus(moves[event.key]);
      return;
    }
    const message = this.view.messages.get(node.dataset.id);
    if (!message) return;
    const click = (selector) => {
      const button = node.querySelector(selector);
      if (!button) return false;
      button.click();
      return true;
    };
    let handled = false;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (key === "e") {
      const edit = node.querySelector("[data-action=edit]");
      if (edit) this.view.editMessage(node, message);
      handled = Boolean(edit);
    } else if (key === "Delete" || key === "Backspace") {
      handled = Boolean(node.querySelector("[data-action=delete]"));
      if (handled) this.view.askToDelete(node, message);
    } else if (key === "t") {
      handled = click("[data-action=thread]");
    } else if (key === "r") {
      handled = click("[data-extra=react]");
    } else if (key === "Escape") {
      this.view.markSeen();
      this.view.input?.focus();
      handled = true;
    }
    if (handled) event.preventDefault();
  }
}
