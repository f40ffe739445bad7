// Reactions, pins, saved messages and link cards on the conversation page
// (docs/protocol.md, "Rich text, replies, threads, reactions, pins").
//
// One decorator (render.js addMessageDecorator) draws, for every rendered
// message that is not a system message, deleted or hidden: its link card,
// its pinned label, its row of reaction chips, and its quick actions (React,
// Pin/Unpin, Save/Saved). Live frames change the message's payload held by
// the view (``view.messages``) and redraw only that part of its item, so a
// later re-render (an edit) starts from the same state.
//
// Reactions are kept as a set of user ids per emoji per message: applying a
// reaction.added or reaction.removed twice changes nothing, and the answer
// to my own command (``ok``) is applied the same way as the frame that
// follows it.

import { addMessageDecorator, announce, el, messageTools, replaceKeepingFocus } from "./render.js";
import { alertNow } from "./announce.js";
import { api } from "./moderation.js";
import { emojiName, loadCatalog, picker, rememberEmoji } from "./emoji-picker.js";
import { formatNumber, gettext, interpolate, ngettext } from "./i18n.js";
import { Pins } from "./pins.js";
import { SavedMarks } from "./saved.js";

const NOTICE_MS = 4000;
const NAMES_SHOWN = 3;
const CATCH_UP_MESSAGES = 100;

// What a refused command means to the person (docs/protocol.md, Errors);
// a function, so the words are looked up in the page's language when used.
function refusals() {
  return {
    rate_limited: gettext("You are doing that too fast. Try again in a moment."),
    too_many_reactions: gettext("This message can't take more reactions."),
    too_many_pins: gettext("This conversation has as many pinned messages as it can have. Unpin one first."),
    hidden: gettext("This message was hidden by a moderator."),
    not_found: gettext("That message is no longer there."),
    forbidden: gettext("You can't do that in this conversation."),
    archived: gettext("This conversation is archived and read-only."),
    muted: gettext("A moderator muted you here for now."),
    blocked: gettext("You can't interact with this person."),
    invalid: gettext("That emoji was not accepted."),
    not_connected: gettext("Not connected. Try again when you are back online."),
    connection_lost: gettext("The connection dropped. Try again."),
    timeout: gettext("The server did not answer in time. Try again."),
  };
}

export function refusalText(error, fallback = gettext("That did not work.")) {
  return refusals()[error && error.code] || (error && error.message) || fallback;
}

/** "Maria Mentor and you" or "Ana, Luis and 3 others": who reacted, mine
 * named "you". */
function reactorsList(users, me) {
  const mine = users.some((u) => u.id === me);
  const others = users.filter((u) => u.id !== me).map((u) => u.display_name || gettext("Someone"));
  if (users.length > NAMES_SHOWN) {
    const shown = others.slice(0, mine ? NAMES_SHOWN - 2 : NAMES_SHOWN - 1);
    const rest = users.length - shown.length - (mine ? 1 : 0);
    const names = shown.join(gettext(", "));
    return mine
      ? interpolate(ngettext("%(names)s, you and %(count)s other", "%(names)s, you and %(count)s others", rest), {
        names, count: formatNumber(rest),
      })
      : interpolate(ngettext("%(names)s and %(count)s other", "%(names)s and %(count)s others", rest), {
        names, count: formatNumber(rest),
      });
  }
  if (mine && !others.length) return gettext("you");
  if (mine) return interpolate(gettext("%(names)s and you"), { names: others.join(gettext(", ")) });
  if (others.length === 1) return others[0];
  return interpolate(gettext("%(names)s and %(last)s"), {
    names: others.slice(0, -1).join(gettext(", ")), last: others[others.length - 1],
  });
}

/** A chip's name: "thumbs up, 2 reactions, by Maria Mentor and you". */
export function reactorsText(users, emoji, me) {
  const count = users.length;
  return interpolate(ngettext(
    "%(emoji)s, %(count)s reaction, by %(who)s",
    "%(emoji)s, %(count)s reactions, by %(who)s",
    count,
  ), { emoji: emojiName(emoji) || emoji, count: formatNumber(count), who: reactorsList(users, me) });
}

