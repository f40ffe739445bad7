// Scheduled messages (docs/integrations/scheduled-messages.md): the
// composer's Schedule dialog on a conversation page, and editing and
// cancelling on the Scheduled page. Times are wall-clock times in a zone
// (the person's own, or the one a message was scheduled in), posted to the
// REST API as they are with that zone: the server reads them there.

import { announce } from "./announce.js";
import { gettext, interpolate, locale, ngettext } from "./i18n.js";
import { lengthProblem } from "./length-guard.js";
import { clockZone, profileZone, wallClock } from "./zones.js";

const API = "/api/scheduled-messages/";

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

/** The API's answer, or an Error carrying its message. */
async function call(method, path, body) {
  const response = await fetch(path, {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json", "Content-Type": "application/json", "X-CSRFToken": csrfToken() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) {
    const message = data && data.error ? data.error.message : gettext("Something went wrong. Try again.");
    throw new Error(message);
  }
  return data;
}

const pad = (n) => String(n).padStart(2, "0");

/** Sets `at`'s bounds (now … `maxDays` ahead, on the clocks of `zone`) and
 * returns a check of its value: the refusal in words, or "". The server
 * checks again; this spares a person its field names. */
function boundTime(at, zone, maxDays) {
  const now = Date.now();
  at.min = wallClock(zone, new Date(now));
  at.max = wallClock(zone, new Date(now + maxDays * 86400000));
  return () => {
    // Now as it is when the form is sent: the dialog may have stayed open.
    if (at.value < wallClock(zone)) return gettext("Choose a time to come.");
    if (at.value > at.max) {
      return interpolate(ngettext("Choose a time at most %(count)s day ahead.", "Choose a time at most %(count)s days ahead.", maxDays), { count: maxDays });
    }
    return "";
  };
}

/** Tomorrow at 9:00 on the clocks of `zone`: the dialog's first offer. */
function tomorrowMorning(zone) {
  const [year, month, day] = wallClock(zone).slice(0, 10).split("-").map(Number);
  const next = new Date(Date.UTC(year, month - 1, day + 1));
  return `${next.getUTCFullYear()}-${pad(next.getUTCMonth() + 1)}-${pad(next.getUTCDate())}T09:00`;
}

/** A scheduled time as the person reads it, in its zone. */
function showTime(iso, zone) {
  const text = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short", timeZone: zone })
    .format(new Date(iso));
  return `${text} (${zone})`;
}

function wireDialogClose(dialog, selector) {
  dialog.querySelector(selector).addEventListener("click", () => dialog.close());
}

// --- The composer's Schedule dialog ---------------------------------------------------

function wireComposer() {
  const opener = document.getElementById("schedule-open");
  const dialog = document.getElementById("schedule-dialog");
  if (!opener || !dialog) return;
  // Each message keeps the zone it was scheduled in (static/js/zones.js).
  const zone = clockZone();
  const maxDays = Number(dialog.dataset.maxDays);
  const form = dialog.querySelector("#schedule-form");
  const content = dialog.querySelector("#schedule-content");
  const at = dialog.querySelector("#schedule-at");
  const error = dialog.querySelector("#schedule-error");
  const composer = document.getElementById("composer-input");
  if (zone !== profileZone()) {
    dialog.querySelector("[data-schedule-zone-words]").textContent = interpolate(gettext("In your browser's time zone, %(zone)s."), { zone });
  }
  let timeProblem = () => "";
  wireDialogClose(dialog, "[data-schedule-close]");
  dialog.addEventListener("close", () => opener.focus());

  opener.addEventListener("click", () => {
    content.value = composer ? composer.value : "";
    timeProblem = boundTime(at, zone, maxDays);
    at.value = tomorrowMorning(zone);
    error.textContent = "";
    dialog.showModal();
    (content.value.trim() ? at : content).focus();
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    if (!content.value.trim() || !at.value) {
      error.textContent = gettext("Write a message and choose when to send it.");
      return;
    }
    error.textContent = timeProblem() || lengthProblem(content);
    if (error.textContent) return;
    try {
      const scheduled = await call("POST", API, {
        conversation_id: dialog.dataset.conversationId,
        content: content.value,
        send_at: at.value,
        time_zone: zone,
      });
      if (composer && composer.value === content.value) {
        composer.value = "";
        composer.dispatchEvent(new Event("input", { bubbles: true }));
      }
      dialog.close();
      const said = interpolate(gettext("Scheduled for %(when)s."), { when: showTime(scheduled.send_at, scheduled.time_zone) });
      announce(said);
      // And seen under the composer, until the next words typed.
      const status = document.getElementById("composer-status");
      if (status) {
        status.querySelector("[data-status-text]").textContent = said;
        status.hidden = false;
        composer?.addEventListener("input", () => { status.hidden = true; }, { once: true });
      }
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
}

// --- The Scheduled page -------------------------------------------------------------------

function wireScheduledPage() {
  const list = document.getElementById("scheduled-list");
  const dialog = document.getElementById("scheduled-edit-dialog");
  if (!list || !dialog) return;
  const status = document.getElementById("scheduled-status");
  const form = dialog.querySelector("#scheduled-edit-form");
  const content = dialog.querySelector("#scheduled-edit-content");
  const at = dialog.querySelector("#scheduled-edit-at");
  const zoneHint = dialog.querySelector("#scheduled-edit-zone");
  const error = dialog.querySelector("#scheduled-edit-error");
  const maxDays = Number(dialog.dataset.maxDays);
  let timeProblem = () => "";
  let editing = null; // the <li> being edited
  let opener = null;
  wireDialogClose(dialog, "[data-scheduled-edit-close]");
  dialog.addEventListener("close", () => opener && opener.isConnected && opener.focus());

  const say = (text) => {
    status.textContent = text;
  };
  // Every time written as an edit writes it (the server's format differs
  // from the browser's: "Dec. 21, 8:15 a.m." beside "Dec 21, 8:15 AM").
  for (const item of list.querySelectorAll(".scheduled-item")) {
    const time = item.querySelector("[data-scheduled-time]");
    try {
      if (time && time.dataset.datetime) time.textContent = showTime(time.dataset.datetime, item.dataset.timeZone);
    } catch {
      /* a zone this browser does not know: the server's words stay */
    }
  }

  list.addEventListener("click", async (event) => {
    const item = event.target.closest(".scheduled-item");
    if (!item) return;
    if (event.target.closest("[data-scheduled-edit]")) {
      editing = item;
      opener = event.target.closest("button");
      content.value = item.querySelector("[data-scheduled-content]").textContent;
      timeProblem = boundTime(at, item.dataset.timeZone, maxDays);
      at.value = item.dataset.local;
      zoneHint.textContent = interpolate(gettext("In %(zone)s."), { zone: item.dataset.timeZone });
      error.textContent = "";
      dialog.showModal();
      content.focus();
    } else if (event.target.closest("[data-scheduled-cancel]")) {
      try {
        const cancelled = await call("DELETE", `${API}${item.dataset.id}/`);
        item.dataset.state = cancelled.state;
        item.querySelector("[data-scheduled-state]").textContent = dialog.dataset.cancelledLabel;
        item.querySelector(".scheduled-actions").remove();
        item.setAttribute("tabindex", "-1");
        item.focus();
        say(gettext("The message was cancelled."));
      } catch (failure) {
        say(failure.message);
      }
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!editing) return;
    error.textContent = timeProblem() || lengthProblem(content);
    if (error.textContent) return;
    try {
      const saved = await call("PATCH", `${API}${editing.dataset.id}/`, {
        content: content.value,
        send_at: at.value,
        time_zone: editing.dataset.timeZone,
      });
      editing.querySelector("[data-scheduled-content]").textContent = saved.content;
      const time = editing.querySelector("[data-scheduled-time]");
      time.dataset.datetime = saved.send_at;
      time.textContent = showTime(saved.send_at, saved.time_zone);
      editing.dataset.local = saved.send_at_local.slice(0, 16);
      dialog.close();
      say(gettext("Your changes were saved."));
    } catch (failure) {
      error.textContent = failure.message;
    }
  });
}

wireComposer();
wireScheduledPage();
