// Video calls (docs/integrations/video-calls.md). The header's call button
// starts one (POST /api/conversations/<id>/meetings/); the `meeting`
// message it posts arrives as any message does and is drawn here as a card:
// who started a call, when, and a Join link to the join page
// (/meetings/<id>/join/), which sends each person on to their own link in
// a new tab. The message never holds a join URL.

import { alertNow, announce } from "./announce.js";
import { gettext, interpolate } from "./i18n.js";
import { addMessageDecorator, el, formatFull, formatTime } from "./render.js";

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

/** The join page of a call (the server answers with a redirect). */
export function joinPath(meetingId) {
  return `/meetings/${encodeURIComponent(meetingId)}/join/`;
}

/** The card of a `meeting` message: who started the call, when, its title, Join. */
export function meetingCard(message, { me }) {
  const meeting = (message.metadata && message.metadata.meeting) || {};
  const name = message.sender ? message.sender.display_name : gettext("Former member");
  const who = message.sender && message.sender.id === me
    ? gettext("You started a video call")
    : interpolate(gettext("%(name)s started a video call"), { name });
  const started = new Date(meeting.starts_at || message.sent_at);
  const titleId = `meeting-${message.id}-who`;
  const label = meeting.title
    ? interpolate(gettext("Join the video call “%(title)s” (opens in a new tab)"), { title: meeting.title })
    : gettext("Join the video call (opens in a new tab)");
  return el("div", { class: "meeting-card", role: "group", "aria-labelledby": titleId },
    el("span", { class: "meeting-icon", "aria-hidden": "true", text: "📹" }),
    el("div", { class: "meeting-text" },
      el("span", { class: "meeting-who", id: titleId, dir: "auto", text: who }),
      meeting.title ? el("span", { class: "meeting-title", dir: "auto", text: meeting.title }) : null,
      el("span", { class: "meeting-when" },
        el("time", { datetime: started.toISOString(), title: formatFull(started), text: formatTime(started) }))),
    meeting.id ? el("a", {
      class: "btn btn-primary btn-small meeting-join",
      href: joinPath(meeting.id),
      target: "_blank",
      rel: "noopener",
      "aria-label": label,
      text: gettext("Join"),
    }) : null);
}

/**
 * Draw every `meeting` message as its card (a message decorator, so the
 * first page, live arrivals and re-renders alike), and wire the call button.
 */
export function wireMeetings() {
  addMessageDecorator((li, message, { me, gone }) => {
    if (message.message_type !== "meeting" || gone) return;
    li.classList.add("meeting");
    const content = li.querySelector(".content");
    if (content) content.replaceChildren(meetingCard(message, { me }));
  });
  const button = document.getElementById("meeting-start");
  if (button) button.addEventListener("click", () => startCall(button));
}

async function startCall(button) {
  if (button.disabled) return;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    const response = await fetch(button.dataset.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: "{}",
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      alertNow((body.error && body.error.message) || gettext("The call could not be started; try again."));
      return;
    }
    // The card arrives with the message itself (message.new), like any message.
    announce(gettext("You started a video call."));
  } catch (error) {
    alertNow(gettext("The call could not be started; try again."));
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}
