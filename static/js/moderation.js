// The chat page's side of reports and blocks (docs/api.md, Reports and
// blocks): the report dialog and menu of a message, and the Block / Unblock
// control of a direct conversation. (The moderators' warnings: warnings.js.)

import { gettext, interpolate } from "./i18n.js";
import { announce } from "./render.js";
import { focusLeftBehind } from "./dialogs.js";

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

/** A JSON request to the API; resolves to the body (null for 204), rejects
 * with the API's error message. */
export async function api(path, { method = "GET", body = undefined } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method, credentials: "same-origin", headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return null;
  let data = null;
  try {
    data = await response.json();
  } catch (error) {
    data = null;
  }
  if (!response.ok) {
    const failure = new Error((data && data.error && data.error.message)
      || interpolate(gettext("The server answered %(status)s."), { status: response.status }));
    failure.status = response.status;
    failure.code = data && data.error ? data.error.code : "";
    throw failure;
  }
  return data;
}

/**
 * The report dialog (a modal ``<dialog>`` in the page): the reasons as
 * radio buttons, optional details, Send / Cancel; after sending, a thank-you
 * in its place. Focus returns to the message's menu button when it closes.
 */
export class ReportDialog {
  constructor(dialog) {
    this.dialog = dialog;
    this.form = dialog.querySelector("form");
    this.done = dialog.querySelector("[data-report-done]");
    this.error = dialog.querySelector("[data-report-error]");
    this.details = this.form.elements.details;
    this.message = null;
    this.opener = null;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this._send();
    });
    for (const button of dialog.querySelectorAll("[data-report-close]")) {
      button.addEventListener("click", () => dialog.close());
    }
    dialog.addEventListener("close", () => {
      if (focusLeftBehind(dialog, this.opener)) this.opener?.focus();
      this.opener = null;
    });
  }

  open(message, opener) {
    this.message = message;
    this.opener = opener;
    this.form.reset();
    this.form.hidden = false;
    this.done.hidden = true;
    this.error.textContent = "";
    const who = this.dialog.querySelector("[data-report-who]");
    if (who) who.textContent = message.sender ? message.sender.display_name : gettext("this person");
    // An end-to-end encrypted message: the moderators can read it only if
    // the report carries its text (checked against its franking tag).
    const note = this.dialog.querySelector("[data-report-e2e]");
    if (note) note.hidden = message.message_type !== "encrypted";
    this.dialog.showModal();
    this.form.querySelector("input[name=reason]")?.focus();
  }

  async _send() {
    const reason = this.form.elements.reason.value;
    if (!reason) {
      this.error.textContent = gettext("Choose a reason.");
      this.form.querySelector("input[name=reason]")?.focus();
      return;
    }
    const submit = this.form.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      const body = { reason, details: this.details.value };
      const plain = this.message.plain;
      if (this.message.message_type === "encrypted" && plain && plain.state === "ok") {
        body.e2e = { text: plain.text, franking_key: plain.franking_key };
      }
      await api(`/api/messages/${encodeURIComponent(this.message.id)}/report/`, { method: "POST", body });
      this.form.hidden = true;
      this.done.hidden = false;
      this.done.querySelector("button")?.focus();
      announce(gettext("Thanks — a moderator will review it."));
    } catch (error) {
      this.error.textContent = error.message;
    } finally {
      submit.disabled = false;
    }
  }
}

/**
 * Block / Unblock in a direct conversation's header. Asks first (a modal
 * ``<dialog>``), then reloads the page: the composer gives way to the
 * blocked notice, or comes back.
 */
export function wireBlockControl(button, dialog) {
  if (!button || !dialog) return;
  const blocking = button.dataset.blocked !== "true";
  const userId = button.dataset.userId;
  const error = dialog.querySelector("[data-block-error]");
  dialog.querySelector("[data-block-cancel]").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    if (focusLeftBehind(dialog, button)) button.focus();
  });
  button.addEventListener("click", () => {
    error.textContent = "";
    dialog.showModal();
    dialog.querySelector("[data-block-cancel]").focus();
  });
  dialog.querySelector("[data-block-confirm]").addEventListener("click", async () => {
    // This page draws itself again on the answer: the block.changed that
    // the change also sends to this person's sockets is for their other tabs.
    document.body.dataset.blockChanging = "true";
    try {
      await api(`/api/blocks/${encodeURIComponent(userId)}/`, { method: blocking ? "PUT" : "DELETE" });
      window.location.reload();
    } catch (failure) {
      delete document.body.dataset.blockChanging;
      error.textContent = failure.message;
    }
  });
}

/** The menu-button pattern for a message's menu: open, move, close. */
export function openMenu(button) {
  const menu = document.getElementById(button.getAttribute("aria-controls"));
  if (!menu) return;
  closeMenus(menu);
  const open = menu.hidden;
  menu.hidden = !open;
  button.setAttribute("aria-expanded", String(open));
  button.closest(".message-actions")?.classList.toggle("open", open);
  if (open) menu.querySelector("[role=menuitem]")?.focus();
}

/** Close every open message menu but ``except``. */
export function closeMenus(except = null) {
  for (const menu of document.querySelectorAll(".menu-list[role=menu]")) {
    if (menu === except || menu.hidden) continue;
    menu.hidden = true;
    const button = document.querySelector(`[aria-controls="${menu.id}"]`);
    button?.setAttribute("aria-expanded", "false");
    button?.closest(".message-actions")?.classList.remove("open");
  }
}

/** Keys inside an open menu: arrows move, Escape and Tab close. */
export function menuKeydown(event) {
  const menu = event.target.closest(".menu-list[role=menu]");
  if (!menu) return;
  const items = [...menu.querySelectorAll("[role=menuitem]")];
  const index = items.indexOf(event.target);
  if (event.key === "ArrowDown" || event.key === "ArrowUp") {
    event.preventDefault();
    const step = event.key === "ArrowDown" ? 1 : -1;
    items[(index + step + items.length) % items.length]?.focus();
  } else if (event.key === "Escape" || event.key === "Tab") {
    const button = document.querySelector(`[aria-controls="${menu.id}"]`);
    closeMenus();
    if (event.key === "Escape") {
      event.preventDefault();
      button?.focus();
    }
  }
}
