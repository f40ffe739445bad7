// The emoji picker of the conversation page (docs/api.md, Reactions): a
// modal <dialog> with a search box, the person's recently used emoji and
// the catalog's groups. The catalog comes from GET /api/emoji/ once per page
// (the server lets the browser cache it for a day); recently used emoji are
// kept in localStorage, most recent first.
//
// Keyboard: typing filters; ArrowDown from the search box enters the grid;
// arrow keys move in the grid (up and down by visual row, left and right as
// the page reads, so mirrored in right-to-left languages); Enter or Space
// picks; Escape closes and gives focus back to the button that opened it.
// A modal dialog keeps focus inside it while it is open.

import { el } from "./render.js";
import { focusLeftBehind } from "./dialogs.js";
import { direction, formatNumber, gettext, interpolate, ngettext } from "./i18n.js";

const RECENT_KEY = "parley:recent-emoji";
const RECENT_MAX = 16;
const SEARCH_MAX = 120;

// The reactions people reach for most, shown first.
const POPULAR = ["👍", "❤️", "😂", "🎉", "🙏", "👀", "✅", "🔥", "😮", "😢", "💯", "🚀",
  "👏", "🤔", "😄", "😍", "🙌", "💡", "⭐", "👎"];

// A few groups by code point, for entries the catalog does not group
// (its ``group`` field wins when it has one). Keys, not words: GROUP_NAMES
// gives each its title in the page's language.
const GROUPS = [
  ["smileys", [[0x1F600, 0x1F644], [0x1F910, 0x1F917], [0x1F920, 0x1F925], [0x1F927, 0x1F92F],
    [0x1F970, 0x1F97A], [0x1F9D0, 0x1F9D0], [0x2639, 0x263A], [0x1F47B, 0x1F480], [0x1F4A9, 0x1F4A9]]],
  ["people", [[0x1F440, 0x1F47A], [0x1F481, 0x1F487], [0x1F645, 0x1F64F], [0x1F90C, 0x1F90F],
    [0x1F918, 0x1F91F], [0x1F926, 0x1F926], [0x1F930, 0x1F93E], [0x1F9B0, 0x1F9DF], [0x261D, 0x261D],
    [0x270A, 0x270D], [0x1F6B4, 0x1F6B6], [0x1F574, 0x1F57A], [0x1F4AA, 0x1F4AA]]],
  ["nature", [[0x1F300, 0x1F32C], [0x1F330, 0x1F344], [0x1F400, 0x1F43F], [0x1F980, 0x1F9AE],
    [0x2600, 0x2604], [0x26C4, 0x26C8]]],
  ["food", [[0x1F345, 0x1F37F], [0x1F950, 0x1F96F], [0x1F9C0, 0x1F9CB], [0x2615, 0x2615]]],
  ["activities", [[0x1F380, 0x1F3FA], [0x1F680, 0x1F6FF], [0x26BD, 0x26BE], [0x26F0, 0x26FD]]],
  ["flags", [[0x1F1E6, 0x1F1FF], [0x1F3F4, 0x1F3F4], [0x1F6A9, 0x1F6A9]]],
];
const OTHER_GROUP = "objects";

function groupTitle(group) {
  const titles = {
    smileys: gettext("Smileys"),
    people: gettext("People and gestures"),
    nature: gettext("Animals and nature"),
    food: gettext("Food and drink"),
    activities: gettext("Activities and travel"),
    flags: gettext("Flags"),
    objects: gettext("Objects and symbols"),
  };
  // A group named by the catalog itself is shown as it comes.
  return titles[group] || group;
}

function groupOf(entry) {
  if (entry.group) return entry.group;
  const code = entry.emoji.codePointAt(0);
  for (const [name, ranges] of GROUPS) {
    if (ranges.some(([low, high]) => code >= low && code <= high)) return name;
  }
  return OTHER_GROUP;
}

let catalogPromise = null;
let catalogByEmoji = null;

