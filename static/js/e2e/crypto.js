// The scheme of end-to-end encrypted conversations, byte for byte as
// docs/e2e.md writes it (that document is the contract: a client written
// from it alone reads and writes what this module does). WebCrypto only:
// ECDH and ECDSA on P-256, HKDF-SHA-256, AES-256-GCM, HMAC-SHA-256,
// PBKDF2-SHA-256. No state here: keys come in and go out as arguments.

const subtle = window.crypto.subtle;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

const P256_ECDH = { name: "ECDH", namedCurve: "P-256" };
const P256_ECDSA = { name: "ECDSA", namedCurve: "P-256" };
const ECDSA_SHA256 = { name: "ECDSA", hash: "SHA-256" };

export const RECOVERY_ITERATIONS = 600000;
const NONCE_BYTES = 12;
const KEY_BYTES = 32;
const FRANKING_TAG_BYTES = 32;
export const MAX_TEXT = 10000;

/** A failure of the scheme: a bad signature, a failed decryption, a payload
 * that is not what docs/e2e.md says. Never shown as text. */
export class E2EError extends Error {
  constructor(code, message = code) {
    super(message);
    this.code = code;
  }
}

// --- Encodings -----------------------------------------------------------------

/** Standard base64 with padding (RFC 4648 §4). */
export function b64encode(bytes) {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = "";
  for (let start = 0; start < view.length; start += 0x8000) {
    binary += String.fromCharCode(...view.subarray(start, start + 0x8000));
  }
  return window.btoa(binary);
}

