// The AI assistant's "Summarise unread" button in the conversation header
// (templates/assistant/_control.html): POST
// /api/conversations/<id>/assistant/summary/ (docs/api.md, "AI assistant")
// and show the summary in a dialog, to this person only.

import { gettext, interpolate, ngettext } from "./i18n.js";

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

const button = document.getElementById("assistant-summary");
const dialog = document.getElementById("assistant-summary-dialog");
if (button && dialog) {
  const text = dialog.querySelector("#assistant-summary-text");
  dialog.querySelector("[data-assistant-close]").addEventListener("click", () => dialog.close());

  button.addEventListener("click", async () => {
    button.disabled = true;
    text.textContent = gettext("Summarising…");
    if (!dialog.open) dialog.showModal();
    try {
      const response = await fetch(button.dataset.url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": csrfToken(),
        },
        // From where this person had read when the page opened.
        body: JSON.stringify({ after_seq: Number(button.dataset.sinceSeq) || 0 }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) {
        text.textContent = (body.error && body.error.message) || gettext("The assistant could not answer right now.");
      } else if (!body.summary) {
        text.textContent = gettext("Nothing unread to summarise.");
      } else {
        // Plain text (white-space kept by the stylesheet), never HTML.
        const covered = ngettext(
          "Summary of %(count)s unread message:",
          "Summary of %(count)s unread messages:",
          body.covered,
        );
        text.textContent = `${interpolate(covered, { count: body.covered })}\n\n${body.summary}`;
      }
    } catch {
      text.textContent = gettext("The assistant could not answer right now.");
    } finally {
      button.disabled = false;
    }
  });
}
