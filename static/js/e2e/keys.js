// The key manager: this browser's device (made and registered on first
// use), the conversation keys it can open (fetched as envelopes addressed
// to it, checked, unwrapped, and kept in memory only), rotations (a new key
// version wrapped for every active device of every member, when the server
// says one is required), and the approval of this person's other devices.
// docs/e2e.md is the scheme; docs/api.md ("End-to-end encryption") the API.

import * as scheme from "./crypto.js";
import { api, ApiError } from "./api.js";
import { loadDevice, saveDevice, forgetDevice } from "./store.js";

const ROTATION_ATTEMPTS = 4;

/** A short name for this browser, as the Devices page lists it. */
export function browserName() {
  const agent = navigator.userAgent;
  const browser = /Edg\//.test(agent) ? "Edge" : /Firefox\//.test(agent) ? "Firefox"
    : /Chrom(e|ium)\//.test(agent) ? "Chrome" : /Safari\//.test(agent) ? "Safari" : "Browser";
  const system = /Android/.test(agent) ? "Android" : /iPhone|iPad/.test(agent) ? "iOS"
    : /Windows/.test(agent) ? "Windows" : /Mac OS X/.test(agent) ? "macOS" : /Linux/.test(agent) ? "Linux" : "";
  return system ? `${browser} · ${system}` : browser;
}

export class KeyManager extends EventTarget {
  constructor({ me, conn = null }) {
    super();
    this.me = me;
    this.conn = conn;
    this.localPromise = null;
    this.keys = new Map(); // "conversation:version" -> AES CryptoKey (null: none for us)
    this.envelopeLoads = new Map(); // conversation -> Promise of its envelopes, by version
    this.states = new Map(); // conversation -> Promise of GET e2e/conversations/{id}/
    this.rotations = new Map(); // conversation -> Promise of a rotation under way
    this.serverDevice = null;
    if (conn) this._listen(conn);
  }

  _emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  _listen(conn) {
    conn.on("e2e.rekey", (frame) => {
      this.states.delete(frame.conversation_id);
      this._emit("rekey", frame);
    });
    conn.on("e2e.key", (frame) => {
      this.states.delete(frame.conversation_id);
      this.envelopeLoads.delete(frame.conversation_id);
      this._emit("key", frame);
    });
    conn.on("e2e.devices", (frame) => {
      // Every conversation's member list may carry other devices now.
      this.states.clear();
      if (frame.user_id === this.me) {
        this.serverDevice = null;
        this.envelopeLoads.clear();
        for (const [id, key] of this.keys) if (key === null) this.keys.delete(id);
      }
      this._emit("devices", frame);
    });
  }

  // --- This browser's device ----------------------------------------------------

  /** This browser's stored device, or null. */
  local() {
    if (!this.localPromise) this.localPromise = loadDevice(this.me);
    return this.localPromise;
  }

  /** My devices as the server lists them, newest first. */
  async myDevices() {
    return (await api("GET", "e2e/devices/")).devices || [];
  }

  /**
   * {local, device}: this browser's device and its server record (status
   * pending, active or revoked), or {local: null, device: null} when this
   * browser has none yet (or the server forgot it).
   */
  async deviceState({ fresh = false } = {}) {
    const local = await this.local();
    if (!local) return { local: null, device: null };
    if (!this.serverDevice || fresh) {
      const devices = await this.myDevices();
      this.serverDevice = devices.find((d) => d.id === local.device_id) || null;
    }
    return { local, device: this.serverDevice };
  }

  /**
   * This browser's device, made and registered when it has none (or its
   * old one was revoked): active at once when it is the person's first,
   * pending (waiting for approval) otherwise. Returns deviceState().
   */
  async ensureDevice() {
    const state = await this.deviceState({ fresh: true });
    if (state.device && state.device.status !== "revoked") return state;
    if (state.local) await forgetDevice(this.me);
    this.localPromise = null;
    const devices = await this.myDevices();
    const keys = await scheme.makeDeviceKeys();
    const id = window.crypto.randomUUID();
    const body = {
      id, name: browserName(), kind: "browser", ecdh_public: keys.ecdhPublic, signing_public: keys.signingPublic,
    };
    if (!devices.some((d) => d.status === "active")) {
      // The person's first device signs its own statement.
      body.approval = { signer_device_id: id, signature: await scheme.sign(keys.signingPrivate, this.statement(body)) };
    }
    const device = await api("POST", "e2e/devices/", body);
    await saveDevice({
      user_id: this.me, device_id: id, name: body.name, ecdhPrivate: keys.ecdhPrivate,
      signingPrivate: keys.signingPrivate, ecdhPublic: keys.ecdhPublic, signingPublic: keys.signingPublic,
    });
    this.localPromise = null;
    this.serverDevice = device;
    this._emit("device", { device });
    return { local: await this.local(), device };
  }

  /** The device statement of ``device`` (an API device object or a body). */
  statement(device, userId = this.me) {
    return scheme.deviceStatement({
      userId, deviceId: device.id, ecdhPublic: device.ecdh_public, signingPublic: device.signing_public,
    });
  }

