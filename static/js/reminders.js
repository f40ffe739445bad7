// Reminders (docs/api.md, "Reminders and the calendar feed").
//
// On the conversation page (wireReminders, called by conversation.js): a
// "Remind me" quick action on every message that is not a system message,
// deleted or hidden; it opens a dialog with the presets (computed by the
// server on the browser's clock, whose zone is sent with them), a custom
// time (the browser's clock too), and an optional note, and POSTs
// /api/reminders/.
//
// On the Reminders page (/reminders/, body data-page="reminders"): the
// pending and fired reminders from GET /api/reminders/, each with Snooze
// (a preset), Cancel and a .ics download; the calendar feed's secret URL
// and a button that rotates it. A reminder firing (notification.new of
// kind "reminder") reloads the list.

import { addMessageDecorator, announce, el, formatFull, messageTools } from "./render.js";
import { api } from "./moderation.js";
import { focusLeftBehind } from "./dialogs.js";
import { gettext, interpolate, ngettext } from "./i18n.js";
import { browserZone, wallClock } from "./zones.js";

/** The presets the server knows, in the order it offers them; the labels
 * are looked up in the page's language when used. */
function presetLabels() {
  return {
    in_20_minutes: gettext("In 20 minutes"),
    in_1_hour: gettext("In 1 hour"),
    in_3_hours: gettext("In 3 hours"),
    tomorrow_9: gettext("Tomorrow at 9:00"),
    next_monday_9: gettext("Next Monday at 9:00"),
  };
}