export function b64decode(text) {
  if (typeof text !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4) {
    throw new E2EError("bad_encoding");
  }
  const binary = window.atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

export function utf8(text) {
  return encoder.encode(text);
}

/** A label: its lines joined by "\n", no trailing newline, UTF-8. */
export function labelled(lines) {
  return utf8(lines.map(String).join("\n"));
}

export function randomBytes(count) {
  return window.crypto.getRandomValues(new Uint8Array(count));
}

function concat(...parts) {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export async function sha256(bytes) {
  return new Uint8Array(await subtle.digest("SHA-256", bytes));
}

/** Constant-time enough for tags we computed ourselves against a stored one. */
function equalBytes(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i += 1) diff |= a[i] ^ b[i];
  return diff === 0;
}

// --- Devices -------------------------------------------------------------------

/**
 * A device's two key pairs. Private keys are non-extractable unless
 * ``extractable`` (the recovery device's, which are sealed under the
 * recovery key and then forgotten). The public halves, raw (uncompressed
 * points), b64.
 */
export async function makeDeviceKeys({ extractable = false } = {}) {
  const ecdh = await subtle.generateKey(P256_ECDH, extractable, ["deriveBits"]);
  const signing = await subtle.generateKey(P256_ECDSA, extractable, ["sign", "verify"]);
  return {
    ecdhPrivate: ecdh.privateKey,
    signingPrivate: signing.privateKey,
    ecdhPublic: b64encode(await subtle.exportKey("raw", ecdh.publicKey)),
    signingPublic: b64encode(await subtle.exportKey("raw", signing.publicKey)),
  };
}

/** The device statement a device's approval signs (docs/e2e.md, Devices). */
export function deviceStatement({ userId, deviceId, ecdhPublic, signingPublic }) {
  return labelled(["parley-e2e/v1 device", userId, deviceId, ecdhPublic, signingPublic]);
}

/** The approval code both screens show: "042 917". */
export async function approvalCode(statement) {
  const digest = await sha256(statement);
  const number = new DataView(digest.buffer).getUint32(0, false) % 1000000;
  const digits = String(number).padStart(6, "0");
  return `${digits.slice(0, 3)} ${digits.slice(3)}`;
}

export async function sign(signingPrivate, bytes) {
  return b64encode(await subtle.sign(ECDSA_SHA256, signingPrivate, bytes));
}

/** Whether ``signature`` (b64, P1363) over ``bytes`` is by ``signingPublic``. */
export async function verify(signingPublic, signature, bytes) {
  try {
    const key = await subtle.importKey("raw", b64decode(signingPublic), P256_ECDSA, false, ["verify"]);
    const raw = b64decode(signature);
    if (raw.length !== 64) return false;
    return await subtle.verify(ECDSA_SHA256, key, raw, bytes);
  } catch (error) {
    return false;
  }
}

async function importEcdhPublic(b64) {
  return subtle.importKey("raw", b64decode(b64), P256_ECDH, false, []);
}

// --- Conversation keys and envelopes ---------------------------------------------

/** A new conversation key: 32 random bytes. */
export function makeConversationKey() {
  return randomBytes(KEY_BYTES);
}

/** ``raw`` (32 bytes) as an AES-256-GCM key for messages. */
export function aesKey(raw, usages = ["encrypt", "decrypt"]) {
  return subtle.importKey("raw", raw, { name: "AES-GCM" }, false, usages);
}

function envelopeInfo(conversationId, keyVersion, deviceId) {
  return labelled(["parley-e2e/v1 envelope", conversationId, keyVersion, deviceId]);
}

async function envelopeKek(shared, info) {
  const ikm = await subtle.importKey("raw", shared, "HKDF", false, ["deriveBits"]);
  const bits = await subtle.deriveBits(
    { name: "HKDF", hash: "SHA-256", salt: new Uint8Array(32), info }, ikm, 256);
  return aesKey(new Uint8Array(bits));
}

function envelopeSigned(info, envelope) {
  return concat(info, utf8(`\n${envelope.ephemeral_public}\n${envelope.nonce}\n${envelope.wrapped}`));
}

/**
 * ``keyBytes`` wrapped for one device (``recipient``: {id, ecdh_public}),
 * signed by ``signer`` ({deviceId, signingPrivate}): an envelope as the API
 * takes it.
 */
export async function wrapEnvelope({ conversationId, keyVersion, keyBytes, recipient, signer }) {
  const ephemeral = await subtle.generateKey(P256_ECDH, false, ["deriveBits"]);
  const shared = new Uint8Array(await subtle.deriveBits(
    { name: "ECDH", public: await importEcdhPublic(recipient.ecdh_public) }, ephemeral.privateKey, 256));
  const info = envelopeInfo(conversationId, keyVersion, recipient.id);
  const kek = await envelopeKek(shared, info);
  const nonce = randomBytes(NONCE_BYTES);
  const wrapped = await subtle.encrypt({ name: "AES-GCM", iv: nonce, additionalData: info }, kek, keyBytes);
  const envelope = {
    conversation_id: conversationId,
    key_version: keyVersion,
    device_id: recipient.id,
    signer_device_id: signer.deviceId,
    ephemeral_public: b64encode(await subtle.exportKey("raw", ephemeral.publicKey)),
    nonce: b64encode(nonce),
    wrapped: b64encode(wrapped),
  };
  envelope.signature = await sign(signer.signingPrivate, envelopeSigned(info, envelope));
  return envelope;
}

/**
 * The conversation key (32 bytes) inside ``envelope``, after checking that
 * it is the one asked for (``expect``: conversationId, keyVersion,
 * deviceId) and signed by ``signingPublic`` (the caller has checked that
 * the signer's person is a member). Throws E2EError otherwise.
 */
export async function unwrapEnvelope(envelope, { ecdhPrivate, signingPublic, expect }) {
  if (envelope.conversation_id !== expect.conversationId || Number(envelope.key_version) !== Number(expect.keyVersion)
      || envelope.device_id !== expect.deviceId) {
    throw new E2EError("envelope_mismatch");
  }
  const info = envelopeInfo(envelope.conversation_id, envelope.key_version, envelope.device_id);
  if (!(await verify(signingPublic, envelope.signature, envelopeSigned(info, envelope)))) {
    throw new E2EError("bad_signature");
  }
  try {
    const shared = new Uint8Array(await subtle.deriveBits(
      { name: "ECDH", public: await importEcdhPublic(envelope.ephemeral_public) }, ecdhPrivate, 256));
    const kek = await envelopeKek(shared, info);
    const raw = new Uint8Array(await subtle.decrypt(
      { name: "AES-GCM", iv: b64decode(envelope.nonce), additionalData: info }, kek, b64decode(envelope.wrapped)));
    if (raw.length !== KEY_BYTES) throw new E2EError("bad_key");
    return raw;
  } catch (error) {
    throw error instanceof E2EError ? error : new E2EError("unwrap_failed");
  }
}

// --- Messages --------------------------------------------------------------------

function messageAd(conversationId, clientId, keyVersion) {
  return labelled(["parley-e2e/v1 message", conversationId, clientId, keyVersion]);
}

async function frankingTag(frankingKey, ad, text) {
  const key = await subtle.importKey("raw", frankingKey, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return new Uint8Array(await subtle.sign("HMAC", key, concat(ad, utf8(`\n${text}`))));
}

/**
 * The ``e2e`` object of a send or an edit: ``text`` and ``files`` (the
 * payload's file entries) encrypted under ``key`` (an AES-GCM CryptoKey of
 * ``keyVersion``), with a fresh nonce and a fresh franking key.
 */
export async function encryptMessage({ key, keyVersion, deviceId, conversationId, clientId, text, files = [] }) {
  const frankingKey = randomBytes(KEY_BYTES);
  const payload = { text, files, franking_key: b64encode(frankingKey) };
  const ad = messageAd(conversationId, clientId, keyVersion);
  const nonce = randomBytes(NONCE_BYTES);
  const ciphertext = await subtle.encrypt(
    { name: "AES-GCM", iv: nonce, additionalData: ad }, key, utf8(JSON.stringify(payload)));
  return {
    key_version: keyVersion,
    device_id: deviceId,
    nonce: b64encode(nonce),
    ciphertext: b64encode(ciphertext),
    franking_tag: b64encode(await frankingTag(frankingKey, ad, text)),
  };
}

const isFileEntry = (file) => file && typeof file === "object" && typeof file.attachment_id === "string"
  && typeof file.key === "string" && typeof file.nonce === "string" && typeof file.sha256 === "string";

/**
 * The payload ({text, files, franking_key}) of a stored message's ``e2e``,
 * with ``key`` for its key version; its franking tag checked. Throws
 * E2EError on any failure: the reader shows "cannot decrypt", never text.
 */
export async function decryptMessage({ key, conversationId, clientId, e2e }) {
  const ad = messageAd(conversationId, clientId, e2e.key_version);
  let payload;
  try {
    const plain = await subtle.decrypt(
      { name: "AES-GCM", iv: b64decode(e2e.nonce), additionalData: ad }, key, b64decode(e2e.ciphertext));
    payload = JSON.parse(decoder.decode(plain));
  } catch (error) {
    throw new E2EError("decrypt_failed");
  }
  if (!payload || typeof payload !== "object" || Array.isArray(payload) || typeof payload.text !== "string"
      || !Array.isArray(payload.files) || !payload.files.every(isFileEntry)
      || typeof payload.franking_key !== "string") {
    throw new E2EError("bad_payload");
  }
  const tag = await frankingTag(b64decode(payload.franking_key), ad, payload.text);
  if (!equalBytes(tag, b64decode(e2e.franking_tag))) throw new E2EError("bad_franking_tag");
  return payload;
}

// --- Files -----------------------------------------------------------------------

function fileAd(conversationId) {
  return labelled(["parley-e2e/v1 file", conversationId]);
}

/** ``bytes`` encrypted under a file key of their own: the bytes to upload,
 * and the payload's key, nonce and sha256 (of the uploaded bytes). */
export async function encryptFile(bytes, conversationId) {
  const raw = randomBytes(KEY_BYTES);
  const nonce = randomBytes(NONCE_BYTES);
  const key = await aesKey(raw, ["encrypt"]);
  const ciphertext = new Uint8Array(await subtle.encrypt(
    { name: "AES-GCM", iv: nonce, additionalData: fileAd(conversationId) }, key, bytes));
  return {
    ciphertext,
    key: b64encode(raw),
    nonce: b64encode(nonce),
    sha256: b64encode(await sha256(ciphertext)),
  };
}

/** The file's bytes from the downloaded ``ciphertext``, after its SHA-256
 * matches the payload's. */
export async function decryptFile(ciphertext, file, conversationId) {
  const bytes = ciphertext instanceof Uint8Array ? ciphertext : new Uint8Array(ciphertext);
  if (!equalBytes(await sha256(bytes), b64decode(file.sha256))) throw new E2EError("bad_file_hash");
  try {
    const key = await aesKey(b64decode(file.key), ["decrypt"]);
    return new Uint8Array(await subtle.decrypt(
      { name: "AES-GCM", iv: b64decode(file.nonce), additionalData: fileAd(conversationId) }, key, bytes));
  } catch (error) {
    throw new E2EError("decrypt_failed");
  }
}

// --- Safety numbers -----------------------------------------------------------------

/** A person's fingerprint (32 bytes) over their active ``devices``. */
export async function fingerprint(userId, devices) {
  const lines = ["parley-e2e/v1 safety", userId];
  const sorted = [...devices].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const device of sorted) lines.push(`${device.id} ${device.ecdh_public} ${device.signing_public}`);
  return sha256(labelled(lines));
}

function fingerprintDigits(print) {
  let digits = "";
  for (let chunk = 0; chunk < 6; chunk += 1) {
    let value = 0;
    for (let i = 0; i < 5; i += 1) value = value * 256 + print[chunk * 5 + i];
    digits += String(value % 100000).padStart(5, "0");
  }
  return digits;
}

/** The 60-digit safety number of two people ({userId, fingerprint} each),
 * the same whichever of them computes it. */
export function safetyNumber(first, second) {
  const [a, b] = first.userId < second.userId ? [first, second] : [second, first];
  return fingerprintDigits(a.fingerprint) + fingerprintDigits(b.fingerprint);
}

/** ``digits`` in groups of 5 (12 groups for a safety number). */
export function groupDigits(digits) {
  return digits.match(/.{1,5}/g) || [];
}

// --- Recovery -----------------------------------------------------------------------

const BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

function base32(bytes) {
  let bits = 0;
  let value = 0;
  let out = "";
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/** A new recovery key: 20 random bytes as 32 base32 characters, in 8
 * groups of 4 joined by "-". */
export function makeRecoveryKey() {
  return base32(randomBytes(20)).match(/.{4}/g).join("-");
}

/** The recovery key as typed: without "-" (and spaces), upper case. */
export function normalRecoveryKey(typed) {
  return String(typed).replace(/[-\s]/g, "").toUpperCase();
}

async function recoveryAesKey(recoveryKey, salt, iterations) {
  const password = await subtle.importKey("raw", utf8(normalRecoveryKey(recoveryKey)), "PBKDF2", false, ["deriveBits"]);
  const bits = await subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, password, 256);
  return aesKey(new Uint8Array(bits));
}

function recoveryAd(userId, deviceId) {
  return labelled(["parley-e2e/v1 recovery", userId, deviceId]);
}

/** The recovery device's extractable private keys sealed under
 * ``recoveryKey``: the body of PUT e2e/recovery/. */
export async function sealRecovery({ recoveryKey, userId, deviceId, ecdhPrivate, signingPrivate }) {
  const secrets = JSON.stringify({
    ecdh_private: b64encode(await subtle.exportKey("pkcs8", ecdhPrivate)),
    signing_private: b64encode(await subtle.exportKey("pkcs8", signingPrivate)),
  });
  const salt = randomBytes(16);
  const nonce = randomBytes(NONCE_BYTES);
  const key = await recoveryAesKey(recoveryKey, salt, RECOVERY_ITERATIONS);
  const ciphertext = await subtle.encrypt(
    { name: "AES-GCM", iv: nonce, additionalData: recoveryAd(userId, deviceId) }, key, utf8(secrets));
  return {
    device_id: deviceId,
    salt: b64encode(salt),
    iterations: RECOVERY_ITERATIONS,
    nonce: b64encode(nonce),
    ciphertext: b64encode(ciphertext),
  };
}

/** The recovery device's private keys (non-extractable CryptoKeys) from the
 * backup GET e2e/recovery/ returns; E2EError("wrong_recovery_key") when the
 * key does not open it. */
export async function openRecovery({ recoveryKey, userId, backup }) {
  let secrets;
  try {
    const key = await recoveryAesKey(recoveryKey, b64decode(backup.salt), Number(backup.iterations));
    const plain = await subtle.decrypt(
      { name: "AES-GCM", iv: b64decode(backup.nonce), additionalData: recoveryAd(userId, backup.device_id) },
      key, b64decode(backup.ciphertext));
    secrets = JSON.parse(decoder.decode(plain));
  } catch (error) {
    throw new E2EError("wrong_recovery_key");
  }
  return {
    ecdhPrivate: await subtle.importKey("pkcs8", b64decode(secrets.ecdh_private), P256_ECDH, false, ["deriveBits"]),
    signingPrivate: await subtle.importKey("pkcs8", b64decode(secrets.signing_private), P256_ECDSA, false, ["sign"]),
  };
}

export const FRANKING_TAG_LENGTH = FRANKING_TAG_BYTES;
