// The profile page's "Blocked people": the people I blocked
// (GET /api/blocks/), each with an Unblock button (DELETE /api/blocks/<id>/).

import { gettext, interpolate } from "./i18n.js";
import { api } from "./moderation.js";
import { el, initials } from "./render.js";

const section = document.getElementById("blocked-people");
const list = document.getElementById("blocked-list");
const empty = document.getElementById("blocked-empty");
const error = document.getElementById("blocked-error");
const ROLE_NAMES = { student: gettext("Student"), mentor: gettext("Mentor"), admin: gettext("Administrator") };

function row(block) {
  const person = block.user;
  const button = el("button", {
    type: "button",
    class: "btn btn-small",
    dataset: { userId: person.id },
    "aria-label": interpolate(gettext("Unblock %(name)s"), { name: person.display_name }),
    text: gettext("Unblock"),
  });
  button.addEventListener("click", async () => {
    button.disabled = true;
    error.textContent = "";
    try {
      await api(`/api/blocks/${encodeURIComponent(person.id)}/`, { method: "DELETE" });
      const item = button.closest("li");
      const next = item.nextElementSibling || item.previousElementSibling;
      item.remove();
      empty.hidden = list.childElementCount > 0;
      (next?.querySelector("button") || section).focus?.();
    } catch (failure) {
      error.textContent = failure.message;
      button.disabled = false;
    }
  });
  return el("li", { dataset: { userId: person.id } },
    el("span", { class: "avatar avatar-sm", "aria-hidden": "true", text: initials(person.display_name) }),
    el("span", { class: "blocked-name", dir: "auto", text: person.display_name }),
    el("span", { class: `role-badge role-${person.role}`, text: ROLE_NAMES[person.role] || person.role }),
    button);
}

async function load() {
  try {
    const data = await api("/api/blocks/");
    list.replaceChildren(...data.blocks.map(row));
    empty.hidden = data.blocks.length > 0;
  } catch (failure) {
    error.textContent = interpolate(gettext("The list could not be loaded: %(reason)s"), { reason: failure.message });
  } finally {
    section.setAttribute("aria-busy", "false");
  }
}

if (section) load();
