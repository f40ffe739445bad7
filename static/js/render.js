// Building DOM for messages. Message content is only ever put in the page
// as text nodes; links are made from http(s) URLs found in that text.

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

/**
 * Text with its mentions (the ids stored in ``metadata.mentions``, and
 * ``@all``/``@here`` when ``metadata.mention_everyone``) as highlighted spans
 * and the rest linkified. Only the names of the stored ids are matched, so
 * text that merely looks like a mention stays text; everything stays text
 * nodes. Mentions of ``me`` (and everyone) get ``mention-me``.
 */
export function withMentions(text, metadata, { me, names }) {
  const ids = (metadata && Array.isArray(metadata.mentions)) ? metadata.mentions : [];
  const everyone = metadata && metadata.mention_everyone;
  const byName = new Map();
  for (const id of ids) {
    const name = names && names.get(id);
    if (name) byName.set(name.toLowerCase(), id);
  }
  const words = [...byName.keys()];
  if (everyone) words.push(everyone);
  if (!words.length) return linkified(text);
  words.sort((a, b) => b.length - a.length);
  // Word characters as Python's re sees them (Unicode letters and digits), so
  // the page agrees with messaging/mentions.py.
  const pattern = new RegExp(
    `(?<![\\p{L}\\p{N}_.+\\-%'])@(${words.map(escapeRegExp).join("|")})(?![\\p{L}\\p{N}_])`, "giu");
  const fragment = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(pattern)) {
    const said = match[1].toLowerCase();
    const id = byName.get(said);
    const mine = id ? id === me : said === everyone;
    fragment.append(linkified(text.slice(last, match.index)));
    fragment.append(el("span", {
      class: mine ? "mention mention-me" : "mention",
      dataset: id ? { userId: id } : { everyone: said },
      text: match[0],
    }));
    last = match.index + match[0].length;
  }
  fragment.append(linkified(text.slice(last)));
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

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit" });
const weekdayFormat = new Intl.DateTimeFormat(undefined, { weekday: "short" });
const shortDateFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const longDateFormat = new Intl.DateTimeFormat(undefined, { weekday: "long", month: "long", day: "numeric" });
const longDateYearFormat = new Intl.DateTimeFormat(undefined, {
  weekday: "long", month: "long", day: "numeric", year: "numeric",
});
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "short" });

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
  if (days === 0) return "Today";
  if (days === 1) return "Yesterday";
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

export function announce(text) {
  const region = document.getElementById("live-region");
  if (!region) return;
  const item = el("p", { text });
  region.append(item);
  while (region.childElementCount > 5) region.firstElementChild.remove();
}

/**
 * The parts every chat bubble shares, stored or not: avatar, meta line
 * (sender, then `metaExtras`), content with its links, then `extras` below
 * the bubble. Filled into `li`, which is returned.
 */
function bubbleItem(li, { name, avatar, metaExtras = [], content, extras = [] }) {
  const meta = el("div", { class: "meta" }, el("span", { class: "sender", text: name }), ...metaExtras);
  const wrap = el("div", { class: "bubble-wrap" }, meta, el("div", { class: "bubble" }, content), ...extras);
  li.append(el("span", { class: "avatar avatar-sm", "aria-hidden": "true", text: avatar }), wrap);
  return li;
}

/**
 * One stored message as a list item: the only renderer of messages in the
 * conversation page (its first page, live ones, older pages, gap fills).
 * My own messages get edit/delete controls and a receipt mark.
 */
export function messageElement(message, { me, names = null }) {
  const mine = message.sender && message.sender.id === me;
  const classes = ["message"];
  if (mine) classes.push("mine");
  if (!message.deleted_at && mentionsMe(message, me)) classes.push("mentions-me");
  if (message.message_type === "system") classes.push("system");
  if (message.deleted_at) classes.push("deleted");
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
    li.append(el("div", { class: "system-text", text: message.content }));
    return li;
  }
  const sent = new Date(message.sent_at);
  const name = message.sender ? message.sender.display_name : "Former member";
  const metaExtras = [" ", el("time", { datetime: message.sent_at, title: formatFull(sent), text: formatTime(sent) })];
  if (message.edited_at && !message.deleted_at) metaExtras.push(" ", el("span", { class: "edited", text: "(edited)" }));
  const content = el("div", { class: "content" });
  if (message.deleted_at) content.textContent = "This message was deleted.";
  else content.append(withMentions(message.content || "", message.metadata, { me, names }));
  if (message.file_url && !message.deleted_at && /^(https?:\/\/|\/)/.test(message.file_url)) {
    content.append(el("div", { class: "file" },
      el("a", { href: message.file_url, rel: "noopener noreferrer", target: "_blank", text: "Open attachment" })));
  }
  const extras = [];
  if (mine && !message.deleted_at) {
    extras.push(el("div", { class: "message-actions" },
      el("button", { type: "button", class: "link-btn", dataset: { action: "edit" }, "aria-label": "Edit message", text: "Edit" }),
      el("button", { type: "button", class: "link-btn", dataset: { action: "delete" }, "aria-label": "Delete message", text: "Delete" })));
  }
  if (mine) {
    extras.push(el("div", { class: "receipt", dataset: { state: "sent" } },
      el("span", { class: "receipt-icon", "aria-hidden": "true", text: "✓" }),
      el("span", { class: "receipt-text", text: "Sent" })));
  }
  return bubbleItem(li, { name, avatar: message.sender ? initials(name) : "?", metaExtras, content, extras });
}

/** A message in the outbox (not stored yet): pending, or failed with retry. */
export function outboxElement(item, { me, myName }) {
  const li = el("li", {
    class: `message mine outbox ${item.state}`,
    id: `o-${item.client_id}`,
    dataset: { clientId: item.client_id, state: item.state, sender: me },
  });
  const content = el("div", { class: "content" }, linkified(item.content));
  let state;
  if (item.state === "failed") {
    state = el("div", { class: "send-state failed", role: "alert" },
      el("span", { text: `Not sent: ${item.error || "the server refused this message"}` }), " ",
      el("button", { type: "button", class: "link-btn", dataset: { action: "retry" }, text: "Retry" }), " ",
      el("button", { type: "button", class: "link-btn", dataset: { action: "discard" }, text: "Discard" }));
  } else {
    state = el("div", { class: "send-state pending" },
      el("span", { class: "spinner", "aria-hidden": "true" }), el("span", { text: "Pending" }));
  }
  return bubbleItem(li, { name: myName, avatar: initials(myName), content, extras: [state] });
}
