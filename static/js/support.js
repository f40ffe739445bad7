// A support conversation's banner (templates/support/_banner.html): the
// request's status, assignee, priority and times, kept current from
// `support.updated` frames (docs/protocol.md). Without JavaScript its forms
// post and come back; here they call the REST API
// (/api/support/requests/{id}/…, docs/api.md) and the banner changes in
// place. A status change is announced in the page's polite live region.

import { formatNumber, gettext, interpolate, ngettext } from "./i18n.js";
import { categoryName, supportLabel } from "./notices.js";
import { announce } from "./render.js";

const FINISHED = new Set(["resolved", "closed"]);

/** What the button moving a request from `current` to `target` says
 * (the same words as messaging/support/views.py's status_action_label). */
function statusActionLabel(target, current) {
  if (target === "open") return current === "pending" ? gettext("Mark open") : gettext("Reopen");
  if (target === "pending") return gettext("Mark pending");
  if (target === "resolved") return gettext("Mark resolved");
  return gettext("Close");
}

/** "3 hours": `count` of one of after()'s units, in the page's language. */
function duration(unit, count) {
  const words = {
    week: ngettext("%(count)s week", "%(count)s weeks", count),
    day: ngettext("%(count)s day", "%(count)s days", count),
    hour: ngettext("%(count)s hour", "%(count)s hours", count),
    minute: ngettext("%(count)s minute", "%(count)s minutes", count),
  };
  return interpolate(words[unit], { count: formatNumber(count) });
}

/** "after 2 hours, 5 minutes": the time between two ISO instants in its two
 * largest adjacent units, as Django's timesince words it on the server (which
 * also counts months and years; a request is rarely that slow). */
function after(fromIso, toIso) {
  const minutes = Math.max(0, Math.floor((new Date(toIso) - new Date(fromIso)) / 60000));
  const units = [
    ["week", Math.floor(minutes / 10080)], ["day", Math.floor(minutes / 1440) % 7],
    ["hour", Math.floor(minutes / 60) % 24], ["minute", minutes % 60],
  ];
  const first = units.findIndex(([, count]) => count > 0);
  const phrase = (text) => interpolate(gettext("after %(duration)s"), { duration: text });
  if (first === -1) return gettext("within a minute");
  const larger = duration(...units[first]);
  const next = units[first + 1];
  if (!next || next[1] === 0) return phrase(larger);
  return phrase(interpolate(gettext("%(larger)s, %(smaller)s"), { larger, smaller: duration(...next) }));
}

export class SupportBanner {
  /** `view` is the page's ConversationView; `support` the request's payload
   * with `allowed_statuses` (the page data). */
  constructor(view, support) {
    this.conn = view.conn;
    this.me = view.me;
    this.node = document.getElementById("support-banner");
    this.support = support;
    this.allowed = support.allowed_statuses || [];
    this.url = `/api/support/requests/${support.id}/`;
    this.fetches = 0; // only the newest answer is applied
    if (!this.node) return;
    this.csrf = this.node.querySelector("input[name='csrfmiddlewaretoken']")?.value || "";
    this.conn.on("support.updated", (frame) => {
      if (frame.support && frame.support.id === this.support.id) {
        this.show(frame.support);
        // Frames do not carry what this person may do next; the API says.
        this.refresh();
      }
    });
    // Frames sent before the socket joined (the page was rendered earlier)
    // or while it was down are not replayed: ask for the request instead.
    this.conn.on("hello", () => this.refresh());
    if (this.conn.ready) this.refresh();
    for (const form of this.node.querySelectorAll("form[data-api]")) {
      form.addEventListener("submit", (event) => this.submit(event, form));
    }
  }

  async refresh() {
    const mine = ++this.fetches;
    try {
      const response = await fetch(this.url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return;
      const support = await response.json();
      if (mine === this.fetches) this.show(support);
    } catch {
      /* offline: the next hello asks again */
    }
  }

  /** The form's API call; its answer (the request) updates the banner. */
  async submit(event, form) {
    const kind = form.dataset.api;
    let body;
    if (kind === "status") {
      if (!event.submitter) return;
      body = { status: event.submitter.value };
    } else if (kind === "assign") {
      body = { assignee_id: form.elements.assignee_id.value || null };
    } else if (kind === "priority") {
      body = { priority: form.elements.priority.value };
    } else if (kind === "rating") {
      body = { satisfied: form.elements.satisfied.value === "yes", comment: form.elements.comment.value };
    } else {
      return;
    }
    event.preventDefault();
    const error = this.node.querySelector(kind === "rating" ? "#support-rating-error" : "#support-error");
    error.textContent = "";
    const mine = ++this.fetches;
    try {
      const response = await fetch(`${this.url}${kind}/`, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": this.csrf, "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(body),
      });
      const answer = await response.json().catch(() => null);
      if (!response.ok) {
        error.textContent = answer?.error?.message
          || interpolate(gettext("That did not work (HTTP %(status)s); try again."), { status: response.status });
        this.refresh();
        return;
      }
      if (mine === this.fetches) this.show(answer);
    } catch {
      error.textContent = gettext("Could not reach the server; try again.");
    }
  }