  /** The approval code of ``device`` ("042 917"). */
  approvalCode(device, userId = this.me) {
    return scheme.approvalCode(this.statement(device, userId));
  }

  async _activeLocal() {
    const { local, device } = await this.deviceState();
    if (!local || !device || device.status !== "active") throw new scheme.E2EError("no_active_device");
    return local;
  }

  /**
   * Approve my pending ``device`` with ``signer`` ({device_id, ecdhPrivate,
   * signingPrivate}: this browser's device, or the recovery device's keys):
   * sign its statement and re-wrap for it every key ``signer`` can open.
   */
  async approve(device, signer = null) {
    const by = signer || await this._activeLocal();
    const signature = await scheme.sign(by.signingPrivate, this.statement(device));
    const envelopes = [];
    const mine = (await api("GET", `e2e/envelopes/?device_id=${encodeURIComponent(by.device_id)}`)).envelopes || [];
    const signers = new Map();
    for (const envelope of mine) {
      let raw;
      try {
        raw = await this._unwrap(envelope, by, signers);
      } catch (error) {
        continue; // an envelope that does not check is not passed on
      }
      envelopes.push(await scheme.wrapEnvelope({
        conversationId: envelope.conversation_id, keyVersion: envelope.key_version, keyBytes: raw,
        recipient: device, signer: { deviceId: by.device_id, signingPrivate: by.signingPrivate },
      }));
    }
    return api("POST", `e2e/devices/${encodeURIComponent(device.id)}/approve/`, {
      signer_device_id: by.device_id, signature, envelopes,
    });
  }

  // --- Conversation keys --------------------------------------------------------

  /** GET e2e/conversations/{id}/: key_version, rotation_required, members
   * with their active devices. */
  conversationState(conversationId, { fresh = false } = {}) {
    if (fresh || !this.states.has(conversationId)) {
      const loading = api("GET", `e2e/conversations/${encodeURIComponent(conversationId)}/`);
      loading.catch(() => this.states.delete(conversationId));
      this.states.set(conversationId, loading);
    }
    return this.states.get(conversationId);
  }

  /**
   * Check ``envelope`` (addressed to ``recipient``) and open it: its
   * signature by its signer's signing key, and its signer a member of the
   * conversation (or me). The API lists current members only: a key older
   * than the current one may have been made by someone who has left since
   * (the server took it only from a member then), so the membership is
   * required of the current version's signer. ``members`` caches the
   * member list per conversation.
   */
  async _unwrap(envelope, recipient, members = new Map()) {
    if (envelope.signer_user_id !== this.me) {
      if (!members.has(envelope.conversation_id)) {
        const state = await this.conversationState(envelope.conversation_id);
        members.set(envelope.conversation_id, { list: state.members || [], version: state.key_version });
      }
      const { list, version } = members.get(envelope.conversation_id);
      const member = list.find((m) => m.user_id === envelope.signer_user_id);
      if (!member && Number(envelope.key_version) >= Number(version)) throw new scheme.E2EError("signer_not_member");
      // A signer device the member list shows must carry the same key.
      const listed = ((member && member.devices) || []).find((d) => d.id === envelope.signer_device_id);
      if (listed && listed.signing_public !== envelope.signer_signing_public) throw new scheme.E2EError("signer_mismatch");
    }
    return scheme.unwrapEnvelope(envelope, {
      ecdhPrivate: recipient.ecdhPrivate,
      signingPublic: envelope.signer_signing_public,
      expect: {
        conversationId: envelope.conversation_id, keyVersion: envelope.key_version, deviceId: recipient.device_id,
      },
    });
  }

  _envelopes(conversationId, local) {
    if (!this.envelopeLoads.has(conversationId)) {
      const path = `e2e/envelopes/?device_id=${encodeURIComponent(local.device_id)}`
        + `&conversation_id=${encodeURIComponent(conversationId)}`;
      const loading = api("GET", path).then((data) => {
        const byVersion = new Map();
        for (const envelope of data.envelopes || []) {
          if (envelope.conversation_id === conversationId) byVersion.set(Number(envelope.key_version), envelope);
        }
        return byVersion;
      });
      loading.catch(() => this.envelopeLoads.delete(conversationId));
      this.envelopeLoads.set(conversationId, loading);
    }
    return this.envelopeLoads.get(conversationId);
  }

  /**
   * The AES key of ``version`` in ``conversationId`` for this browser, or
   * null when there is no envelope for it (sent before I joined, or before
   * this browser was approved) or its envelope does not check.
   */
  async keyFor(conversationId, version) {
    const id = `${conversationId}:${version}`;
    if (this.keys.has(id)) return this.keys.get(id);
    const local = await this.local();
    if (!local) return null;
    const envelope = (await this._envelopes(conversationId, local)).get(Number(version));
    let key = null;
    if (envelope) {
      try {
        key = await scheme.aesKey(await this._unwrap(envelope, local));
      } catch (error) {
        key = null;
      }
    }
    // A missing envelope may come with the next e2e.key: not remembered.
    if (key || envelope) this.keys.set(id, key);
    return key;
  }

