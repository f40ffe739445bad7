// The composer's files: each file chosen (the Attach button, a drop onto
// the conversation, an image pasted) uploads at once with XHR, so its
// progress shows, and becomes an unsent attachment on the server
// (docs/api.md, Uploading). The next send lists the uploaded ones' ids; their
// chips stay, marked as sending, until that message is acknowledged.

import { announce, el, formatSize } from "./render.js";
import { alertNow } from "./announce.js";
import { formatNumber, gettext, interpolate, ngettext } from "./i18n.js";

// Words for the refusals of docs/api.md, used when the server's own message
// is missing (a proxy's 413 page, a dropped connection); looked up when
// used, in the page's language.
function errorWords(code) {
  return {
    file_too_large: gettext("This file is larger than the upload limit."),
    too_large: gettext("This file is larger than the upload limit."),
    unsupported_file: gettext("Files of this type cannot be sent."),
    empty_file: gettext("This file is empty."),
    damaged_file: gettext("This file is damaged or incomplete."),
    image_too_large: gettext("This image has too many pixels."),
    too_many_files: gettext("Too many files for one message."),
    upload_quota: gettext("You have reached today's upload limit. Try again tomorrow."),
    rate_limited: gettext("Too many uploads at once. Wait a moment and try again."),
    not_found: gettext("This conversation is not available."),
    forbidden: gettext("You may not send files here."),
  }[code];
}
const STATUS_CODES = { 413: "file_too_large", 415: "unsupported_file", 429: "upload_quota" };

function statusWords(status) {
  if (status === 422) return gettext("This file was refused.");
  return STATUS_CODES[status] ? errorWords(STATUS_CODES[status]) : null;
}

export function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  if (match) return decodeURIComponent(match[1]);
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  return input ? input.value : "";
}

/** ``{code, message}`` of a refused upload, from the API's error body. */
function refusal(xhr) {
  let code = "";
  let message = "";
  try {
    const body = JSON.parse(xhr.responseText);
    code = body?.error?.code || "";
    message = body?.error?.message || "";
  } catch (error) {
    /* not JSON: a proxy's page */
  }
  return {
    code: code || String(xhr.status),
    message: message || errorWords(code) || statusWords(xhr.status)
      || interpolate(gettext("The upload failed (HTTP %(status)s)."), { status: xhr.status }),
  };
}

/** Take back an unsent upload (DELETE). The purge removes unsent uploads
 * after a day anyway, so a failure changes nothing the person sees. */
export function discardUpload(id) {
  fetch(`/api/attachments/${encodeURIComponent(id)}/`, {
    method: "DELETE",
    credentials: "same-origin",
    headers: { Accept: "application/json", "X-CSRFToken": csrfToken() },
  }).catch(() => {});
}

let counter = 0;

/**
 * The files of the next message. ``items`` hold one entry per file:
 * ``state`` is uploading, done, failed or sending (listed by a send not
 * yet acknowledged: ``clientId`` says which).
 */
export class UploadTray extends EventTarget {
  /** ``seal``: in an end-to-end encrypted conversation, an async function
   * that encrypts a file's bytes ({blob, entry}); the blob is uploaded as
   * opaque bytes (``encrypted=true``) and ``entry`` (name, type, key…) is
   * kept with the upload for the message's payload. */
  constructor({ conversationId, list, status, seal = null }) {
    super();
    this.conversationId = conversationId;
    this.seal = seal;
    this.list = list;
    this.status = status;
    this.items = [];
    this.list.addEventListener("click", (event) => {
      const button = event.target.closest("button[data-upload-action]");
      const row = button && button.closest("li[data-key]");
      if (row) this.cancel(row.dataset.key);
    });
  }

  /** Upload each of ``files`` at once. */
  add(files) {
    for (const file of files) {
      counter += 1;
      const item = { key: `u${counter}`, file, state: "uploading", loaded: 0, attachment: null, error: null, xhr: null };
      this.items.push(item);
      this._upload(item);
    }
    this._changed();
  }

