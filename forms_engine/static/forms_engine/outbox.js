/* Outbreak Desk outbox: every submission is written to IndexedDB before it is sent, and
 * leaves only when the server has answered 201 or 200, so a closed tab or a dead network
 * never loses one.
 *
 * An item is keyed by its client_id (the idempotency key the server knows) and has a status:
 *   "pending"   waiting to be sent (retried with backoff, on `online` and on page load)
 *   "needs_fix" the server answered 400; the person must correct it (item.errors)
 *   "conflict"  the server answered 409: it holds different data under this client_id
 *
 * A classic script (no module) so that a page and a service worker can both load it.
 */
(function (global) {
  "use strict";

  const DB_NAME = "outbreak-desk";
  const DB_VERSION = 1;
  const STORE = "outbox";

  let dbPromise = null;

  function open() {
    if (!dbPromise) {
      dbPromise = new Promise((resolve, reject) => {
        const request = global.indexedDB.open(DB_NAME, DB_VERSION);
        request.onupgradeneeded = () => {
          const db = request.result;
          if (!db.objectStoreNames.contains(STORE)) {
            const store = db.createObjectStore(STORE, { keyPath: "client_id" });
            store.createIndex("status", "status");
          }
        };
        request.onsuccess = () => {
          const db = request.result;
          // Another tab opening a newer version: let it, and reopen on the next call.
          db.onversionchange = () => {
            db.close();
            dbPromise = null;
          };
          resolve(db);
        };
        request.onerror = () => {
          dbPromise = null;
          reject(request.error);
        };
      });
    }
    return dbPromise;
  }

  /* Run `work(store)` in one transaction; resolves with its result once the transaction has
   * committed ("strict" durability for writes: flushed to disk before we call it saved). */
  async function transact(mode, work) {
    const db = await open();
    return new Promise((resolve, reject) => {
      const options = mode === "readwrite" ? { durability: "strict" } : undefined;
      const tx = db.transaction(STORE, mode, options);
      let result;
      Promise.resolve(work(tx.objectStore(STORE)))
        .then((value) => {
          result = value;
        })
        .catch((error) => {
          try {
            tx.abort();
          } catch (_) {
            /* already finished */
          }
          reject(error);
        });
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("outbox transaction aborted"));
    });
  }

  function requestResult(request) {
    return new Promise((resolve, reject) => {
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  const Outbox = {
    /** Add or replace an item (keyed by client_id). */
    put(item) {
      return transact("readwrite", (store) => requestResult(store.put(item)));
    },

    get(clientId) {
      return transact("readonly", (store) => requestResult(store.get(clientId)));
    },

    remove(clientId) {
      return transact("readwrite", (store) => requestResult(store.delete(clientId)));
    },

    /** Read, change and write one item atomically; resolves with the new item (null if gone). */
    update(clientId, change) {
      return transact("readwrite", async (store) => {
        const item = await requestResult(store.get(clientId));
        if (!item) return null;
        change(item);
        await requestResult(store.put(item));
        return item;
      });
    },

    /** Every item, oldest first. */
    async all() {
      const items = await transact("readonly", (store) => requestResult(store.getAll()));
      return items.sort((a, b) => (a.created_at || 0) - (b.created_at || 0));
    },
  };

  global.OutbreakOutbox = Outbox;
})(typeof self !== "undefined" ? self : window);
