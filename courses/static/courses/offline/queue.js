/* What a learner did offline, queued in IndexedDB until the phone is online again.
 *
 * Shared by the pages (offline.js) and the service worker (sw.js, Background Sync). Each
 * action keeps the id the phone gave it: the server applies an id once, so a queue sent
 * twice (two tabs, or a page and Background Sync at once) never counts twice. The server
 * answers per action: "applied" and "duplicate" leave the queue, "rejected" moves to a
 * list the learner sees (nothing is dropped silently). A request that fails (offline, a
 * server error, the learner logged out, no answer in time) leaves the queue as it was, for
 * the next try.
 *
 * "pending" holds an action on its way to the server by the online form (a page under the
 * worker): the worker moves it to "events" when the network fails or is too slow (sw.js).
 * Every action keeps the account it was saved under, and is only ever sent for it.
 */
(function (scope) {
  "use strict";
  var DATABASE = "ssw-offline";
  var PART = 50; // actions per request (the server takes up to 100)
  // A sync request with no answer by then is given up (a dead network that looks online);
  // long enough for a server that issues a certificate on the way.
  var SEND_TIMEOUT = 45000;

  function open() {
    return new Promise(function (resolve, reject) {
      var request = indexedDB.open(DATABASE, 2);
      request.onupgradeneeded = function (event) {
        var db = request.result;
        if (event.oldVersion < 1) {
          db.createObjectStore("events", { keyPath: "seq", autoIncrement: true });
          db.createObjectStore("rejected", { keyPath: "event_id" });
          db.createObjectStore("courses", { keyPath: "course" });
        }
        if (event.oldVersion < 2) db.createObjectStore("pending", { keyPath: "event_id" });
      };
      request.onsuccess = function () { resolve(request.result); };
      request.onerror = function () { reject(request.error); };
    });
  }

  function run(store, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(store, mode);
        var request = work(tx.objectStore(store));
        tx.oncomplete = function () { db.close(); resolve(request && request.result); };
        tx.onerror = tx.onabort = function () { db.close(); reject(tx.error); };
      });
    });
  }

  function all(store) {
    return run(store, "readonly", function (s) { return s.getAll(); });
  }
  function get(store, key) {
    return run(store, "readonly", function (s) { return s.get(key); });
  }
  function put(store, value) {
    return run(store, "readwrite", function (s) { return s.put(value); });
  }
  function remove(store, key) {
    return run(store, "readwrite", function (s) { return s.delete(key); });
  }

  /* A random (version 4) UUID, also where crypto.randomUUID is missing (older phones). */
  function newId() {
    if (scope.crypto.randomUUID) return scope.crypto.randomUUID();
    var bytes = scope.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 15) | 64;
    bytes[8] = (bytes[8] & 63) | 128;
    var hex = Array.prototype.map.call(bytes, function (b) {
      return (b + 256).toString(16).slice(1);
    }).join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20),
      hex.slice(20)].join("-");
  }

  function sendPart(part, csrf) {
    var first = part[0];
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, SEND_TIMEOUT);
    return fetch(first.sync_url, {
      method: "POST",
      credentials: "same-origin",
      signal: controller.signal,
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf || first.csrf },
      body: JSON.stringify({
        learner: first.learner,
        events: part.map(function (e) {
          return { event_id: e.event_id, kind: e.kind, module: e.module,
            answers: e.answers, occurred_at: e.occurred_at };
        })
      })
    }).then(function (response) {
      if (!response.ok) throw new Error("sync answered " + response.status);
      return response.json();
    }).then(function (answer) {
      clearTimeout(timer);
      return answer.results.reduce(function (done, result, i) {
        var event = part[i];
        result.title = event.title;
        result.kind = event.kind;
        return done.then(function () {
          if (result.status !== "rejected") return null;
          return put("rejected", { event_id: event.event_id, learner: event.learner,
            title: event.title, reason: result.reason });
        }).then(function () { return remove("events", event.seq); });
      }, Promise.resolve()).then(function () { return answer.results; });
    });
  }

  var sending = null;
  // What was sent is told to the other tabs and the worker (not to this page or worker,
  // which has the answers already): every open page shows it.
  var channel = scope.BroadcastChannel ? new BroadcastChannel("ssw-offline") : null;

  /* Send the queue of one learner (a page: the one logged in, with the page's CSRF token),
   * or of every learner in turn (the service worker, with the tokens saved with each action:
   * a queue another account saved is refused by the server and stays). Resolves to the
   * server's answers; rejects when a part could not be sent (the answers of the parts that
   * were are told to the pages all the same). */
  function send(learner, csrf) {
    if (sending) return sending;
    // One sender at a time across the tabs and the worker (Web Locks, where the browser has
    // them): the next one finds the queue sent. The server's exactly-once is the backstop.
    var locks = scope.navigator && scope.navigator.locks;
    sending = locks ? locks.request("ssw-send", function () { return sendQueue(learner, csrf); })
      : sendQueue(learner, csrf);
    var clear = function () { sending = null; };
    sending.then(clear, clear);
    return sending;
  }

  function sendQueue(learner, csrf) {
    return all("events").then(function (events) {
      var mine = events.filter(function (e) { return learner == null || e.learner === learner; });
      var parts = [];
      mine.forEach(function (e) {
        var last = parts[parts.length - 1];
        if (last && last.length < PART && last[0].learner === e.learner) last.push(e);
        else parts.push([e]);
      });
      var results = [];
      var failed = null;
      var stopped = {}; // a learner whose part failed: their later actions wait (in order)
      return parts.reduce(function (done, part) {
        return done.then(function () {
          if (stopped[part[0].learner]) return null;
          return sendPart(part, csrf).then(function (answers) {
            results = results.concat(answers);
          }, function (error) { stopped[part[0].learner] = true; failed = error; });
        });
      }, Promise.resolve()).then(function () {
        if (channel && results.length) channel.postMessage({ type: "ssw-sent", results: results });
        if (failed) throw failed;
        return results;
      });
    });
  }

  scope.SSWQueue = { all: all, get: get, put: put, remove: remove, newId: newId, send: send,
    channel: channel };
})(self);