  async _upload(item) {
    let body = item.file;
    let name = item.file.name || "pasted-file";
    if (this.seal) {
      try {
        const sealed = await this.seal(item.file);
        body = sealed.blob;
        name = "encrypted.bin";
        item.sealed = sealed.entry;
      } catch (error) {
        item.state = "failed";
        item.error = { code: "encrypt_failed", message: gettext("This file could not be encrypted.") };
        this._changed();
        this._tell(item);
        return;
      }
      if (!this.items.includes(item)) return; // cancelled meanwhile
    }
    const xhr = new XMLHttpRequest();
    item.xhr = xhr;
    xhr.open("POST", `/api/conversations/${this.conversationId}/attachments/`);
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.responseType = "text";
    xhr.upload.addEventListener("progress", (event) => {
      item.loaded = event.loaded;
      item.total = event.lengthComputable ? event.total : item.file.size;
      item.progressEvents = (item.progressEvents || 0) + 1;
      this._renderProgress(item);
    });
    xhr.addEventListener("load", () => {
      item.xhr = null;
      if (xhr.status === 201) {
        try {
          item.attachment = JSON.parse(xhr.responseText);
          item.state = "done";
        } catch (error) {
          item.state = "failed";
          item.error = { code: "bad_response", message: gettext("The server's answer could not be read.") };
        }
      } else {
        item.state = "failed";
        item.error = refusal(xhr);
      }
      this._changed();
      this._tell(item);
    });
    xhr.addEventListener("error", () => {
      item.xhr = null;
      item.state = "failed";
      item.error = {
        code: "network", message: gettext("The upload was interrupted: check your connection and try again."),
      };
      this._changed();
      this._tell(item);
    });
    const form = new FormData();
    form.append("file", body, name);
    if (this.seal) form.append("encrypted", "true");
    xhr.send(form);
  }

  /** Stop an upload, or take back a finished one (DELETE on the server). */
  cancel(key) {
    const item = this.items.find((i) => i.key === key);
    if (!item || item.state === "sending") return;
    if (item.xhr) item.xhr.abort();
    if (item.state === "done" && item.attachment) discardUpload(item.attachment.id);
    const index = this.items.indexOf(item);
    this.items = this.items.filter((i) => i !== item);
    this._changed();
    announce(interpolate(gettext("%(name)s removed."), { name: this._name(item) }));
    // Focus stays in the tray on the next file's button, else goes back to
    // the message box, rather than to the page's start with the removed row.
    const next = this.list.querySelectorAll("button[data-upload-action]")[Math.min(index, this.items.length - 1)];
    (next || this.list.closest("form")?.querySelector("textarea"))?.focus();
  }

  /** An upload ended: said politely when it is ready, at once when refused. */
  _tell(item) {
    const name = this._name(item);
    if (item.state === "done") announce(interpolate(gettext("%(name)s uploaded, ready to send."), { name }));
    else if (item.state === "failed") {
      alertNow(interpolate(gettext("%(name)s not uploaded: %(reason)s"), { name, reason: item.error.message }));
    }
  }

  _name(item) {
    return item.file.name || gettext("Pasted file");
  }

  uploading() {
    return this.items.some((i) => i.state === "uploading");
  }

  /** The uploads ready for the next message. */
  ready() {
    return this.items.filter((i) => i.state === "done");
  }

  /** The ready uploads now belong to the send ``clientId``. */
  claim(clientId) {
    const claimed = this.ready();
    for (const item of claimed) {
      item.state = "sending";
      item.clientId = clientId;
    }
    // A refused file's chip has said why; it is not part of what was sent.
    this.items = this.items.filter((i) => i.state !== "failed");
    this._changed();
    return claimed;
  }

  /** Clear the chips of sends that are no longer waiting (``waiting(clientId)``
   * false: acknowledged, or discarded from the outbox). */
  settle(waiting) {
    const before = this.items.length;
    this.items = this.items.filter((i) => i.state !== "sending" || waiting(i.clientId));
    if (this.items.length !== before) this._changed();
  }

  _say(text) {
    this.status.textContent = text;
  }

  _changed() {
    this.render();
    this.dispatchEvent(new CustomEvent("change"));
  }

