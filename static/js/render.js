// Building DOM for messages. A stored message's content is its
// server-rendered, sanitized ``content_html`` (docs/protocol.md, "Rich
// text"); everything else a message shows (names, excerpts, file names, the
// outbox's text not yet stored) goes in as text nodes, links made from the
// http(s) URLs found in that text.

import {
  dateFormat, formatNumber, gettext, interpolate, locale, ngettext, pgettext,
} from "./i18n.js";
import { noticeText } from "./notices.js";

const URL_PATTERN = /\bhttps?:\/\/[^\s<>"'`]+/gi;
const TRAILING = /[.,;:!?'")\]}]+$/;

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Text with its http(s) links made clickable; everything else stays text. */
export function linkified(text) {
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    let url = match[0];
    const trailing = url.match(TRAILING);
    if (trailing) url = url.slice(0, -trailing[0].length);
    const start = match.index;
    let href = null;
    try {
      const parsed = new URL(url);
      if (parsed.protocol === "http:" || parsed.protocol === "https:") href = parsed.href;
    } catch (error) {
      href = null;
    }
    if (!href || !url) continue;
    fragment.append(document.createTextNode(text.slice(last, start)));
    fragment.append(el("a", { href, rel: "noopener noreferrer nofollow", target: "_blank", text: url }));
    last = start + url.length;
  }
  fragment.append(document.createTextNode(text.slice(last)));
  return fragment;
}

const escapeRegExp = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** A message's words as its conversation shows them: the text of its
 * server-rendered ``content_html`` (parsed inert, in a <template>: nothing in
 * it runs or loads), without the Markdown marks of ``content``; a message
 * with no HTML (a system message, one stored before rich text) has only
 * ``content``. An encrypted message's words are its ``plain.text``. */
export function messageWords(message) {
  if (!message.content_html) return message.content || "";
  const template = document.createElement("template");
  template.innerHTML = message.content_html;
  return template.content.textContent || "";
}

/**
 * A message's stored ``content_html`` (rendered from its Markdown and
 * sanitized on the server, once: docs/protocol.md, "Rich text") as a
 * fragment. It is the design that this HTML goes in as markup; the client
 * renders no Markdown of its own. Mention spans of ``me`` get
 * ``mention-me``. A message stored before rich text existed and never
 * rendered falls back to its text.
 */
export function richContent(message, { me, names }) {
  if (!message.content_html) return withMentionSpans(linkified(message.content || ""), message.metadata, { me, names });
  const template = document.createElement("template");
  template.innerHTML = message.content_html;
  const fragment = template.content;
  for (const link of fragment.querySelectorAll("a[href]")) {
    link.rel = "noopener noreferrer nofollow";
    link.target = "_blank";
  }
  if (fragment.querySelector(".mention")) {
    const everyone = message.metadata && message.metadata.mention_everyone;
    for (const span of fragment.querySelectorAll("span.mention")) {
      const id = span.dataset.userId;
      if ((id && id === me) || (!id && everyone && message.sender?.id !== me)) span.classList.add("mention-me");
    }
    return fragment;
  }
  return withMentionSpans(fragment, message.metadata, { me, names });
}

/**
 * ``fragment`` with the mentions stored in ``metadata.mentions`` (and
 * ``@all``/``@here`` when ``metadata.mention_everyone``) wrapped in spans,
 * for HTML rendered without them: only the text outside code and links is
 * looked at, and only the names of the stored ids are matched, so text that
 * merely looks like a mention stays text. Mentions of ``me`` (and everyone)
 * get ``mention-me``.
 */
function withMentionSpans(fragment, metadata, { me, names }) {
  const ids = (metadata && Array.isArray(metadata.mentions)) ? metadata.mentions : [];
  const everyone = metadata && metadata.mention_everyone;
  const byName = new Map();
  for (const id of ids) {
    const name = names && names.get(id);
    if (name) byName.set(name.toLowerCase(), id);
  }
  const words = [...byName.keys()];
  if (everyone) words.push(everyone);
  if (!words.length) return fragment;
  words.sort((a, b) => b.length - a.length);
  // Word characters as Python's re sees them (Unicode letters and digits), so
  // the page agrees with messaging/mentions.py.
  const pattern = new RegExp(
    `(?<![\\p{L}\\p{N}_.+\\-%'])@(${words.map(escapeRegExp).join("|")})(?![\\p{L}\\p{N}_])`, "giu");
  const walker = document.createTreeWalker(fragment, NodeFilter.SHOW_TEXT, {
    acceptNode: (node) => (node.parentElement?.closest("code, pre, a, .mention")
      ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  const texts = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) texts.push(node);
  for (const node of texts) {
    const text = node.data;
    const matches = [...text.matchAll(pattern)];
    if (!matches.length) continue;
    const parts = document.createDocumentFragment();
    let last = 0;
    for (const match of matches) {
      const said = match[1].toLowerCase();
      const id = byName.get(said);
      const mine = id ? id === me : said === everyone;
      parts.append(document.createTextNode(text.slice(last, match.index)));
      parts.append(el("span", {
        class: mine ? "mention mention-me" : "mention",
        dataset: id ? { userId: id } : { everyone: said },
        text: match[0],
      }));
      last = match.index + match[0].length;
    }
    parts.append(document.createTextNode(text.slice(last)));
    node.replaceWith(parts);
  }
  return fragment;
}

/** Whether ``message`` mentions ``me`` (by id, or everyone). */
export function mentionsMe(message, me) {
  const metadata = message.metadata || {};
  if (message.sender && message.sender.id === me) return false;
  return !!metadata.mention_everyone || (Array.isArray(metadata.mentions) && metadata.mentions.includes(me));
}

export function initials(name) {
  const parts = (name || "").split(/\s+/).filter(Boolean);
  return (parts.slice(0, 2).map((p) => p[0]).join("") || "?").toUpperCase();
}

const timeFormat = dateFormat({ hour: "2-digit", minute: "2-digit" });
const weekdayFormat = dateFormat({ weekday: "short" });
const shortDateFormat = dateFormat({ month: "short", day: "numeric" });
const longDateFormat = dateFormat({ weekday: "long", month: "long", day: "numeric" });
const longDateYearFormat = dateFormat({
  weekday: "long", month: "long", day: "numeric", year: "numeric",
});
const fullFormat = dateFormat({ dateStyle: "full", timeStyle: "short" });

export function dayKey(date) {
  return `${date.getFullYear()}-${date.getMonth() + 1}-${date.getDate()}`;
}

function startOfDay(date) {
  return new Date(date.getFullYear(), date.getMonth(), date.getDate());
}

export function formatTime(date) {
  return timeFormat.format(date);
}

export function formatFull(date) {
  return fullFormat.format(date);
}

export function formatDay(date) {
  const today = startOfDay(new Date());
  const days = Math.round((today - startOfDay(date)) / 86400000);
  if (days === 0) return gettext("Today");
  if (days === 1) return gettext("Yesterday");
  if (date.getFullYear() === today.getFullYear()) return longDateFormat.format(date);
  return longDateYearFormat.format(date);
}

/** Inbox style: a time today, a weekday this week, else a date. */
export function formatShort(date) {
  const today = startOfDay(new Date());
  const days = Math.round((today - startOfDay(date)) / 86400000);
  if (days === 0) return timeFormat.format(date);
  if (days < 7) return weekdayFormat.format(date);
  return shortDateFormat.format(date);
}

/** Rewrite server-rendered <time> elements in the reader's time zone. */
export function localizeTimes(root = document) {
  for (const node of root.querySelectorAll("time[datetime]")) {
    const value = node.getAttribute("datetime");
    if (!value) continue;
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) continue;
    node.textContent = node.dataset.format === "short" ? formatShort(date) : formatTime(date);
    node.title = formatFull(date);
  }
}

// Kept as render.js's export for the modules that import it from here.
export { announce } from "./announce.js";

/**
 * The parts every chat bubble shares, stored or not: avatar, meta line
 * (sender, then `metaExtras`), content with its links, then `extras` below
 * the bubble. Filled into `li`, which is returned.
 */
function bubbleItem(li, { name, avatar, metaExtras = [], content, extras = [] }) {
  const meta = el("div", { class: "meta" }, el("span", { class: "sender", dir: "auto", text: name }), ...metaExtras);
  const wrap = el("div", { class: "bubble-wrap" }, meta, el("div", { class: "bubble" }, content), ...extras);
  li.append(el("span", { class: "avatar avatar-sm", "aria-hidden": "true", text: avatar }), wrap);
  return li;
}

/**
 * A control pressed and waiting for its answer: marked busy (aria-disabled)
 * rather than disabled, which would drop the keyboard's focus to the top of
 * the page. Returns the function that frees it, or null when it is busy
 * already (a second press while the first is on its way does nothing).
 */
export function markBusy(button) {
  if (!button) return () => {};
  if (button.getAttribute("aria-disabled") === "true") return null;
  button.setAttribute("aria-disabled", "true");
  return () => button.removeAttribute("aria-disabled");
}

/**
 * `old` replaced by `fresh` (a control drawn again: Pin becomes Unpin, a
 * reaction's count changes). When the keyboard was on `old`, or in it, it
 * moves to `fresh`, or to the element in it that `sameAs` (a selector)
 * finds for the one it was on, not to the top of the page.
 */
export function replaceKeepingFocus(old, fresh, sameAs = null) {
  const at = document.activeElement;
  const focused = at && old.contains(at) ? at : null;
  const twin = focused && sameAs ? sameAs(focused) : null;
  old.replaceWith(fresh);
  if (!focused) return;
  const target = (twin && fresh.querySelector(twin)) || fresh;
  if (target.tabIndex < 0 && !target.matches("button, a[href], input, select, textarea")) return;
  target.focus();
}

/**
 * A message's quick actions float beside its bubble; beside a wide one they
 * would leave the conversation's area (and take the last buttons off the
 * window). When a message is pointed at or focused in `list`, its actions
 * that would cross `area`'s edges are drawn over the message's starting top
 * corner instead (`tools-over`).
 */
export function keepToolsInView(list, area) {
  const place = (event) => {
    const li = event.target.closest?.("li.message");
    const tools = li && li.querySelector(":scope > .bubble-wrap > .message-tools");
    if (!tools) return;
    li.classList.remove("tools-over");
    const bounds = tools.getBoundingClientRect();
    const inside = area.getBoundingClientRect();
    if (bounds.right > inside.right || bounds.left < inside.left) li.classList.add("tools-over");
  };
  list.addEventListener("pointerover", place);
  list.addEventListener("focusin", place);
}

/**
 * One stored message as a list item: the only renderer of messages in the
 * conversation page (its first page, live ones, older pages, gap fills).
 * My own messages get edit/delete controls and a receipt mark.
 */
export function messageElement(message, { me, names = null }) {
  const mine = message.sender && message.sender.id === me;
  // Deleted, or hidden by a moderator: a placeholder keeps its place.
  const gone = Boolean(message.deleted_at || message.hidden);
  const classes = ["message"];
  if (mine) classes.push("mine");
  if (!gone && mentionsMe(message, me)) classes.push("mentions-me");
  if (message.message_type === "system") classes.push("system");
  if (gone) classes.push("deleted");
  // Hidden by a moderator: the same for everyone, the sender included; the
  // payload carries no content (docs/protocol.md, message.hidden).
  if (message.hidden) classes.push("moderated");
  const li = el("li", {
    class: classes.join(" "),
    id: `m-${message.id}`,
    dataset: {
      id: message.id,
      seq: String(message.seq),
      sender: message.sender ? message.sender.id : "",
      day: dayKey(new Date(message.sent_at)),
      sentAt: message.sent_at,
    },
  });
  if (message.message_type === "system") {
    li.append(el("div", { class: "system-text", dir: "auto", text: noticeText(message) }));
    return li;
  }
  const sent = new Date(message.sent_at);
  const name = message.sender ? message.sender.display_name : gettext("Former member");
  const edited = Boolean(message.edited_at && !gone);
  const metaExtras = [" ", el("time", { datetime: message.sent_at, title: formatFull(sent), text: formatTime(sent) })];
  if (edited) metaExtras.push(" ", el("span", { class: "edited", text: gettext("(edited)") }));
  // The message's accessible name, read when it has focus: who, when,
  // whether edited, then (for my own) its receipt, kept current by
  // conversation.js. The text itself is its description.
  const summaryId = `m-${message.id}-summary`;
  const receiptId = `m-${message.id}-receipt`;
  const contentId = `m-${message.id}-content`;
  li.setAttribute("aria-labelledby", mine ? `${summaryId} ${receiptId}` : summaryId);
  li.setAttribute("aria-describedby", contentId);
  // Hidden: read through aria-labelledby only, not twice in browse mode.
  metaExtras.push(el("span", { class: "message-summary", id: summaryId, hidden: true, text: messageSummary(name, sent, edited) }));
  const content = el("div", { class: "content", id: contentId, dir: "auto" });
  if (message.deleted_at) content.textContent = gettext("This message was deleted.");
  else if (message.hidden) content.textContent = hiddenText();
  else if (message.message_type === "encrypted") {
    content.classList.add("e2e-text");
    content.append(encryptedContent(message));
  } else {
    content.classList.add("rich");
    content.append(richContent(message, { me, names }));
  }
  // An encrypted message's uploads are opaque: its files are the ones its
  // payload names, drawn from there once decrypted.
  const encrypted = message.message_type === "encrypted";
  const attachments = gone || encrypted ? [] : (message.attachments || []);
  if (!attachments.length && message.file_url && !gone && /^(https?:\/\/|\/)/.test(message.file_url)) {
    content.append(el("div", { class: "file" },
      el("a", { href: message.file_url, rel: "noopener noreferrer", target: "_blank", text: gettext("Open attachment") })));
  }
  const extras = [];
  // A message that continues its sender's run hides its name line, and the
  // "(edited)" in it: this one, under the bubble, shows there instead (the
  // summary already says it to a screen reader).
  if (edited) extras.push(el("span", { class: "edited-below", "aria-hidden": "true", text: gettext("(edited)") }));
  if (mine && !message.deleted_at) {
    // A hidden message may still be deleted by its sender, not edited; so
    // may a call's announcement (meetings.js draws its card), and an
    // encrypted one this browser cannot read (yet: drawn again once it can).
    const editable = !message.hidden && message.message_type !== "meeting"
      && (!encrypted || message.plain?.state === "ok");
    extras.push(el("div", { class: "message-actions" },
      !editable ? null : el("button", {
        type: "button", class: "link-btn", dataset: { action: "edit" }, "aria-label": gettext("Edit message"),
        "aria-keyshortcuts": "E", text: gettext("Edit"),
      }),
      el("button", {
        type: "button", class: "link-btn", dataset: { action: "delete" }, "aria-label": gettext("Delete message"),
        "aria-keyshortcuts": "Delete", text: gettext("Delete"),
      })));
  } else if (!mine && !gone && message.sender) {
    extras.push(messageMenu(message.id, name));
  }
  if (mine) {
    extras.push(el("div", { class: "receipt", dataset: { state: "sent" } },
      el("span", { class: "receipt-icon", "aria-hidden": "true", text: "✓" }),
      el("span", { class: "receipt-text", id: receiptId, text: receiptText("sent") })));
  }
  if (attachments.length) {
    extras.unshift(attachmentsElement(attachments));
    if (!message.content) li.classList.add("no-caption");
  }
  const sealedFiles = encrypted && !gone && message.plain?.state === "ok" ? message.plain.files : [];
  if (sealedFiles.length) {
    extras.unshift(encryptedFilesElement(sealedFiles));
    if (!message.plain.text) li.classList.add("no-caption");
  }
  const item = bubbleItem(li, { name, avatar: message.sender ? initials(name) : "?", metaExtras, content, extras });
  for (const decorate of messageDecorators) decorate(item, message, { me, names, mine, gone });
  return item;
}

/**
 * An end-to-end encrypted message's text, as static/js/e2e/chat.js left it
 * in ``message.plain`` ({state, text, files}): plain text (links made
 * clickable; never HTML, the server renders none), or the state that stands
 * in for it. Nothing undecrypted is ever shown as text.
 */
function encryptedContent(message) {
  const plain = message.plain || { state: "pending" };
  if (plain.state === "ok") return linkified(plain.text);
  const words = {
    pending: gettext("Decrypting…"),
    failed: gettext("Cannot decrypt this message."),
    before_join: gettext("Sent before you joined: it was encrypted for the members of that time."),
    not_approved: gettext("This browser cannot read this message until another of your devices approves it."),
  };
  return el("span", { class: `e2e-state e2e-${plain.state}`, dataset: { e2eState: plain.state }, text: words[plain.state] || words.failed });
}

/** The files an encrypted message's payload names: opened on click
 * (downloaded, checked, decrypted in the browser: static/js/e2e/chat.js). */
function encryptedFilesElement(files) {
  const label = interpolate(ngettext("%(count)s file", "%(count)s files", files.length), {
    count: formatNumber(files.length),
  });
  return el("ul", { class: "attachments e2e-files", "aria-label": label },
    ...files.map((file, index) => {
      const image = typeof file.type === "string" && /^image\/(png|jpeg|gif|webp)$/.test(file.type);
      const kind = image ? "image" : file.type === "application/pdf" ? "pdf" : "file";
      return el("li", { class: "attachment attachment-card e2e-file", dataset: { index: String(index), kind } },
        el("div", { class: "file-card" },
          el("span", { class: "file-icon", dataset: { kind }, "aria-hidden": "true", text: kindBadge(kind) }),
          el("span", { class: "file-text" },
            el("span", { class: "file-name", dir: "auto", text: file.name || gettext("File") }),
            el("span", { class: "file-size" }, interpolate(gettext("%(kind)s · %(size)s"), {
              kind: kindWords(kind), size: formatSize(file.size),
            }))),
          el("button", { type: "button", class: "btn btn-small", dataset: { action: "e2e-file", index: String(index) } },
            image ? gettext("Show") : gettext("Download"),
            el("span", { class: "visually-hidden", dir: "auto", text: ` ${file.name || ""}` }))),
        el("p", { class: "e2e-file-status", role: "status" }));
    }));
}

/** Put a message's node into ``list`` after the last message with a lower seq. */
export function insertBySeq(list, node, seq) {
  const items = list.querySelectorAll("li.message");
  for (let i = items.length - 1; i >= 0; i -= 1) {
    if (Number(items[i].dataset.seq) < seq) {
      items[i].after(node);
      return;
    }
  }
  list.prepend(node);
}

/**
 * Modules that add to every rendered message (its quote, thread summary,
 * reactions, pin, link card) register here; each is called with the
 * message's <li>, its payload and { me, names, mine, gone }, for the first
 * page and live messages alike, and again when a message is re-rendered.
 */
const messageDecorators = [];

export function addMessageDecorator(decorate) {
  messageDecorators.push(decorate);
}

/**
 * The row of quick actions of a rendered message (reply, thread, react,
 * pin, save…), made on first use; decorators add their buttons to it.
 */
export function messageTools(li) {
  let tools = li.querySelector(":scope .message-tools");
  if (!tools) {
    tools = el("div", { class: "message-tools", role: "group", "aria-label": gettext("Message actions") });
    (li.querySelector(".bubble-wrap") || li).append(tools);
  }
  return tools;
}

/** What a message hidden by a moderator shows instead of its text. */
export function hiddenText() {
  return gettext("This message was hidden by a moderator.");
}

/** "Maria Mentor, 10:42" (and "edited"): a message's accessible name. */
export function messageSummary(name, sent, edited) {
  const values = { name, time: formatTime(sent) };
  return edited
    ? interpolate(gettext("%(name)s, %(time)s, edited"), values)
    : interpolate(gettext("%(name)s, %(time)s"), values);
}

/** The words of my message's receipt state: "sent", "delivered", "read". */
export function receiptText(state) {
  if (state === "read") return gettext("Read");
  if (state === "delivered") return gettext("Delivered");
  return gettext("Sent");
}

/** "Sam, Sofia and Ana" in the page's language. */
export function nameList(names) {
  return new Intl.ListFormat(locale, { style: "long", type: "conjunction" }).format(names);
}

/**
 * The menu of someone else's message: a button that opens a short list of
 * actions (the menu-button pattern: arrow keys move, Escape closes and
 * returns to the button; conversation.js drives it). Only "Report…" so far.
 */
function messageMenu(messageId, senderName) {
  // Keyed by the message: the first page and live messages render alike.
  const menuId = `menu-${messageId}`;
  return el("div", { class: "message-actions message-menu" },
    el("button", {
      type: "button",
      class: "link-btn menu-button",
      dataset: { action: "menu" },
      "aria-haspopup": "menu",
      "aria-expanded": "false",
      "aria-controls": menuId,
      "aria-label": interpolate(gettext("More actions for the message from %(name)s"), { name: senderName }),
      text: "⋯",
    }),
    el("ul", { class: "menu-list", role: "menu", id: menuId, hidden: true },
      el("li", { role: "none" },
        el("button", { type: "button", role: "menuitem", class: "message-menu-item", dataset: { action: "report" }, tabindex: "-1", text: gettext("Report…") }))));
}

/** A message in the outbox (not stored yet): pending, or failed with retry. */
export function outboxElement(item, { me, myName }) {
  const li = el("li", {
    class: `message mine outbox ${item.state}`,
    id: `o-${item.client_id}`,
    dataset: { clientId: item.client_id, state: item.state, sender: me },
  });
  const content = el("div", { class: "content", dir: "auto" }, linkified(item.content));
  const files = item.files || [];
  if (files.length && !item.content) li.classList.add("no-caption");
  let state;
  if (item.state === "failed") {
    // Said once by conversation.js (alertNow): the outbox is redrawn on
    // every change, and an alert role would repeat it each time.
    state = el("div", { class: "send-state failed" },
      el("span", {
        text: interpolate(gettext("Not sent: %(reason)s"), {
          reason: item.error || gettext("the server refused this message"),
        }),
      }), " ",
      el("button", { type: "button", class: "link-btn", dataset: { action: "retry" }, text: gettext("Retry") }), " ",
      el("button", { type: "button", class: "link-btn", dataset: { action: "discard" }, text: gettext("Discard") }));
  } else {
    state = el("div", { class: "send-state pending" },
      el("span", { class: "spinner", "aria-hidden": "true" }), el("span", { text: gettext("Pending") }));
  }
  const extras = [state];
  if (files.length) {
    extras.unshift(el("ul", { class: "attachments pending-files", "aria-label": gettext("Files") },
      ...files.map((file) => el("li", { class: "attachment attachment-card" },
        el("span", { class: "file-icon", dataset: { kind: file.kind || "file" }, "aria-hidden": "true", text: kindBadge(file.kind) }),
        el("span", { class: "file-text" },
          el("span", { class: "file-name", dir: "auto", text: file.name }),
          el("span", { class: "file-size", text: formatSize(file.size) }))))));
  }
  return bubbleItem(li, { name: myName, avatar: initials(myName), content, extras });
}

// --- Attachments (docs/protocol.md, Files) ------------------------------------

/** The short badge on a file's icon (IMG, PDF…). */
function kindBadge(kind) {
  const badges = {
    image: pgettext("file badge", "IMG"),
    pdf: pgettext("file badge", "PDF"),
    office: pgettext("file badge", "DOC"),
    text: pgettext("file badge", "TXT"),
    archive: pgettext("file badge", "ZIP"),
  };
  return badges[kind] || pgettext("file badge", "FILE");
}

/** What kind of file it is, in words. */
function kindWords(kind) {
  const words = {
    image: gettext("Image"),
    pdf: gettext("PDF document"),
    office: gettext("Office document"),
    text: gettext("Text file"),
    archive: pgettext("file kind", "Archive"),
  };
  return words[kind] || gettext("File");
}

/** ``bytes`` for people: 820 bytes, 14 KB, 3.2 MB. */
export function formatSize(bytes) {
  const n = Number(bytes) || 0;
  if (n < 1024) return interpolate(ngettext("%(count)s byte", "%(count)s bytes", n), { count: formatNumber(n) });
  const units = [gettext("%(size)s KB"), gettext("%(size)s MB"), gettext("%(size)s GB")];
  let value = n;
  let unit = "";
  for (const next of units) {
    value /= 1024;
    unit = next;
    if (value < 1000) break;
  }
  const size = new Intl.NumberFormat(locale, { maximumFractionDigits: value < 10 ? 1 : 0, minimumFractionDigits: value < 10 ? 1 : 0 }).format(value);
  return interpolate(unit, { size });
}

/** A URL of Parley's own (the payload's are root-relative paths): nothing
 * else is put into a src or href. */
function ownUrl(url) {
  return typeof url === "string" && url.startsWith("/") && !url.startsWith("//") ? url : null;
}

function downloadUrl(attachment) {
  const url = ownUrl(attachment.url);
  return url ? `${url}${url.includes("?") ? "&" : "?"}download=1` : null;
}

/** Every attachment of a message, in its order. */
export function attachmentsElement(attachments) {
  const label = interpolate(ngettext("%(count)s file", "%(count)s files", attachments.length), {
    count: formatNumber(attachments.length),
  });
  return el("ul", { class: "attachments", "aria-label": label },
    ...attachments.map((attachment) => attachmentElement(attachment)));
}

/**
 * One attachment as a list item keyed by its id (``attachment.updated``
 * replaces it in place): an image inline at its thumbnail's size (the box is
 * reserved before it loads) that opens the lightbox; a document's first
 * page linking to its preview page once rendered, or a placeholder while it
 * is made; a text file's excerpt; and for every file a card with its name,
 * size and download link. Names and excerpts are text nodes only.
 */
export function attachmentElement(attachment) {
  const preview = attachment.preview || { state: "none", pages: [] };
  const item = el("li", {
    class: `attachment attachment-${attachment.kind}`,
    dataset: { attachmentId: attachment.id, kind: attachment.kind, previewState: preview.state },
  });
  const thumbnail = attachment.thumbnail;
  if (attachment.kind === "image" && (thumbnail || attachment.width)) {
    const box = thumbnail || { url: attachment.url, width: attachment.width, height: attachment.height };
    const src = ownUrl(box.url);
    if (src) {
      item.append(el("button", {
        type: "button",
        class: "image-open",
        dataset: { action: "open-image" },
        "aria-label": interpolate(gettext("Open image %(name)s"), { name: attachment.name }),
      }, el("img", {
        class: "attachment-image",
        src,
        alt: attachment.name,
        width: box.width,
        height: box.height,
        loading: "lazy",
        decoding: "async",
      })));
      return item;
    }
  }
  if ((attachment.kind === "pdf" || attachment.kind === "office") && preview.state === "pending") {
    item.append(el("div", { class: "preview-placeholder", role: "status" },
      el("span", { class: "spinner", "aria-hidden": "true" }), el("span", { text: gettext("Preparing preview…") })));
  } else if ((attachment.kind === "pdf" || attachment.kind === "office") && preview.state === "ready"
    && preview.pages && preview.pages.length && ownUrl(preview.pages[0].url)) {
    const page = preview.pages[0];
    item.append(el("a", { class: "preview-link", href: `/files/${encodeURIComponent(attachment.id)}/` },
      el("img", {
        class: "preview-page",
        src: ownUrl(page.url),
        alt: interpolate(gettext("First page of %(name)s"), { name: attachment.name }),
        width: page.width,
        height: page.height,
        loading: "lazy",
        decoding: "async",
      }),
      el("span", { class: "preview-more", text: previewLinkText(preview.page_count) })));
  } else if (attachment.kind === "text" && preview.state === "pending") {
    item.append(el("div", { class: "preview-placeholder", role: "status" },
      el("span", { class: "spinner", "aria-hidden": "true" }), el("span", { text: gettext("Preparing preview…") })));
  } else if (attachment.kind === "text" && typeof preview.excerpt === "string" && preview.excerpt) {
    const excerpt = el("pre", { class: "excerpt", dir: "auto" });
    excerpt.textContent = preview.excerpt; // never markup, whatever the file says
    item.append(excerpt);
  }
  item.append(fileCard(attachment));
  return item;
}

function previewLinkText(pageCount) {
  if (!(pageCount > 1)) return gettext("Open the preview");
  return interpolate(ngettext("Open the preview (%(count)s page)", "Open the preview (%(count)s pages)", pageCount), {
    count: formatNumber(pageCount),
  });
}

function fileCard(attachment) {
  const download = downloadUrl(attachment);
  return el("div", { class: "file-card" },
    el("span", { class: "file-icon", dataset: { kind: attachment.kind }, "aria-hidden": "true", text: kindBadge(attachment.kind) }),
    el("span", { class: "file-text" },
      el("span", { class: "file-name", dir: "auto", text: attachment.name }),
      el("span", { class: "file-size" }, interpolate(gettext("%(kind)s · %(size)s"), {
        kind: kindWords(attachment.kind), size: formatSize(attachment.size),
      }))),
    download ? el("a", { class: "btn btn-small file-download", href: download, download: attachment.name },
      gettext("Download"), el("span", { class: "visually-hidden", dir: "auto", text: ` ${attachment.name}` })) : null);
}

/** Show ``attachment`` (an image) full size in the page's ``<dialog>``. */
export function openLightbox(attachment, opener = null) {
  const dialog = document.getElementById("lightbox");
  const src = ownUrl(attachment.url);
  if (!dialog || !src) return;
  const image = document.getElementById("lightbox-image");
  image.removeAttribute("src");
  image.alt = attachment.name;
  if (attachment.width && attachment.height) {
    image.width = attachment.width;
    image.height = attachment.height;
  } else {
    image.removeAttribute("width");
    image.removeAttribute("height");
  }
  image.src = src;
  document.getElementById("lightbox-name").textContent = attachment.name;
  document.getElementById("lightbox-size").textContent = formatSize(attachment.size);
  const download = document.getElementById("lightbox-download");
  download.href = downloadUrl(attachment);
  download.setAttribute("download", attachment.name);
  if (!dialog.dataset.wired) {
    dialog.dataset.wired = "1";
    document.getElementById("lightbox-close").addEventListener("click", () => dialog.close());
    // A click on the backdrop (the dialog itself, outside its content) closes it.
    dialog.addEventListener("click", (event) => {
      if (event.target === dialog) dialog.close();
    });
    dialog.addEventListener("close", () => {
      dialog._opener?.focus();
      dialog._opener = null;
    });
  }
  dialog._opener = opener;
  dialog.showModal();
  document.getElementById("lightbox-close").focus();
}