/** An http(s) URL as a string, or null: nothing else goes into an href. */
function webUrl(value) {
  try {
    const url = new URL(value);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch (error) {
    return null;
  }
}

/** One of Parley's own root-relative paths, or null. */
function ownUrl(value) {
  return typeof value === "string" && value.startsWith("/") && !value.startsWith("//") ? value : null;
}

class MessageExtras {
  constructor(view) {
    this.view = view;
    this.conn = view.conn;
    this.me = view.me;
    this.drawn = new Map(); // message id -> the payload last drawn
    this.namesAsked = false;
    this.pins = new Pins(this);
    this.saved = new SavedMarks(this);
    addMessageDecorator((li, message, context) => this.decorate(li, message, context));
    this._listen();
    this._wireClicks();
  }

  /** The emoji names in the chips' titles: the catalog is fetched once,
   * when the first chip is drawn, then every chip is titled again. */
  _askNames() {
    if (this.namesAsked) return;
    this.namesAsked = true;
    loadCatalog().then(() => this.refreshAll(), () => {});
  }

  /** The payload of a message as held: the view's, else the last one
   * drawn elsewhere on the page (a thread panel renders with the same
   * messageElement, so the same decorator). */
  payload(messageId) {
    return this.view.messages.get(messageId) || this.drawn.get(messageId) || null;
  }

  /** Every held copy of a message's payload: each is kept current, so
   * whichever a later re-render starts from is right. */
  payloads(messageId) {
    return [...new Set([this.view.messages.get(messageId), this.drawn.get(messageId)])].filter(Boolean);
  }

  /** Every rendered item of a message (the stream, a thread panel). */
  itemsOf(messageId) {
    return [...document.querySelectorAll(`li.message[data-id="${CSS.escape(String(messageId))}"]`)];
  }

  itemOf(messageId) {
    return document.getElementById(`m-${messageId}`) || this.itemsOf(messageId)[0] || null;
  }

  /** Whether this conversation still takes reactions and pins. */
  writable() {
    return this.view.mayWrite();
  }

  // --- Drawing -----------------------------------------------------------------

  decorate(li, message, { gone }) {
    if (message && message.id) this.drawn.set(message.id, message);
    if (gone || message.message_type === "system") return;
    const wrap = li.querySelector(".bubble-wrap");
    if (!wrap) return;
    this._drawCard(li, message);
    this._drawPinLabel(li, message);
    this._drawReactions(li, message);
    const tools = messageTools(li);
    if (this.writable()) {
      tools.append(el("button", {
        type: "button",
        class: "tool-btn tool-react",
        dataset: { extra: "react" },
        "aria-label": gettext("Add reaction"),
        title: gettext("Add reaction"),
      }, el("span", { "aria-hidden": "true", text: "☺︎+" })));
    }
    tools.append(this.pins.toolButton(message));
    tools.append(this.saved.toolButton(message));
  }

  /** The part of ``li`` after which extras go below the bubble: its
   * attachments when it has some, else the bubble. */
  _anchor(li) {
    const wrap = li.querySelector(".bubble-wrap");
    return wrap.querySelector(":scope > .attachments") || wrap.querySelector(":scope > .bubble");
  }

  _drawReactions(li, message) {
    const old = li.querySelector(".reactions");
    const reactions = (message.reactions || []).filter((r) => r.users && r.users.length);
    if (!reactions.length) {
      // The last one taken back: the keyboard goes to the message's own
      // reaction button rather than the page's top.
      const focused = old && old.contains(document.activeElement);
      old?.remove();
      if (focused) li.querySelector(".message-tools .tool-react")?.focus();
      return;
    }
    this._askNames();
    const row = el("div", { class: "reactions", role: "group", "aria-label": gettext("Reactions") },
      ...reactions.map((reaction) => this._chip(reaction)));
    if (this.writable()) {
      row.append(el("button", {
        type: "button",
        class: "reaction-add",
        dataset: { extra: "react" },
        "aria-label": gettext("Add reaction"),
        title: gettext("Add reaction"),
        text: "+",
      }));
    }
    // The keyboard stays on the chip (or the add button) it was on.
    // (A chip gone with its last reaction: the add button, after the chips.)
    const sameChip = (at) => (at.dataset.emoji ? `[data-emoji="${CSS.escape(at.dataset.emoji)}"], .reaction-add` : ".reaction-add");
    if (old) replaceKeepingFocus(old, row, sameChip);
    else (li.querySelector(".link-card") || this._anchor(li)).after(row);
  }

  _chip(reaction) {
    const mine = reaction.users.some((u) => u.id === this.me);
    const text = reactorsText(reaction.users, reaction.emoji, this.me);
    return el("button", {
      type: "button",
      class: mine ? "reaction-chip mine" : "reaction-chip",
      dataset: { extra: "toggle", emoji: reaction.emoji },
      "aria-pressed": mine ? "true" : "false",
      "aria-label": text,
      title: text,
      disabled: this.writable() ? null : true,
    },
    el("span", { class: "reaction-emoji", "aria-hidden": "true", text: reaction.emoji }),
    el("span", { class: "reaction-count", "aria-hidden": "true", text: String(reaction.users.length) }));
  }

  _drawPinLabel(li, message) {
    const old = li.querySelector(".pin-label");
    if (!message.pinned) {
      old?.remove();
      li.classList.remove("pinned");
      return;
    }
    const by = message.pinned.pinned_by;
    const label = el("div", { class: "pin-label" },
      el("span", { "aria-hidden": "true", text: "📌 " }), this.pins.pinnedByText(by));
    li.classList.add("pinned");
    if (old) old.replaceWith(label);
    else li.querySelector(".bubble-wrap .bubble").before(label);
  }

  _drawCard(li, message) {
    const old = li.querySelector(".link-card");
    const preview = message.link_preview;
    const href = preview && webUrl(preview.url);
    if (!href) {
      old?.remove();
      return;
    }
    let host = "";
    try {
      host = new URL(href).hostname;
    } catch (error) {
      host = "";
    }
    const image = ownUrl(preview.image_url);
    const card = el("div", { class: image ? "link-card with-image" : "link-card" },
      image ? el("img", {
        class: "link-card-image",
        src: image,
        alt: "",
        width: preview.image_width || 120,
        height: preview.image_height || 120,
        loading: "lazy",
        decoding: "async",
      }) : null,
      el("div", { class: "link-card-text" },
        el("span", { class: "link-card-site", text: preview.site_name || host }),
        el("a", {
          class: "link-card-title",
          href,
          rel: "noopener noreferrer nofollow",
          target: "_blank",
          text: preview.title || href,
        }),
        preview.description ? el("p", { class: "link-card-description", text: preview.description }) : null,
        message.sender && message.sender.id === this.me
          ? el("button", {
            type: "button",
            class: "link-btn link-card-remove",
            dataset: { extra: "remove-preview" },
            text: gettext("Remove preview"),
          })
          : null));
    if (old) old.replaceWith(card);
    else this._anchor(li).after(card);
  }

  /** Chip titles again (the emoji names arrived). */
  refreshAll() {
    for (const message of new Set([...this.view.messages.values(), ...this.drawn.values()])) {
      if (message.deleted_at || message.hidden || !(message.reactions && message.reactions.length)) continue;
      for (const li of this.itemsOf(message.id)) this._drawReactions(li, message);
    }
  }

  // --- State changes -------------------------------------------------------------

  /** Add (or remove) ``user``'s ``emoji`` on a held message and redraw its
   * chips; nothing when it is already so, or the message is not held. */
  applyReaction(messageId, emoji, user, added) {
    const message = this.payload(messageId);
    if (!message || !user || !emoji) return;
    const reactions = (message.reactions || []).map((r) => ({ ...r, users: [...(r.users || [])] }));
    let reaction = reactions.find((r) => r.emoji === emoji);
    const has = reaction ? reaction.users.some((u) => u.id === user.id) : false;
    if (added === has) return;
    if (added) {
      if (!reaction) {
        reaction = { emoji, count: 0, users: [] };
        reactions.push(reaction);
      }
      reaction.users.push(user);
    } else {
      reaction.users = reaction.users.filter((u) => u.id !== user.id);
    }
    reaction.count = reaction.users.length;
    for (const held of this.payloads(messageId)) held.reactions = reactions.filter((r) => r.users.length);
    if (message.deleted_at || message.hidden) return;
    for (const li of this.itemsOf(messageId)) this._drawReactions(li, message);
  }

  refusal(error) {
    return refusalText(error);
  }

  /** A short reason next to the message, and said at once to screen
   * readers (a refusal is an error). */
  notice(messageId, text) {
    alertNow(text);
    const li = messageId && this.itemOf(messageId);
    const wrap = li && li.querySelector(".bubble-wrap");
    if (!wrap) return;
    wrap.querySelector(".extras-notice")?.remove();
    const note = el("p", { class: "extras-notice", text });
    wrap.append(note);
    setTimeout(() => note.remove(), NOTICE_MS);
  }

  async react(messageId, emoji) {
    const message = this.payload(messageId);
    if (!message) return;
    const mine = (message.reactions || []).some((r) => r.emoji === emoji && r.users.some((u) => u.id === this.me));
    const type = mine ? "reaction.remove" : "reaction.add";
    try {
      await this.conn.request({ type, message_id: messageId, emoji }, { done: ["ok"] });
      this.applyReaction(messageId, emoji, { id: this.me, display_name: this.view.app.myName }, !mine);
      if (!mine) rememberEmoji(emoji);
    } catch (error) {
      const template = mine ? gettext("Reaction not removed: %(reason)s") : gettext("Reaction not added: %(reason)s");
      this.notice(messageId, interpolate(template, { reason: refusalText(error) }));
    }
  }

  /** A link card came, or its sender removed it (``null``). */
  applyPreview(messageId, preview) {
    const message = this.payload(messageId);
    if (!message) return;
    for (const held of this.payloads(messageId)) held.link_preview = preview || null;
    if (message.deleted_at || message.hidden) return;
    for (const li of this.itemsOf(messageId)) this._drawCard(li, message);
  }

  async removePreview(messageId, button) {
    if (button) button.disabled = true;
    try {
      await api(`/api/messages/${encodeURIComponent(messageId)}/preview/`, { method: "DELETE" });
      this.applyPreview(messageId, null);
      announce(gettext("Preview removed."));
    } catch (error) {
      if (button) button.disabled = false;
      this.notice(messageId, interpolate(gettext("Preview not removed: %(reason)s"), { reason: refusalText(error) }));
    }
  }

  _listen() {
    const conn = this.conn;
    const here = (frame) => frame && frame.conversation_id === this.view.id;
    conn.on("reaction.added", (frame) => {
      if (here(frame)) this.applyReaction(frame.message_id, frame.emoji, frame.user, true);
    });
    conn.on("reaction.removed", (frame) => {
      if (here(frame)) this.applyReaction(frame.message_id, frame.emoji, frame.user, false);
    });
    conn.on("link_preview.updated", (frame) => {
      if (here(frame)) this.applyPreview(frame.message_id, frame.link_preview);
    });
    // Frames missed while the socket was down are not replayed (resume
    // brings new messages, not changes to held ones): after a reconnect the
    // latest page is read again and its reactions, pins and cards applied.
    let first = true;
    conn.on("hello", () => {
      if (first) {
        first = false;
        return;
      }
      this.catchUp();
    });
  }

  async catchUp() {
    let data;
    try {
      const query = new URLSearchParams({ limit: String(CATCH_UP_MESSAGES) });
      const response = await fetch(`/api/conversations/${encodeURIComponent(this.view.id)}/messages/?${query}`, {
        credentials: "same-origin", headers: { Accept: "application/json" },
      });
      if (!response.ok) return;
      data = await response.json();
    } catch (error) {
      return; // the next reconnect tries again
    }
    for (const fresh of (data && data.messages) || []) {
      const message = this.payload(fresh.id);
      if (!message || message.deleted_at || message.hidden || fresh.deleted_at || fresh.hidden) continue;
      for (const held of this.payloads(fresh.id)) {
        held.reactions = fresh.reactions || [];
        held.link_preview = fresh.link_preview || null;
      }
      for (const li of this.itemsOf(fresh.id)) {
        this._drawReactions(li, message);
        this._drawCard(li, message);
      }
      if (Boolean(fresh.pinned) !== Boolean(message.pinned)) this.pins.apply(fresh.id, fresh.pinned || null, fresh);
    }
  }

  _wireClicks() {
    // On the document: a message's actions work wherever it is drawn.
    document.addEventListener("click", (event) => {
      const button = event.target.closest("li.message button[data-extra]");
      if (!button) return;
      const li = button.closest("li.message");
      const messageId = li && li.dataset.id;
      if (!messageId || !this.payload(messageId)) return;
      const action = button.dataset.extra;
      if (action === "toggle") {
        // A chip is still drawn where I may not react (a block, archived).
        if (this.writable()) this.react(messageId, button.dataset.emoji);
      }
      else if (action === "react") picker().open(button, (emoji) => this.react(messageId, emoji));
      else if (action === "remove-preview") this.removePreview(messageId, button);
      else if (action === "pin") this.pins.toggle(messageId, button);
      else if (action === "save") this.saved.toggle(messageId, button);
    });
  }
}

/** Called once by ConversationView's constructor. */
export function wireMessageExtras(view) {
  return new MessageExtras(view);
}