/** The picker's catalog: ``[{emoji, name, group?, keywords?}]``, fetched once. */
export function loadCatalog() {
  if (!catalogPromise) {
    catalogPromise = fetch("/api/emoji/", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((response) => {
        if (!response.ok) throw new Error(`emoji answered ${response.status}`);
        return response.json();
      })
      .then((data) => {
        const list = Array.isArray(data) ? data : (data && (data.emoji || data.results)) || [];
        const entries = list.filter((entry) => entry && typeof entry.emoji === "string" && entry.emoji);
        catalogByEmoji = new Map(entries.map((entry) => [entry.emoji, entry]));
        return entries;
      })
      .catch((error) => {
        catalogPromise = null; // the next opening tries again
        throw error;
      });
  }
  return catalogPromise;
}

/** The English name of ``emoji`` once the catalog is loaded, else null. */
export function emojiName(emoji) {
  const entry = catalogByEmoji && catalogByEmoji.get(emoji);
  return entry ? entry.name : null;
}

/** Recently used emoji, most recent first. */
export function recentEmoji() {
  try {
    const value = JSON.parse(window.localStorage.getItem(RECENT_KEY) || "[]");
    return Array.isArray(value) ? value.filter((e) => typeof e === "string").slice(0, RECENT_MAX) : [];
  } catch (error) {
    return [];
  }
}

/** ``emoji`` was just used: first in the recently used row. */
export function rememberEmoji(emoji) {
  const list = [emoji, ...recentEmoji().filter((e) => e !== emoji)].slice(0, RECENT_MAX);
  try {
    window.localStorage.setItem(RECENT_KEY, JSON.stringify(list));
  } catch (error) {
    /* private mode or full: the row just stays as it was */
  }
}

function matches(entry, words) {
  const haystack = [entry.name || "", ...(Array.isArray(entry.keywords) ? entry.keywords : [])]
    .join(" ").toLowerCase();
  return words.every((word) => haystack.includes(word));
}

/** Best first: the name itself, then names starting with the query, then
 * a word of the name starting with it, then the rest. */
function rankOf(entry, query) {
  const name = (entry.name || "").toLowerCase();
  if (name === query) return 0;
  if (name.startsWith(query)) return 1;
  if (name.split(/\s+/).some((word) => word.startsWith(query))) return 2;
  return 3;
}

/** Among equally good matches, the popular reactions first. */
function popularity(entry) {
  const index = POPULAR.indexOf(entry.emoji);
  return index < 0 ? POPULAR.length : index;
}

export class EmojiPicker {
  constructor() {
    this.onPick = null;
    this.opener = null;
    this.catalog = null;
    this.dialog = el("dialog", { class: "emoji-picker", id: "emoji-picker", "aria-label": gettext("Choose a reaction") });
    this.search = el("input", {
      type: "search",
      class: "emoji-search",
      id: "emoji-search",
      placeholder: gettext("Search emoji"),
      "aria-label": gettext("Search emoji"),
      autocomplete: "off",
      spellcheck: "false",
    });
    this.body = el("div", { class: "emoji-body" });
    this.status = el("p", { class: "emoji-status muted", role: "status" });
    this.dialog.append(
      el("div", { class: "emoji-head" }, this.search,
        el("button", {
          type: "button", class: "btn btn-small emoji-close", "aria-label": gettext("Close"), "aria-keyshortcuts": "Escape", text: "✕",
        })),
      this.status,
      this.body,
    );
    document.body.append(this.dialog);
    this.search.addEventListener("input", () => this._render());
    this.search.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown") {
        event.preventDefault();
        this._focusButton(this._buttons()[0]);
      } else if (event.key === "Enter") {
        event.preventDefault();
        const first = this._buttons()[0];
        if (first) this._pick(first.dataset.emoji);
      }
    });
    this.body.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-emoji]");
      if (button) this._pick(button.dataset.emoji);
    });
    this.body.addEventListener("keydown", (event) => this._onGridKey(event));
    this.dialog.querySelector(".emoji-close").addEventListener("click", () => this.close());
    // A click on the backdrop (outside the panel) closes it.
    this.dialog.addEventListener("click", (event) => {
      if (event.target === this.dialog) this.close();
    });
    this.dialog.addEventListener("close", () => {
      const opener = this.opener;
      this.opener = null;
      this.onPick = null;
      if (opener && opener.isConnected && focusLeftBehind(this.dialog, opener)) opener.focus();
    });
  }

  get isOpen() {
    return this.dialog.open;
  }

  /** Open next to ``opener``; ``onPick(emoji)`` is called with the choice. */
  async open(opener, onPick) {
    if (this.dialog.open) this.dialog.close();
    this.opener = opener;
    this.onPick = onPick;
    this.search.value = "";
    this._render();
    this.dialog.showModal();
    this._place(opener);
    this.search.focus();
    if (!this.catalog) {
      this.status.textContent = gettext("Loading emoji…");
      try {
        this.catalog = await loadCatalog();
        this.status.textContent = "";
      } catch (error) {
        this.status.textContent = gettext("The emoji list could not be loaded; recently used ones still work.");
      }
      // The full list makes the picker taller than it was placed for:
      // placed again, so it does not run off the bottom of the window.
      if (this.dialog.open && this.opener === opener) {
        this._render();
        this._place(opener);
      }
    }
  }

  close() {
    if (this.dialog.open) this.dialog.close();
  }

  /** Near the opener when there is room, else where the browser puts it.
   * (CSSOM positions are allowed by the page's style-src policy.) */
  _place(opener) {
    const style = this.dialog.style;
    for (const side of ["margin", "left", "top", "right", "bottom"]) style[side] = "";
    if (!opener || window.innerWidth < 520) return;
    const box = opener.getBoundingClientRect();
    const width = this.dialog.offsetWidth;
    const height = this.dialog.offsetHeight;
    const left = Math.max(8, Math.min(box.left, window.innerWidth - width - 8));
    let top = box.bottom + 6;
    if (top + height > window.innerHeight - 8) top = Math.max(8, box.top - height - 6);
    style.margin = "0";
    style.right = "auto";
    style.bottom = "auto";
    style.left = `${left}px`;
    style.top = `${top}px`;
  }

  _pick(emoji) {
    const onPick = this.onPick;
    rememberEmoji(emoji);
    this.close();
    if (onPick) onPick(emoji);
  }

  _button(entry) {
    const label = entry.name || entry.emoji;
    return el("button", {
      type: "button",
      class: "emoji-option",
      tabindex: "-1",
      title: label,
      "aria-label": label,
      dataset: { emoji: entry.emoji },
      text: entry.emoji,
    });
  }

  _section(title, entries, id) {
    const heading = el("h3", { class: "emoji-group-title", id, text: title });
    const grid = el("div", { class: "emoji-grid", role: "group", "aria-labelledby": id },
      ...entries.map((entry) => this._button(entry)));
    return el("section", { class: "emoji-group" }, heading, grid);
  }

  _render() {
    const query = this.search.value.trim().toLowerCase();
    const sections = [];
    if (query) {
      const words = query.split(/\s+/);
      const found = (this.catalog || []).filter((entry) => matches(entry, words))
        .map((entry, index) => ({ entry, index, rank: rankOf(entry, query) }))
        .sort((a, b) => a.rank - b.rank || popularity(a.entry) - popularity(b.entry)
          || a.entry.name.length - b.entry.name.length || a.index - b.index)
        .slice(0, SEARCH_MAX)
        .map((found) => found.entry);
      if (found.length) sections.push(this._section(gettext("Search results"), found, "emoji-results"));
      if (this.catalog) this.status.textContent = this._foundText(found.length);
    } else {
      if (this.catalog) this.status.textContent = "";
      const recent = recentEmoji();
      if (recent.length) {
        sections.push(this._section(gettext("Recently used"),
          recent.map((emoji) => (catalogByEmoji && catalogByEmoji.get(emoji)) || { emoji, name: "" }),
          "emoji-recent"));
      }
      sections.push(...this._groupSections());
    }
    this.body.replaceChildren(...sections);
    for (const button of this.body.querySelectorAll("button[data-emoji][tabindex='0']")) button.tabIndex = -1;
    const first = this._buttons()[0];
    if (first) first.tabIndex = 0;
  }

  /** Popular and the groups: built once (about two thousand buttons). */
  _groupSections() {
    if (!this.catalog) return [];
    if (this.groupSections) return this.groupSections;
    const sections = [];
    const popular = POPULAR.map((emoji) => catalogByEmoji.get(emoji)).filter(Boolean);
    if (popular.length) sections.push(this._section(gettext("Popular"), popular, "emoji-popular"));
    const groups = new Map([...GROUPS.map(([name]) => [name, []]), [OTHER_GROUP, []]]);
    for (const entry of this.catalog) {
      const group = groupOf(entry);
      if (!groups.has(group)) groups.set(group, []);
      groups.get(group).push(entry);
    }
    let index = 0;
    for (const [group, entries] of groups) {
      if (!entries.length) continue;
      index += 1;
      sections.push(this._section(groupTitle(group), entries, `emoji-group-${index}`));
    }
    this.groupSections = sections;
    return sections;
  }

  _foundText(count) {
    if (!count) return gettext("No emoji match.");
    if (count === SEARCH_MAX) {
      return interpolate(gettext("At least %(count)s found"), { count: formatNumber(SEARCH_MAX) });
    }
    return interpolate(ngettext("%(count)s found", "%(count)s found", count), { count: formatNumber(count) });
  }

  _buttons() {
    return [...this.body.querySelectorAll("button[data-emoji]")];
  }

  _focusButton(button) {
    if (!button) return;
    for (const other of this.body.querySelectorAll("button[data-emoji][tabindex='0']")) other.tabIndex = -1;
    button.tabIndex = 0;
    button.focus();
    button.scrollIntoView({ block: "nearest" });
  }

  /** Arrow keys in the grid: left/right along the list, up/down to the
   * nearest button in the row above or below (by position on screen, so it
   * works whatever the number of columns). */
  _onGridKey(event) {
    const current = event.target.closest("button[data-emoji]");
    if (!current) return;
    const buttons = this._buttons();
    const index = buttons.indexOf(current);
    const forward = direction === "rtl" ? "ArrowLeft" : "ArrowRight";
    const backward = direction === "rtl" ? "ArrowRight" : "ArrowLeft";
    let next = null;
    if (event.key === forward) next = buttons[index + 1];
    else if (event.key === backward) next = index === 0 ? null : buttons[index - 1];
    else if (event.key === "Home") next = buttons[0];
    else if (event.key === "End") next = buttons[buttons.length - 1];
    else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      next = this._vertical(buttons, current, event.key === "ArrowDown");
    } else return;
    event.preventDefault();
    if (next) this._focusButton(next);
    else if (event.key === "ArrowUp" || event.key === backward) this.search.focus();
  }

  _vertical(buttons, current, down) {
    const box = current.getBoundingClientRect();
    const candidates = buttons.filter((b) => {
      const top = b.getBoundingClientRect().top;
      return down ? top > box.top + 2 : top < box.top - 2;
    });
    if (!candidates.length) return null;
    const tops = candidates.map((b) => b.getBoundingClientRect().top);
    const rowTop = down ? Math.min(...tops) : Math.max(...tops);
    const row = candidates.filter((b, i) => Math.abs(tops[i] - rowTop) < 2);
    let best = row[0];
    for (const b of row) {
      if (Math.abs(b.getBoundingClientRect().left - box.left) < Math.abs(best.getBoundingClientRect().left - box.left)) best = b;
    }
    return best;
  }
}

let shared = null;

/** The page's one picker, made on first use. */
export function picker() {
  if (!shared) shared = new EmojiPicker();
  return shared;
}
