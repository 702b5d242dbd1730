/* SSW Learning's service worker (served at the site's root by courses.offline_views).
 *
 * Pages come from the network first, so a learner online always sees the server's truth;
 * a page that is kept on the phone is refreshed in its cache on the way. Offline, a page
 * comes from the courses kept on the phone ("ssw-course-<id>" caches, filled by
 * offline.js), else the offline page. Static files, images and documents come from a cache
 * when there, else from the network. Actions queued offline are sent by Background Sync
 * where the browser has it (queue.js).
 */
importScripts("{{ queue_script|escapejs }}");

var SHELL = "ssw-shell";
var SHELL_FILES = [{% for url in shell %}"{{ url|escapejs }}", {% endfor %}"{{ offline_page|escapejs }}"];
var COURSE_PREFIX = "ssw-course-";
var SYNC_TAG = "ssw-send";

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

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  // Asked for fresh from the network (offline.js keeping a course): not from a cache.
  if (request.cache === "reload" || request.cache === "no-store") return;
  if (request.mode === "navigate") {
    event.respondWith(
      fetch(request).then(function (response) {
        // A page with a query (a quiz's ?attempt= feedback) is never kept: the kept copy
        // must not show which answers are right.
        if (response.ok && !response.redirected && !url.search) {
          var copy = response.clone();
          event.waitUntil(refreshKept(url.origin + url.pathname, copy));
        }
        return response;
      }, function () {
        return fromCache(url.origin + url.pathname, true).then(function (kept) {
          return kept || caches.match(SHELL_FILES[SHELL_FILES.length - 1]);
        });
      })
    );
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
