/* SSW Learning's service worker (served at the site's root by courses.offline_views).
 *
 * Pages come from the network first, so a learner online always sees the server's truth;
 * a page that is kept on the phone is refreshed in its cache on the way. Offline, a page
 * comes from the courses kept on the phone ("ssw-course-<id>" caches, filled by
 * offline.js), else the offline page. Static files, images and documents come from a cache
 * when there, else from the network. Actions queued offline are sent by Background Sync
 * where the browser has it (queue.js).
 *
 * A phone may say it is online on a network that carries nothing ("lie-fi"): a page with no
 * answer within TIMEOUT comes from the phone when kept there, and an action the page handed
 * over (a module completed, a quiz answered: offline.js puts it in "pending" with its id)
 * that fails or has no answer in time is queued as if offline, with the same id, so that
 * the server counts it once even if the first request did reach it.
 */
importScripts("{{ queue_script|escapejs }}");

var SHELL = "ssw-shell";
var SHELL_FILES = [{% for url in shell %}"{{ url|escapejs }}", {% endfor %}"{{ offline_page|escapejs }}"];
var COURSE_PREFIX = "ssw-course-";
var SYNC_TAG = "ssw-send";
var TIMEOUT = {{ timeout_ms }};
var ACTION = /\/modules\/\d+\/(complete|quiz)\/$/;
// A page the learner is sent back to after an action was queued: the network just failed,
// so it comes from the phone at once.
var fromPhoneNext = {};

self.addEventListener("install", function (event) {
  event.waitUntil(
    caches.delete(SHELL)
      .then(function () { return caches.open(SHELL); })
      .then(function (cache) { return cache.addAll(SHELL_FILES); })
      .then(function () { return self.skipWaiting(); })
  );
});

self.addEventListener("activate", function (event) {
  event.waitUntil(self.clients.claim());
});

function courseCaches() {
  return caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf(COURSE_PREFIX) === 0;
    }).map(function (name) { return caches.open(name); }));
  });
}

/* A fresh page replaces its copy in every course cache that keeps it. */
function refreshKept(url, response) {
  return courseCaches().then(function (kept) {
    return Promise.all(kept.map(function (cache) {
      return cache.match(url).then(function (old) {
        return old ? cache.put(url, response.clone()) : null;
      });
    }));
  });
}

function fromCache(request, ignoreSearch) {
  return caches.match(request, { ignoreSearch: ignoreSearch });
}

function fromPhone(page) {
  return fromCache(page, true).then(function (kept) {
    return kept || caches.match(SHELL_FILES[SHELL_FILES.length - 1]);
  }).then(function (response) { return response || Response.error(); });
}

function delay(ms) {
  return new Promise(function (resolve) { setTimeout(resolve, ms); });
}

/* Network first; with no answer within TIMEOUT, the kept copy if there is one (else the
 * network still, however slow); the kept copy or the offline page when the network fails.
 * Right after an action was queued (the network just failed), the kept copy comes at once,
 * and a page not kept gets TIMEOUT before the offline page. */
function navigate(event, url) {
  var page = url.origin + url.pathname;
  var afterAction = fromPhoneNext[page];
  delete fromPhoneNext[page];
  var network = fetch(event.request).then(function (response) {
    // A page with a query (a quiz's ?attempt= feedback) is never kept: the kept copy
    // must not show which answers are right.
    if (response.ok && !response.redirected && !url.search) {
      event.waitUntil(refreshKept(page, response.clone()));
    }
    return response;
  });
  // The worker lives until the network answers, to refresh the kept copy even when it
  // came too late to be shown.
  event.waitUntil(network.catch(function () {}));
  var waited = delay(afterAction ? 0 : TIMEOUT).then(function () {
    return fromCache(page, true);
  }).then(function (kept) {
    if (kept) return kept;
    return afterAction ? delay(TIMEOUT).then(function () { return fromPhone(page); }) : network;
  });
  return Promise.race([network, waited]).catch(function () { return fromPhone(page); });
}

/* An action's form, posted online: sent, else kept in the queue (see the top). */
function act(event) {
  var request = event.request;
  return request.clone().formData().then(function (form) {
    return self.SSWQueue.get("pending", String(form.get("event_id")));
  }).catch(function () { return null; }).then(function (action) {
    if (!action) return fetch(request); // not handed over by the page: as without the worker
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, TIMEOUT);
    return fetch(request, { signal: controller.signal }).then(function (response) {
      clearTimeout(timer);
      // A gateway that could not reach the server: queued too (the id keeps it once).
      if (response.status >= 502 && response.status <= 504) throw new Error("gateway");
      event.waitUntil(self.SSWQueue.remove("pending", action.event_id));
      return response;
    }).catch(function () {
      clearTimeout(timer);
      return queue(action);
    });
  });
}

function queue(action) {
  var page = new URL(action.page, self.location.href);
  return self.SSWQueue.put("events", action).then(function () {
    return self.SSWQueue.remove("pending", action.event_id);
  }).then(function () {
    fromPhoneNext[page.origin + page.pathname] = true;
    if (self.registration.sync) self.registration.sync.register(SYNC_TAG).catch(function () {});
    return Response.redirect(page.href, 303);
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method === "POST" && request.mode === "navigate" && ACTION.test(url.pathname)) {
    event.respondWith(act(event));
    return;
  }
  if (request.method !== "GET") return;
  // Asked for fresh from the network (offline.js keeping a course): not from a cache.
  if (request.cache === "reload" || request.cache === "no-store") return;
  if (request.mode === "navigate") {
    event.respondWith(navigate(event, url));
    return;
  }
  event.respondWith(
    fromCache(request, false).then(function (kept) { return kept || fetch(request); })
  );
});

self.addEventListener("sync", function (event) {
  if (event.tag !== SYNC_TAG) return;
  // The pages learn what was sent through queue.js's broadcast.
  event.waitUntil(self.SSWQueue.send(null));
});
