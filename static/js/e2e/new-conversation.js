// "End-to-end encrypted" on the New message and New group pages: when it
// is ticked, the conversation is made through the API with
// ``encrypted: true`` (docs/api.md), this browser makes its device and the
// first key, and the page opens the conversation. Unticked, the forms post
// as they always did.

import { api } from "./api.js";
import { keyManager } from "./chat.js";
import { gettext, interpolate } from "../i18n.js";

const choice = document.getElementById("e2e-choice");
const error = document.getElementById("e2e-error");

async function create(body) {
  const conversation = await api("POST", "conversations/", { ...body, encrypted: true });
  const app = window.parley || { me: document.body.dataset.userId, conn: null };
  const keys = keyManager(app);
  try {
    const state = await keys.ensureDevice();
    if (state.device.status === "active") await keys.rotate(conversation.id);
  } catch (failure) {
    /* the conversation page says what is missing (a pending device) */
  }
  window.location.assign(`/c/${conversation.id}/`);
}

function wire(form, body) {
  form.addEventListener("submit", async (event) => {
    if (!choice || !choice.checked) return;
    event.preventDefault();
    const submit = event.submitter || form.querySelector("button[type=submit]");
    if (submit) submit.disabled = true;
    error.textContent = "";
    try {
      await create(body(form, event));
    } catch (failure) {
      error.textContent = interpolate(gettext("The encrypted conversation could not be made: %(reason)s"), {
        reason: failure.message,
      });
      if (submit) submit.disabled = false;
    }
  });
}

if (choice) {
  // Encryption needs this script: without it the choice stays hidden.
  choice.closest("[hidden]")?.removeAttribute("hidden");
  if (document.body.dataset.page === "new-group") {
    wire(document.getElementById("new-group-form"), (form) => ({
      type: "group",
      title: form.elements.title.value,
      participant_ids: [...form.querySelectorAll("input[name=user_ids]:checked")].map((input) => input.value),
    }));
  } else {
    // A person with a plain conversation already: ticked, "Message" makes
    // (or opens) the encrypted one instead of "Open".
    const toggle = () => {
      for (const form of document.querySelectorAll("form.e2e-only")) {
        form.hidden = !choice.checked;
        const open = form.nextElementSibling;
        if (open && open.tagName === "A") open.hidden = choice.checked;
      }
    };
    choice.addEventListener("change", toggle);
    toggle();
    for (const form of document.querySelectorAll("form.new-direct-form")) {
      wire(form, (f) => ({ type: "direct", participant_ids: [f.elements.user_id.value] }));
    }
  }
}
