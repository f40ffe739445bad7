// The composer's @-mention autocomplete: typing "@" and the start of a name
// lists the conversation's members (and @all / @here for those who may use
// them) in an ARIA combobox listbox; arrows move, Enter or Tab inserts
// "@Display Name ", Escape closes. The server finds the mentions in the sent
// text (messaging/mentions.py); this only helps to type them.

import { el } from "./render.js";
import { gettext } from "./i18n.js";

const MAX_OPTIONS = 8;
// "@" at the start or after a character that cannot end an email's local
// part, then up to 40 characters of a name (spaces allowed) up to the caret.
const TRIGGER = /(?:^|[^\p{L}\p{N}_.+\-%'])@([^@\n]{0,40})$/u;

export class MentionAutocomplete {
  /**
   * `input` is the composer's textarea; `members()` returns the people who
   * may be mentioned ({id, display_name}); `everyone` adds @all and @here.
   */
  constructor(input, { members, everyone = false }) {
    this.input = input;
    this.members = members;
    this.everyone = everyone;
    this.options = [];
    this.active = 0;
    this.start = -1; // index of the "@" being completed
    this.menu = el("ul", {
      // Named after its field: the page has two (composer and thread
      // reply), and ids must stay unique.
      class: "mention-menu", id: `${input.id}-mentions`, role: "listbox", "aria-label": gettext("People to mention"), hidden: true,
    });
    input.after(this.menu);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", this.menu.id);
    input.setAttribute("aria-expanded", "false");
    input.addEventListener("input", () => this.update());
    input.addEventListener("click", () => this.update());
    input.addEventListener("blur", () => setTimeout(() => this.close(), 150));
    this.menu.addEventListener("mousedown", (event) => event.preventDefault()); // keep focus
    this.menu.addEventListener("click", (event) => {
      const option = event.target.closest("li[role=option]");
      if (option) this.choose(Number(option.dataset.index));
    });
  }

  get open() {
    return !this.menu.hidden;
  }

  update() {
    const caret = this.input.selectionStart;
    if (caret !== this.input.selectionEnd) return this.close();
    const before = this.input.value.slice(0, caret);
    const match = before.match(TRIGGER);
    if (!match) return this.close();
    const query = match[1].toLowerCase();
    this.start = caret - match[1].length - 1;
    const candidates = this.members().map((m) => ({ label: m.display_name, hint: "" }));
    if (this.everyone) {
      // @all and @here are keywords the server reads: only their hints translate.
      candidates.push({ label: "all", hint: gettext("everyone in this conversation") });
      candidates.push({ label: "here", hint: gettext("everyone online now") });
    }
    this.options = candidates.filter(({ label }) => {
      const name = label.toLowerCase();
      return name.startsWith(query) || name.split(/\s+/).some((part) => part.startsWith(query));
    }).slice(0, MAX_OPTIONS);
    if (!this.options.length) return this.close();
    this.active = Math.min(this.active, this.options.length - 1);
    this.render();
    return undefined;
  }

  render() {
    this.menu.replaceChildren(...this.options.map((option, index) => el("li", {
      role: "option",
      // Named after the menu, itself named after its field: unique on the page.
      id: `${this.menu.id}-option-${index}`,
      "aria-selected": String(index === this.active),
      dataset: { index: String(index) },
    }, `@${option.label}`, option.hint ? el("span", { class: "mention-hint", text: option.hint }) : null)));
    this.menu.hidden = false;
    this.input.setAttribute("aria-expanded", "true");
    this.input.setAttribute("aria-activedescendant", `${this.menu.id}-option-${this.active}`);
  }

  close() {
    if (this.menu.hidden) return;
    this.menu.hidden = true;
    this.options = [];
    this.active = 0;
    this.input.setAttribute("aria-expanded", "false");
    this.input.removeAttribute("aria-activedescendant");
  }

  /** Handle a key in the composer; true when the menu used it. */
  onKeydown(event) {
    if (!this.open || event.isComposing) return false;
    const count = this.options.length;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      this.active = (this.active + (event.key === "ArrowDown" ? 1 : count - 1)) % count;
      this.render();
    } else if (event.key === "Enter" || event.key === "Tab") {
      this.choose(this.active);
    } else if (event.key === "Escape") {
      this.close();
    } else {
      return false;
    }
    event.preventDefault();
    return true;
  }

  choose(index) {
    const option = this.options[index];
    if (!option || this.start < 0) return;
    const value = this.input.value;
    const caret = this.input.selectionStart;
    const inserted = `@${option.label} `;
    this.input.value = value.slice(0, this.start) + inserted + value.slice(caret);
    const at = this.start + inserted.length;
    this.input.setSelectionRange(at, at);
    this.close();
    this.input.focus();
    this.input.dispatchEvent(new Event("input", { bubbles: true }));
  }
}
