// This browser's own end-to-end state, in IndexedDB (one database for the
// origin, records keyed by the signed-in person): the device's
// non-extractable private keys (CryptoKeys are stored as they are, never
// exported), and the contacts' fingerprints last seen, for "{name}'s
// devices changed".

const DB_NAME = "parley-e2e";
const DB_VERSION = 1;

let opening = null;

function open() {
  if (!opening) {
    opening = new Promise((resolve, reject) => {
      const request = window.indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains("devices")) db.createObjectStore("devices", { keyPath: "user_id" });
        if (!db.objectStoreNames.contains("fingerprints")) db.createObjectStore("fingerprints", { keyPath: "key" });
      };
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }
  return opening;
}

async function run(storeName, mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const transaction = db.transaction(storeName, mode);
    const request = work(transaction.objectStore(storeName));
    transaction.oncomplete = () => resolve(request ? request.result : undefined);
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
}

/** This browser's device of ``userId``: {user_id, device_id, name,
 * ecdhPrivate, signingPrivate, ecdhPublic, signingPublic}, or null. */
export async function loadDevice(userId) {
  return (await run("devices", "readonly", (store) => store.get(userId))) || null;
}

export function saveDevice(record) {
  return run("devices", "readwrite", (store) => store.put(record));
}

export function forgetDevice(userId) {
  return run("devices", "readwrite", (store) => store.delete(userId));
}

/** The fingerprint (hex) of ``contactId`` that ``userId`` saw last, or null. */
export async function loadFingerprint(userId, contactId) {
  const row = await run("fingerprints", "readonly", (store) => store.get(`${userId}:${contactId}`));
  return row ? row.fingerprint : null;
}

export function saveFingerprint(userId, contactId, fingerprint) {
  return run("fingerprints", "readwrite", (store) => store.put({ key: `${userId}:${contactId}`, fingerprint }));
}
