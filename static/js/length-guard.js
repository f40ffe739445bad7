// A message box keeps everything typed or pasted. Over the server's limit
// (the box's data-max-chars) it says so at once and the send waits until
// the text is short enough: a maxlength attribute would cut a paste off
// without a word, and the sender would lose the rest.
import { formatNumber, gettext, interpolate } from "./i18n.js";

/** Characters as the server counts them (code points, once stripped). */
export function characterCount(text) {
  return [...text.trim()].length;
}

/** What is wrong with the box's length, or "" when it fits. */
export function lengthProblem(input) {
  const max = Number(input?.dataset.maxChars) || 0;
  const count = max ? characterCount(input.value) : 0;
  const over = count > max;
  if (over) input.setAttribute("aria-invalid", "true");
  else input?.removeAttribute("aria-invalid");
  if (!over) return "";
  return interpolate(
    gettext("This message has %(count)s characters; a message has at most %(max)s. Shorten it or split it in two."),
    { count: formatNumber(count), max: formatNumber(max) },
  );
}
