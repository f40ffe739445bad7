// Messages written but not yet acknowledged, kept in localStorage so they
// survive a reload or a closed tab. Keyed by client_id, which the server
// uses to store each message exactly once however often it is sent.

export function newClientId() {
  if (window.crypto && typeof window.crypto.randomUUID === "function") {
    return window.crypto.randomUUID();
  }
  // Outside a secure context randomUUID is missing; build a v4 UUID by hand.
  const bytes = window.crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 0x0f) | 0x40;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export class Outbox extends EventTarget {
  constructor(userId) {
    super();
    this.key = `parley.outbox.${userId}`;
    this.items = this._load();
    // Another tab of the same user changed the outbox.
    window.addEventListener("storage", (event) => {
      if (event.key !== this.key) return;
      this.items = this._load();
      this._changed();
    });
  }

  _load() {
    try {
      const items = JSON.parse(window.localStorage.getItem(this.key) || "[]");
      return Array.isArray(items) ? items : [];
    } catch (error) {
      return [];
    }
  }

  _save() {
    try {
      window.localStorage.setItem(this.key, JSON.stringify(this.items));
    } catch (error) {
      /* storage full or disabled: the outbox still works for this page */
    }
    this._changed();
  }

  _changed() {
    this.dispatchEvent(new CustomEvent("change"));
  }

  all() {
    return [...this.items].sort((a, b) => a.created_at - b.created_at);
  }

  get(clientId) {
    return this.items.find((item) => item.client_id === clientId) || null;
  }

  forConversation(conversationId) {
    return this.all().filter((item) => item.conversation_id === conversationId);
  }

  /**
   * A new message to send. ``attachments``: the ids of its uploaded files,
   * kept with it so every resend lists the same ones; ``files``: their name,
   * size and kind, for showing it while it waits. ``reply_to_id``: the
   * message it quotes; ``parent_id``: the root of the thread it replies in,
   * and ``also_to_conversation``: whether it shows in the main stream too.
   * ``e2e``: in an end-to-end encrypted conversation, the encrypted message
   * sent instead of ``content`` (which is kept for showing and for
   * encrypting again under a newer key); it binds ``clientId``, made first.
   */
  add(conversationId, content, {
    attachments = [], files = [], replyToId = null, parentId = null, alsoToConversation = false,
    clientId = null, e2e = null, sealedFiles = null,
  } = {}) {
    const item = {
      client_id: clientId || newClientId(),
      e2e,
      sealed_files: sealedFiles,
      conversation_id: conversationId,
      content,
      attachments,
      files,
      reply_to_id: replyToId,
      parent_id: parentId,
      also_to_conversation: !!(parentId && alsoToConversation),
      created_at: Date.now(),
      state: "pending",
      error: "",
    };
    this.items.push(item);
    this._save();
    return item;
  }

  update(clientId, patch) {
    this.items = this._load();
    const item = this.items.find((i) => i.client_id === clientId);
    if (!item) return;
    Object.assign(item, patch);
    this._save();
  }

  remove(clientId) {
    this.items = this._load();
    const before = this.items.length;
    this.items = this.items.filter((item) => item.client_id !== clientId);
    if (this.items.length !== before) this._save();
  }
}
