// The jump-to-conversation dialog: Ctrl+K (⌘K) anywhere, or the top bar's
// "Jump to…" button, opens it. Typing filters the person's conversations
// (GET /api/conversations/, fetched on each opening so it is current);
// the field is an ARIA combobox over a listbox: Up and Down choose, Enter
// opens the chosen one, Escape closes and gives the focus back to where it
// was.

import { gettext, interpolate, ngettext } from "./i18n.js";
import { focusLeftBehind } from "./dialogs.js";

const dialog = document.getElementById("jump-to");
const field = document.getElementById("jump-to-q");
const list = document.getElementById("jump-to-list");
const status = document.getElementById("jump-to-status");
const opener = document.getElementById("jump-to-open");
const MAX_SHOWN = 50;

let conversations = [];
let shown = [];
let chosen = -1;
let returnFocusTo = null;

/** What a conversation is called, as the inbox shows it. */
function titleOf(conversation, me) {
  if (conversation.title) return conversation.title;
  if (conversation.type === "support") return gettext("Support");
  const others = (conversation.participants || []).filter((p) => p.user.id !== me);
  return others.map((p) => p.user.display_name).join(", ") || gettext("Just you");
}

/** Case- and accent-blind, so "jose" finds "José". */
function folded(text) {
  return text.normalize("NFD").replace(/\p{Diacritic}/gu, "").toLocaleLowerCase();
}

async function load() {
  const me = document.body.dataset.userId;
  status.textContent = gettext("Loading conversations…");
  try {
    const response = await fetch("/api/conversations/", {
      headers: { Accept: "application/json" }, credentials: "same-origin",
    });
    if (!response.ok) throw new Error(String(response.status));
    conversations = ((await response.json()).conversations || []).map((c) => {
      const title = titleOf(c, me);
      return { id: c.id, title, key: folded(title), unread: c.unread_count || 0 };
    });
  } catch {
    conversations = [];
    status.textContent = gettext("Your conversations could not be loaded. Try again in a moment.");
    return;
  }
  filter();
}

function optionId(index) {
  return `jump-to-option-${index}`;
}

function filter() {
  const query = folded(field.value.trim());
  shown = conversations.filter((c) => c.key.includes(query)).slice(0, MAX_SHOWN);
  list.replaceChildren(...shown.map((c, index) => {
    const option = document.createElement("li");
    option.id = optionId(index);
    option.setAttribute("role", "option");
    option.dataset.conversationId = c.id;
    const name = document.createElement("span");
    name.className = "jump-name";
    name.dir = "auto";
    name.textContent = c.title;
    option.append(name);
    if (c.unread) {
      const unread = document.createElement("span");
      unread.className = "unread-badge";
      unread.textContent = interpolate(ngettext("%(count)s unread", "%(count)s unread", c.unread), { count: c.unread });
      option.append(" ", unread);
    }
    option.addEventListener("click", () => go(index));
    return option;
  }));
  field.setAttribute("aria-expanded", String(shown.length > 0));
  choose(shown.length ? 0 : -1);
  status.textContent = shown.length
    ? interpolate(ngettext("%(count)s conversation", "%(count)s conversations", shown.length), { count: shown.length })
    : gettext("No conversation matches.");
}

function choose(index) {
  list.querySelector('[aria-selected="true"]')?.setAttribute("aria-selected", "false");
  chosen = index;
  if (index < 0) {
    field.removeAttribute("aria-activedescendant");
    return;
  }
  const option = document.getElementById(optionId(index));
  option.setAttribute("aria-selected", "true");
  field.setAttribute("aria-activedescendant", option.id);
  option.scrollIntoView({ block: "nearest" });
}

function go(index) {
  const conversation = shown[index];
  if (conversation) window.location.assign(`/c/${conversation.id}/`);
}

function open() {
  if (dialog.open) return;
  returnFocusTo = document.activeElement;
  field.value = "";
  list.replaceChildren();
  field.setAttribute("aria-expanded", "false");
  dialog.showModal();
  field.focus();
  load();
}

function close() {
  if (dialog.open) dialog.close();
}

if (dialog) {
  document.addEventListener("keydown", (event) => {
    const shortcut = (event.key === "k" || event.key === "K") && (event.ctrlKey || event.metaKey)
      && !event.altKey && !event.shiftKey;
    if (!shortcut || event.isComposing) return;
    event.preventDefault();
    open();
  });
  opener?.addEventListener("click", open);
  document.getElementById("jump-to-close").addEventListener("click", close);
  dialog.addEventListener("close", () => {
    if (returnFocusTo && returnFocusTo.isConnected && focusLeftBehind(dialog, returnFocusTo)) returnFocusTo.focus();
    returnFocusTo = null;
  });
  field.addEventListener("input", filter);
  field.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!shown.length) return;
      const step = event.key === "ArrowDown" ? 1 : -1;
      choose((chosen + step + shown.length) % shown.length);
    } else if (event.key === "Home" && event.ctrlKey && shown.length) {
      event.preventDefault();
      choose(0);
    } else if (event.key === "End" && event.ctrlKey && shown.length) {
      event.preventDefault();
      choose(shown.length - 1);
    } else if (event.key === "Enter") {
      event.preventDefault();
      go(chosen);
    }
  });
  // A click on the backdrop (outside the dialog's box) closes it, as Escape does.
  dialog.addEventListener("click", (event) => {
    if (event.target === dialog) close();
  });
}