  /** The control the keyboard was on may be hidden now (Mark resolved once
   * pressed, the rating form once sent): it goes to its form's first button
   * still shown, else to the request's status, not to the page's top. */
  _keepFocus(focused) {
    const shown = (node) => node.isConnected && !node.hidden && !node.closest("[hidden]");
    if (!focused || shown(focused)) return;
    const form = focused.closest("form");
    const next = form ? [...form.querySelectorAll("button")].find(shown) : null;
    const status = this.node.querySelector("#support-status");
    if (!next) status.tabIndex = -1;
    (next || status).focus();
  }

  /** Show `support` (a payload); `allowed_statuses` when it has them. */
  show(support) {
    const before = this.support;
    this.support = support;
    if (Array.isArray(support.allowed_statuses)) this.allowed = support.allowed_statuses;
    const node = this.node;
    const status = node.querySelector("#support-status");
    status.textContent = supportLabel("status", support.status);
    status.dataset.status = support.status;
    node.dataset.status = support.status;
    node.querySelector("#support-overdue").hidden = !support.overdue;
    const assignee = support.assignee ? support.assignee.display_name : gettext("Unassigned");
    node.querySelector("#support-assignee").textContent = assignee;
    const priority = node.querySelector("#support-priority");
    priority.textContent = supportLabel("priority", support.priority);
    priority.dataset.priority = support.priority;
    // The frame has the stored name: worded again only when the category
    // itself changed (a default one in the page's language).
    const category = node.querySelector("#support-category");
    if (category.dataset.category !== support.category.slug) {
      category.textContent = categoryName(support.category.name);
      category.dataset.category = support.category.slug;
    }
    node.querySelector("#support-first-response").textContent = support.first_response_at
      ? after(support.created_at, support.first_response_at) : gettext("Not yet");
    node.querySelector("#support-resolution").textContent = support.resolved_at
      ? after(support.created_at, support.resolved_at) : gettext("Not yet");
    this._controls(support);
    // The inbox's row follows the same frame (inbox.js).
    if (before.status !== support.status) {
      const status = supportLabel("status", support.status);
      announce(interpolate(gettext("Support request status: %(status)s"), { status }));
    }
    if ((before.assignee?.id || null) !== (support.assignee?.id || null)) announce(assignee);
  }

  _controls(support) {
    const node = this.node;
    const focused = node.contains(document.activeElement) ? document.activeElement : null;
    const statusForm = node.querySelector("#support-status-form");
    statusForm.hidden = this.allowed.length === 0;
    for (const button of statusForm.querySelectorAll("button[data-status-target]")) {
      const target = button.dataset.statusTarget;
      button.hidden = !this.allowed.includes(target);
      button.textContent = statusActionLabel(target, support.status);
    }
    const assignMe = node.querySelector("#support-assign-me");
    if (assignMe) assignMe.hidden = support.assignee?.id === this.me;
    const assigneeSelect = node.querySelector("#support-assignee-select");
    if (assigneeSelect) assigneeSelect.value = support.assignee?.id || "";
    const prioritySelect = node.querySelector("#support-priority-select");
    if (prioritySelect) prioritySelect.value = support.priority;
    const rated = node.querySelector("#support-rating");
    if (rated) {
      rated.hidden = !support.rating;
      if (support.rating) {
        node.querySelector("#support-rating-verdict").textContent = support.rating.satisfied ? gettext("Satisfied") : gettext("Not satisfied");
        const comment = support.rating.comment;
        node.querySelector("#support-rating-comment").textContent = comment
          ? ` · ${interpolate(gettext("“%(comment)s”"), { comment })}` : "";
      }
    }
    const ratingForm = node.querySelector("#support-rating-form");
    // The requester rates once, after it was resolved or closed (the policy's rule).
    if (ratingForm) ratingForm.hidden = !(FINISHED.has(support.status) && !support.rating);
    this._keepFocus(focused);
  }
}
