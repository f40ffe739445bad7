// Formatting in a composer: keyboard shortcuts and a small toolbar that put
// the Markdown markers of the documented subset (docs/protocol.md, "Rich
// text") around the selection, or around the caret when nothing is
// selected, and a short help listing the syntax. Plain typing stays plain:
// Enter sends and Shift+Enter breaks a line (the composer's own handler).

import { el } from "./render.js";
import { gettext, interpolate } from "./i18n.js";

const MAC = /Mac|iPhone|iPad/.test(navigator.platform || navigator.userAgent || "");
const MOD = MAC ? "⌘" : "Ctrl";

/** Each format: its markers, its shortcut (key with Ctrl/⌘, and Shift or
 * not), the toolbar button's face, and ``label()``: its name in the page's
 * language. */
export const FORMATS = [
  { name: "bold", label: () => gettext("Bold"), face: "B", before: "**", after: "**", key: "b", shift: false },
  { name: "italic", label: () => gettext("Italic"), face: "I", before: "_", after: "_", key: "i", shift: false },
  { name: "strike", label: () => gettext("Strikethrough"), face: "S", before: "~~", after: "~~", key: "x", shift: true },
  { name: "code", label: () => gettext("Inline code"), face: "</>", before: "`", after: "`", key: "e", shift: false },
  // Not "Code block": the page's Block button must stay the only one of that name.
  { name: "codeblock", label: () => gettext("Multi-line code"), face: "{ }", block: true, key: "c", shift: true },
];

export function shortcutText(format) {
  return `${MOD}+${format.shift ? "Shift+" : ""}${format.key.toUpperCase()}`;
}

/** The syntax (Markdown, not translated; its words are) and what it does. */
function helpEntries() {
  return [
    ["**bold**", gettext("bold")],
    [interpolate(gettext("%(one)s or %(other)s"), { one: "_italic_", other: "*italic*" }), gettext("italic")],
    ["~~strikethrough~~", gettext("strikethrough")],
    ["`code`", gettext("inline code")],
    [interpolate(gettext("%(fence)s (new line) code (new line) %(fence_end)s"), { fence: "```python", fence_end: "```" }),
      gettext("code block, coloured when it names its language")],
    ["> quote", gettext("quote")],
    [interpolate(gettext("%(one)s or %(other)s"), { one: "- item", other: "1. item" }), gettext("bulleted or numbered list")],
    [interpolate(gettext("%(one)s or a bare %(other)s link"), { one: "[text](https://…)", other: "https://" }), gettext("link")],
    ["@name", gettext("mention")],
  ];
}

/** Replace the textarea's selection with ``text`` (kept in its undo history
 * where the browser allows it) and select ``[start, end)`` afterwards,
 * offsets relative to where the text went in. */
function replaceSelection(textarea, text, selectStart, selectEnd) {
  const from = textarea.selectionStart;
  textarea.focus();
  let done = false;
  try {
    done = document.execCommand("insertText", false, text);
  } catch (error) {
    done = false;
  }
  if (!done || textarea.value.slice(from, from + text.length) !== text) {
    textarea.setRangeText(text, from, textarea.selectionEnd, "end");
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
  }
  textarea.setSelectionRange(from + selectStart, from + selectEnd);
}

/** Put ``format``'s markers around the selection (or the caret); a
 * selection that already has exactly those markers around it loses them. */
