// The conversation header's mute menu. Without JavaScript it is a form that
// posts and reloads; here the same buttons call the REST API
// (PUT/DELETE /api/conversations/<id>/mute/, docs/api.md) and update the
// header in place.

import { dateFormat, gettext, interpolate } from "./i18n.js";

const HOUR = 3600 * 1000;
const DURATIONS = { "1h": HOUR, "8h": 8 * HOUR, "1w": 7 * 24 * HOUR, forever: null };

function formatUntil(iso, timeZone) {
  const options = {
    weekday: "short", day: "numeric", month: "short",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23",
  };
  try {
    return dateFormat({ ...options, timeZone }).format(new Date(iso));
  } catch {
    return dateFormat(options).format(new Date(iso)); // a time zone this browser does not know
  }
}

function show(control, mute) {
  const state = control.querySelector("#mute-state");
  const toggle = control.querySelector("#mute-toggle");
  const unmute = control.querySelector("#unmute-button");
  control.dataset.muted = mute ? "true" : "false";
  if (!mute) state.textContent = "";
  else if (mute.until) {
    const time = formatUntil(mute.until, control.dataset.timeZone);
    state.textContent = interpolate(gettext("Muted until %(time)s"), { time });
  } else state.textContent = gettext("Muted until you unmute");
  toggle.textContent = mute ? gettext("Muted") : gettext("Mute");
  unmute.hidden = !mute;
}

const control = document.getElementById("mute-control");
if (control) {
  const form = control.querySelector("#mute-form");
  const url = `/api/conversations/${control.dataset.conversationId}/mute/`;
  form.addEventListener("submit", async (event) => {
    const choice = event.submitter && event.submitter.value;
    if (!choice || !(choice === "off" || choice in DURATIONS)) return;
    event.preventDefault();
    const init = {
      method: choice === "off" ? "DELETE" : "PUT",
      credentials: "same-origin",
      headers: {
        "X-CSRFToken": form.elements.csrfmiddlewaretoken.value,
        "Content-Type": "application/json",
        Accept: "application/json",
      },
    };
    if (choice !== "off") {
      const ms = DURATIONS[choice];
      init.body = JSON.stringify({ until: ms === null ? null : new Date(Date.now() + ms).toISOString() });
    }
    try {
      const response = await fetch(url, init);
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      show(control, choice === "off" ? null : await response.json());
      control.querySelector("details").open = false;
    } catch {
      control.querySelector("#mute-state").textContent = gettext("Could not change the mute; try again.");
    }
  });
  // A mute set in another tab (or through the API) shows here too.
  const app = window.parley;
  if (app) {
    app.conn.on("conversation.muted", (frame) => {
      if (frame.conversation_id !== control.dataset.conversationId) return;
      show(control, frame.muted ? { until: frame.until } : null);
    });
  }
}