class ReminderDialog {
  constructor() {
    this.opener = null;
    this.messageId = null;
    const presets = Object.entries(presetLabels()).map(([value, label], index) =>
      el("label", { class: "check" },
        el("input", { type: "radio", name: "when", value, checked: index === 1 }), ` ${label}`));
    this.custom = el("input", { type: "datetime-local", id: "reminder-custom-time", name: "custom_time", "aria-label": gettext("Date and time") });
    this.note = el("input", { type: "text", id: "reminder-note", name: "note", maxlength: "500", autocomplete: "off" });
    this.error = el("p", { class: "form-error", role: "alert" });
    this.form = el("form", { class: "stack", method: "dialog", novalidate: true },
      el("h2", { id: "reminder-title", text: gettext("Remind me about this message") }),
      el("fieldset", { class: "report-reasons" },
        el("legend", { text: gettext("When?") }),
        ...presets,
        el("label", { class: "check" },
          el("input", { type: "radio", name: "when", value: "custom" }), ` ${gettext("At a time I choose")}`),
        this.custom),
      el("label", { for: "reminder-note", text: gettext("Note (optional)") }),
      this.note,
      this.error,
      el("div", { class: "modal-actions" },
        el("button", { type: "button", class: "btn", dataset: { reminderClose: "1" }, text: gettext("Cancel") }),
        el("button", { type: "submit", class: "btn btn-primary", text: gettext("Set reminder") })));
    this.dialog = el("dialog", { class: "modal reminder-dialog", id: "reminder-dialog", "aria-labelledby": "reminder-title" }, this.form);
    document.body.append(this.dialog);
    this.custom.addEventListener("input", () => {
      this.form.querySelector("input[value=custom]").checked = true;
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.dialog.querySelector("[data-reminder-close]").addEventListener("click", () => this.dialog.close());
    this.dialog.addEventListener("close", () => {
      if (focusLeftBehind(this.dialog, this.opener)) this.opener?.focus();
    });
  }

  open(messageId, opener) {
    this.messageId = messageId;
    this.opener = opener;
    this.error.textContent = "";
    this.note.value = "";
    // The custom time's bounds, now to the most days ahead the server takes
    // (section#chat's data-reminder-max-days): the browser's picker keeps
    // to them and submit() words a refusal without the API's field names.
    const now = Date.now();
    this.maxDays = Number(document.getElementById("chat").dataset.reminderMaxDays);
    this.custom.min = wallClock(browserZone(), new Date(now));
    this.custom.max = wallClock(browserZone(), new Date(now + this.maxDays * 86400000));
    this.custom.value = wallClock(browserZone(), new Date(now + 60 * 60 * 1000));
    this.form.querySelector("input[value=in_1_hour]").checked = true;
    this.dialog.showModal();
  }

  async submit() {
    const when = this.form.querySelector("input[name=when]:checked")?.value;
    const body = { message_id: this.messageId, note: this.note.value };
    if (when === "custom") {
      const chosen = new Date(this.custom.value);
      if (!this.custom.value || Number.isNaN(chosen.getTime())) {
        this.error.textContent = gettext("Choose a date and time.");
        return;
      }
      if (chosen.getTime() <= Date.now()) {
        this.error.textContent = gettext("Choose a time to come.");
        return;
      }
      if (this.custom.value > this.custom.max) {
        this.error.textContent = interpolate(ngettext("Choose a time at most %(count)s day ahead.", "Choose a time at most %(count)s days ahead.", this.maxDays), { count: this.maxDays });
        return;
      }
      body.remind_at = chosen.toISOString();
    } else {
      // On the browser's clock, as the custom time (static/js/zones.js).
      body.preset = when;
      body.time_zone = browserZone();
    }
    try {
      const reminder = await api("/api/reminders/", { method: "POST", body });
      this.dialog.close();
      announce(interpolate(gettext("Reminder set for %(time)s."), { time: formatFull(new Date(reminder.remind_at)) }));
    } catch (error) {
      this.error.textContent = error.message;
    }
  }
}

let dialog = null;

/** Called once by ConversationView's constructor, after the other
 * decorators, so "Remind me" comes last among a message's quick actions. */
export function wireReminders() {
  addMessageDecorator((li, message, { gone }) => {
    if (gone || !message || message.message_type === "system" || message.hidden || message.deleted_at) return;
    const button = el("button", {
      type: "button",
      class: "tool-btn tool-remind",
      "aria-label": gettext("Remind me about this message"),
      title: gettext("Remind me"),
      text: gettext("Remind me"),
    });
    button.addEventListener("click", () => {
      dialog = dialog || new ReminderDialog();
      dialog.open(message.id, button);
    });
    messageTools(li).append(button);
  });
}

// --- The Reminders page ------------------------------------------------------------

class RemindersPage {
  constructor() {
    this.list = document.getElementById("reminders-list");
    this.empty = document.getElementById("reminders-empty");
    this.status = document.getElementById("reminders-status");
    this.feedUrl = document.getElementById("calendar-url");
    this.feedStatus = document.getElementById("calendar-status");
    document.getElementById("calendar-rotate").addEventListener("click", () => this.rotate());
    this.feedUrl.addEventListener("focus", () => this.feedUrl.select());
    this.list.addEventListener("click", (event) => this.onClick(event));
    const conn = window.parley && window.parley.conn;
    if (conn) {
      conn.on("notification.new", (frame) => {
        if (frame.notification && frame.notification.kind === "reminder") this.load();
      });
    }
    this.load();
    this.loadFeed();
  }

  async load() {
    try {
      const data = await api("/api/reminders/");
      this.list.replaceChildren(...data.reminders.map((r) => this.item(r)));
      this.empty.hidden = data.reminders.length > 0;
      this.status.textContent = "";
    } catch (error) {
      this.status.textContent = interpolate(gettext("Could not load your reminders: %(reason)s"), { reason: error.message });
    }
  }

  item(reminder) {
    const when = new Date(reminder.remind_at);
    const state = reminder.state === "fired" ? gettext("Fired") : gettext("Pending");
    const about = reminder.url
      ? el("a", { href: reminder.url, dir: "auto", class: "reminder-excerpt", text: reminder.excerpt || gettext("Open the message") })
      : el("span", { class: "muted", text: gettext("The message is no longer available to you.") });
    const select = el("select", { "aria-label": gettext("Snooze until") },
      ...Object.entries(presetLabels()).map(([value, label]) => el("option", { value, text: label })));
    return el("li", { class: `reminder-item ${reminder.state}`, dataset: { id: reminder.id } },
      el("p", { class: "reminder-when" },
        el("time", { datetime: reminder.remind_at, text: formatFull(when) }), " · ",
        el("span", { class: "reminder-state", text: state })),
      // A title or note in another script keeps its own order (bdi) but
      // lines up with the page: English under Arabic starts at the right.
      reminder.conversation_title ? el("p", { class: "muted" }, el("bdi", { text: reminder.conversation_title })) : null,
      el("p", {}, about),
      reminder.note ? el("p", { class: "reminder-note" }, el("bdi", { text: reminder.note })) : null,
      el("div", { class: "reminder-actions" },
        select,
        el("button", { type: "button", class: "btn btn-small", dataset: { snooze: "1" }, text: gettext("Snooze") }),
        el("button", { type: "button", class: "btn btn-small btn-ghost", dataset: { cancel: "1" }, text: gettext("Cancel reminder") }),
        el("a", { href: `/api/reminders/${reminder.id}/ics`, class: "btn btn-small btn-ghost", download: "", text: gettext("Add to calendar (.ics)") })));
  }

  async onClick(event) {
    const button = event.target.closest("button");
    const item = button && button.closest("li.reminder-item");
    if (!item) return;
    const id = item.dataset.id;
    button.disabled = true;
    try {
      if (button.dataset.snooze) {
        const preset = item.querySelector("select").value;
        const reminder = await api(`/api/reminders/${id}/`, { method: "PATCH", body: { preset, time_zone: browserZone() } });
        announce(interpolate(gettext("Snoozed until %(time)s."), { time: formatFull(new Date(reminder.remind_at)) }));
      } else if (button.dataset.cancel) {
        await api(`/api/reminders/${id}/`, { method: "DELETE" });
        announce(gettext("Reminder cancelled."));
      }
      await this.load();
    } catch (error) {
      button.disabled = false;
      this.status.textContent = error.message;
    }
  }

  async loadFeed() {
    try {
      this.feedUrl.value = (await api("/api/calendar/feed/")).url;
    } catch (error) {
      this.feedStatus.textContent = error.message;
    }
  }

  async rotate() {
    try {
      this.feedUrl.value = (await api("/api/calendar/feed/rotate/", { method: "POST" })).url;
      this.feedStatus.textContent = gettext("New address made. The old one no longer works.");
    } catch (error) {
      this.feedStatus.textContent = error.message;
    }
  }
}

if (document.body && document.body.dataset.page === "reminders") new RemindersPage();