export function applyFormat(textarea, format) {
  const { value, selectionStart: start, selectionEnd: end } = textarea;
  const selected = value.slice(start, end);
  if (format.block) {
    // A fence on lines of its own.
    const lead = start > 0 && value[start - 1] !== "\n" ? "\n" : "";
    const trail = end < value.length && value[end] !== "\n" ? "\n" : "";
    const body = selected.replace(/\n$/, "");
    const text = `${lead}\`\`\`\n${body}\n\`\`\`${trail}`;
    const inner = lead.length + 4;
    replaceSelection(textarea, text, inner, inner + body.length);
    return;
  }
  const { before, after } = format;
  if (
    selected.length >= before.length + after.length
    && selected.startsWith(before) && selected.endsWith(after)
  ) {
    const bare = selected.slice(before.length, selected.length - after.length);
    replaceSelection(textarea, bare, 0, bare.length);
    return;
  }
  if (value.slice(start - before.length, start) === before && value.slice(end, end + after.length) === after) {
    // The markers sit just outside the selection: take them away.
    textarea.setSelectionRange(start - before.length, end + after.length);
    replaceSelection(textarea, selected, 0, selected.length);
    return;
  }
  replaceSelection(textarea, `${before}${selected}${after}`, before.length, before.length + selected.length);
}

/** The format a keydown asks for, or null. */
export function formatForKey(event) {
  if (!(event.ctrlKey || event.metaKey) || event.altKey) return null;
  const key = (event.key || "").toLowerCase();
  return FORMATS.find((f) => f.key === key && f.shift === event.shiftKey) || null;
}

let helpCounter = 0;

/**
 * Shortcuts on ``textarea`` and a toolbar (labelled buttons, each title
 * naming its shortcut, and a "Formatting help" popover) put before
 * ``anchor`` in ``form``. Returns the toolbar.
 */
export function wireFormatting(textarea, { form, anchor = null }) {
  textarea.addEventListener("keydown", (event) => {
    const format = formatForKey(event);
    if (!format || event.isComposing) return;
    event.preventDefault();
    applyFormat(textarea, format);
  });
  helpCounter += 1;
  const helpId = `format-help-${helpCounter}`;
  const keys = [
    gettext("Enter sends"),
    gettext("Shift+Enter breaks a line"),
    ...FORMATS.map((f) => interpolate(gettext("%(keys)s: %(format)s"), { keys: shortcutText(f), format: f.label() })),
  ];
  const help = el("div", { class: "format-help", id: helpId, role: "note", hidden: true },
    el("p", { class: "format-help-title", text: gettext("Formatting") }),
    el("dl", {}, ...helpEntries().map(([syntax, meaning]) => el("div", {},
      el("dt", {}, el("code", { dir: "ltr", text: syntax })), el("dd", { text: meaning })))),
    el("p", { class: "format-help-keys", text: keys.join(" · ") }));
  const helpButton = el("button", {
    type: "button", class: "format-btn format-help-btn", "aria-expanded": "false", "aria-controls": helpId,
    text: gettext("Formatting help"),
  });
  const buttons = FORMATS.map((format) => {
    const button = el("button", {
      type: "button",
      class: `format-btn format-${format.name}`,
      "aria-label": format.label(),
      title: interpolate(gettext("%(format)s (%(keys)s)"), { format: format.label(), keys: shortcutText(format) }),
      "aria-keyshortcuts": `${MAC ? "Meta" : "Control"}+${format.shift ? "Shift+" : ""}${format.key.toUpperCase()}`,
      dataset: { format: format.name },
      text: format.face,
    });
    // Keep the selection in the textarea: a click would otherwise move focus first.
    button.addEventListener("mousedown", (event) => event.preventDefault());
    button.addEventListener("click", () => applyFormat(textarea, format));
    return button;
  });
  const toolbar = el("div", {
    class: "format-toolbar", role: "toolbar", "aria-label": gettext("Formatting"), "aria-controls": textarea.id || null,
  },
    ...buttons, helpButton, help);
  const setHelp = (open) => {
    help.hidden = !open;
    helpButton.setAttribute("aria-expanded", String(open));
  };
  helpButton.addEventListener("click", () => setHelp(help.hidden));
  toolbar.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !help.hidden) {
      event.stopPropagation();
      setHelp(false);
      helpButton.focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (!help.hidden && !toolbar.contains(event.target)) setHelp(false);
  });
  form.insertBefore(toolbar, anchor && anchor.parentNode === form ? anchor : form.firstChild);
  return toolbar;
}