  render() {
    const uploading = this.items.filter((i) => i.state === "uploading").length;
    this._say(uploading === 0 ? "" : interpolate(
      ngettext("Uploading %(count)s file…", "Uploading %(count)s files…", uploading),
      { count: formatNumber(uploading) },
    ));
    // The rows are drawn again: a focused Cancel becomes the same row's
    // Remove, so the keyboard stays where it was.
    const focusedKey = document.activeElement?.closest?.("li[data-key]")?.dataset.key;
    this.list.hidden = this.items.length === 0;
    this.list.replaceChildren(...this.items.map((item) => this._row(item)));
    if (focusedKey) this.list.querySelector(`li[data-key="${focusedKey}"] button`)?.focus();
  }

  _row(item) {
    const name = this._name(item);
    const id = `upload-${item.key}`;
    const row = el("li", {
      class: `upload upload-${item.state}`,
      dataset: {
        key: item.key,
        state: item.state,
        attachmentId: item.attachment ? item.attachment.id : "",
        progressEvents: String(item.progressEvents || 0),
      },
    });
    row.append(el("span", { class: "upload-name", id: `${id}-name`, text: name }),
      el("span", { class: "upload-size", text: formatSize(item.file.size) }));
    const progress = el("progress", {
      class: "upload-progress",
      max: String(item.file.size || 1),
      "aria-label": interpolate(gettext("Upload of %(name)s"), { name }),
    });
    progress.value = item.state === "uploading" ? item.loaded : item.file.size || 1;
    const words = {
      uploading: gettext("Uploading…"),
      done: gettext("Ready to send"),
      sending: gettext("Sending…"),
      failed: gettext("Not uploaded"),
    }[item.state];
    row.append(el("span", { class: "upload-state", text: words }));
    if (item.state === "sending") row.append(el("span"));
    else {
      row.append(el("button", {
        type: "button",
        class: "link-btn upload-cancel",
        dataset: { uploadAction: "cancel" },
        "aria-label": interpolate(item.state === "uploading" ? gettext("Cancel %(name)s") : gettext("Remove %(name)s"), {
          name,
        }),
        text: item.state === "uploading" ? gettext("Cancel") : gettext("Remove"),
      }));
    }
    row.append(progress);
    if (item.state === "failed") {
      // Said once, when it failed (_tell); the row is drawn again on every change.
      row.append(el("span", { class: "upload-error", dataset: { code: item.error.code }, text: item.error.message }));
    }
    return row;
  }

  _renderProgress(item) {
    const row = this.list.querySelector(`li[data-key="${item.key}"]`);
    const progress = row && row.querySelector("progress");
    if (!progress) return;
    progress.max = item.total || item.file.size || 1;
    progress.value = item.loaded;
    row.dataset.progressEvents = String(item.progressEvents);
  }
}

/** Files dragged over ``target`` show ``zone``; dropped, they go to ``onFiles``. */
export function wireDrop(target, zone, onFiles) {
  let depth = 0;
  const carriesFiles = (event) => [...(event.dataTransfer?.types || [])].includes("Files");
  const hide = () => {
    depth = 0;
    zone.hidden = true;
    target.classList.remove("dragging");
  };
  target.addEventListener("dragenter", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    depth += 1;
    zone.hidden = false;
    target.classList.add("dragging");
  });
  target.addEventListener("dragover", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  target.addEventListener("dragleave", () => {
    depth -= 1;
    if (depth <= 0) hide();
  });
  target.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    hide();
    const files = [...event.dataTransfer.files];
    if (files.length) onFiles(files);
  });
}

/** A name for a pasted image: browsers call every one "image.png". */
function pastedName(file) {
  if (file.name && file.name !== "image.png") return file;
  const stamp = new Date().toISOString().slice(0, 19).replace(/[:T]/g, "-");
  const extension = (file.type.split("/")[1] || "png").replace(/[^a-z0-9]/g, "") || "png";
  return new File([file], `pasted-image-${stamp}.${extension}`, { type: file.type });
}

/** Files pasted into ``input`` (an image from the clipboard) go to ``onFiles``;
 * pasted text is left to the text box. */
export function wirePaste(input, onFiles) {
  input.addEventListener("paste", (event) => {
    const files = [...(event.clipboardData?.files || [])];
    if (!files.length) return;
    event.preventDefault();
    onFiles(files.map(pastedName));
  });
}