  /** Whether this browser holds an envelope for ``version`` at all. */
  async hasEnvelope(conversationId, version) {
    const local = await this.local();
    if (!local) return false;
    return (await this._envelopes(conversationId, local)).has(Number(version));
  }

  /**
   * {version, key} to encrypt with now: the current version, made first
   * when a rotation is required. Throws E2EError("no_key") when this
   * browser has no envelope for it (not approved yet).
   */
  async current(conversationId) {
    let state = await this.conversationState(conversationId);
    if (state.rotation_required || !state.key_version) {
      await this.rotate(conversationId);
      state = await this.conversationState(conversationId);
    }
    let key = await this.keyFor(conversationId, state.key_version);
    if (!key) {
      // No envelope of the current version for this browser: its person's
      // first device came after the key was made. An active device makes
      // the next version, for everyone's devices including itself.
      await this._activeLocal();
      await this.rotate(conversationId, { ifVersion: state.key_version });
      state = await this.conversationState(conversationId);
      key = await this.keyFor(conversationId, state.key_version);
    }
    if (!key) throw new scheme.E2EError("no_key");
    return { version: state.key_version, key };
  }

  /** Make the next key version when one is required, or when the current
   * one is still ``ifVersion`` (one rotation at a time per conversation in
   * this tab). */
  rotate(conversationId, { ifVersion = null } = {}) {
    if (!this.rotations.has(conversationId)) {
      const running = this._rotate(conversationId, ifVersion).finally(() => this.rotations.delete(conversationId));
      this.rotations.set(conversationId, running);
    }
    return this.rotations.get(conversationId);
  }

  async _rotate(conversationId, ifVersion) {
    const local = await this._activeLocal();
    for (let attempt = 0; attempt < ROTATION_ATTEMPTS; attempt += 1) {
      const state = await this.conversationState(conversationId, { fresh: true });
      const wanted = state.rotation_required || !state.key_version || state.key_version === ifVersion;
      if (!wanted) return state.key_version;
      const version = state.key_version + 1;
      const raw = scheme.makeConversationKey();
      const signer = { deviceId: local.device_id, signingPrivate: local.signingPrivate };
      const envelopes = [];
      for (const member of state.members || []) {
        for (const device of await this._trusted(member)) {
          envelopes.push(await scheme.wrapEnvelope({
            conversationId, keyVersion: version, keyBytes: raw, recipient: device, signer,
          }));
        }
      }
      try {
        await api("POST", `e2e/conversations/${encodeURIComponent(conversationId)}/keys/`, {
          key_version: version, envelopes,
        });
      } catch (error) {
        // Someone was first, or a device came or went meanwhile: look again.
        if (error instanceof ApiError && error.status === 409) continue;
        throw error;
      }
      this.keys.set(`${conversationId}:${version}`, await scheme.aesKey(raw));
      this.states.delete(conversationId);
      this.envelopeLoads.delete(conversationId);
      this._emit("rotated", { conversation_id: conversationId, key_version: version });
      return version;
    }
    throw new scheme.E2EError("rotation_failed");
  }

  /**
   * ``member``'s active devices whose approval checks against a device of
   * theirs in the same list (or themself, for a first device): a key is
   * wrapped only for those. An approval by a device no longer listed (since
   * revoked) cannot be checked here and is taken as the server lists it.
   */
  async _trusted(member) {
    const devices = member.devices || [];
    const byId = new Map(devices.map((d) => [d.id, d]));
    const out = [];
    for (const device of devices) {
      const approver = device.approved_by ? byId.get(device.approved_by) : null;
      if (approver && device.approval_signature) {
        const ok = await scheme.verify(
          approver.signing_public, device.approval_signature, this.statement(device, member.user_id));
        if (!ok) throw new scheme.E2EError("bad_device_approval");
      }
      out.push(device);
    }
    return out;
  }

  /**
   * Make a new key in every encrypted conversation this browser reads, so
   * that a device just added (the recovery device) gets what is written
   * from now on: earlier keys cannot be wrapped for an active device.
   * Best effort: a conversation that fails keeps its key until the next
   * rotation.
   */
  async rotateAll() {
    const local = await this._activeLocal();
    const data = await api("GET", `e2e/envelopes/?device_id=${encodeURIComponent(local.device_id)}`);
    const ids = [...new Set((data.envelopes || []).map((e) => e.conversation_id))];
    for (const id of ids) {
      try {
        const state = await this.conversationState(id, { fresh: true });
        await this.rotate(id, { ifVersion: state.key_version });
      } catch (error) {
        /* left, or another member rotates first */
      }
    }
  }

  // --- Safety numbers -----------------------------------------------------------

  /** The fingerprint of ``userId`` over ``devices`` (their active ones). */
  fingerprint(userId, devices) {
    return scheme.fingerprint(userId, devices);
  }
}

export { scheme };
