/* Learner pages, offline: keep a course on the phone, queue what the learner does offline,
 * send it when the phone is online again. Pages work without this script; it only adds.
 *
 * Online, a module's form is posted as usual, through the worker, which queues the action
 * if the network fails or is too slow (sw.js). Logging out removes the learner's kept
 * courses from the phone, and first warns of actions not sent yet: those stay on the phone,
 * under the learner's account, for their next log-in here.
 *
 * Its texts (translated) and addresses are data-* attributes of its own <script> element
 * (courses/templates/courses/offline/head.html) and of the course page's "On this phone"
 * section (keep.html). Queue and IndexedDB: queue.js. Serving pages offline: sw.js.
 */
(function () {
  "use strict";
  var Q = window.SSWQueue;
  var script = document.getElementById("offline-script");
  if (!Q || !script || !window.indexedDB || !window.caches) return;
  var text = script.dataset;
  var learner = text.learner ? Number(text.learner) : null;
  var csrfInput = document.querySelector("input[name=csrfmiddlewaretoken]");
  var csrf = csrfInput ? csrfInput.value : "";
  var ACTION = /\/modules\/(\d+)\/(complete|quiz)\/$/;
  var COURSE_PREFIX = "ssw-course-";
  // An action the worker took over (pending) but never settled (the worker was stopped):
  // after this long it is queued; the server tells whether it arrived the first time.
  var PENDING_STALE = 120000;
  function noop() {}
  var number = new Intl.NumberFormat(document.documentElement.lang || undefined,
    { maximumFractionDigits: 1 });

  function fill(pattern, values) {
    return pattern.replace(/\{(\w+)\}/g, function (all, key) {
      return key in values ? values[key] : all;
    });
  }
  function size(bytes) {
    if (bytes < 1000000) return fill(text.kb, { n: number.format(Math.max(1, bytes / 1000)) });
    return fill(text.mb, { n: number.format(bytes / 1000000) });
  }
  function element(tag, className, content) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (content) node.textContent = content;
    return node;
  }

  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(text.sw, { scope: "/" }).catch(function () {});
  }
  if (Q.channel) {
    Q.channel.onmessage = function (event) {
      if (event.data && event.data.type === "ssw-sent") sent(event.data.results);
    };
  }

  // --- The status box: what waits on this phone, what was sent, what was refused ----------

  var main = document.querySelector("main") || document.body;
  var box = element("div", "offline-status");
  box.setAttribute("role", "status");
  main.insertBefore(box, main.firstChild);
  var report = element("div");
  main.insertBefore(report, box.nextSibling);

  function mine(list) {
    return list.filter(function (e) { return e.learner === learner; });
  }

  function showQueue() {
    return Promise.all([Q.all("events"), Q.all("rejected")]).then(function (found) {
      var queued = mine(found[0]);
      var rejected = mine(found[1]);
      box.textContent = "";
      box.className = queued.length ? "offline-status message" : "offline-status";
      if (queued.length) {
        box.appendChild(element("p", "", fill(
          queued.length === 1 ? text.queuedOne : text.queuedOther, { count: queued.length })));
        var now = element("button", "", text.sendNow);
        now.type = "button";
        now.addEventListener("click", sendNow);
        box.appendChild(now);
      }
      showRejected(rejected);
      markQueuedForms(queued);
      return queued.length;
    });
  }

  function showRejected(rejected) {
    var old = document.getElementById("offline-rejected");
    if (old) old.remove();
    if (!rejected.length) return;
    var alert = element("div", "message warning");
    alert.id = "offline-rejected";
    alert.setAttribute("role", "alert");
    alert.appendChild(element("p", "", text.rejected));
    var list = element("ul");
    rejected.forEach(function (r) {
      list.appendChild(element("li", "", fill(text.rejectedItem, { module: r.title, reason: r.reason })));
    });
    alert.appendChild(list);
    var dismiss = element("button", "", text.dismiss);
    dismiss.type = "button";
    dismiss.addEventListener("click", function () {
      Promise.all(rejected.map(function (r) { return Q.remove("rejected", r.event_id); }))
        .then(showQueue);
    });
    alert.appendChild(dismiss);
    main.insertBefore(alert, box.nextSibling);
  }

  function sent(results) {
    if (results && results.length) {
      report.textContent = "";
      report.className = "message success";
      var applied = results.filter(function (r) { return r.status !== "rejected"; });
      if (applied.length) report.appendChild(element("p", "", fill(text.sent, { count: applied.length })));
      applied.forEach(function (r) {
        if (r.score === undefined) return;
        report.appendChild(element("p", "", fill(r.passed ? text.quizPassed : text.quizFailed,
          { module: r.title, score: number.format(r.score) })));
      });
      refreshKeptPages();
    }
    return showQueue();
  }

  function sendNow() {
    if (learner === null) return Promise.resolve();
    box.setAttribute("aria-busy", "true");
    return Q.send(learner, csrf).then(sent, function () {
      report.className = "message warning";
      report.textContent = text.notSent;
    }).then(function () { box.removeAttribute("aria-busy"); });
  }

  // --- Forms used offline: the action is queued instead of sent -------------------------------

  function savedNotice(form, kind) {
    var notice = element("p", "message offline-saved", kind === "quiz" ? text.savedQuiz : text.savedComplete);
    form.querySelectorAll("button, input").forEach(function (input) { input.disabled = true; });
    var button = form.querySelector("button[type=submit]");
    if (button) button.replaceWith(notice);
    else form.appendChild(notice);
  }

  function formAction(form) {
    return ACTION.exec(new URL(form.action, location.href).pathname);
  }

  function markQueuedForms(queued) {
    document.querySelectorAll("form").forEach(function (form) {
      var match = formAction(form);
      if (!match || form.querySelector(".offline-saved")) return;
      var waiting = queued.some(function (e) {
        return e.module === Number(match[1]) && e.kind === match[2];
      });
      if (waiting) savedNotice(form, match[2]);
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (text.logout && new URL(form.action, location.href).pathname === text.logout) {
      logOut(event, form);
      return;
    }
    var match = formAction(form);
    var worker = navigator.serviceWorker && navigator.serviceWorker.controller;
    if (!match || learner === null || (navigator.onLine && !worker)) return;
    event.preventDefault();
    var heading = document.querySelector("h1");
    var action = {
      event_id: Q.newId(), learner: learner, kind: match[2], module: Number(match[1]),
      title: heading ? heading.textContent.trim() : document.title,
      occurred_at: new Date().toISOString(), csrf: csrf, sync_url: text.sync
    };
    if (action.kind === "quiz") {
      action.answers = {};
      form.querySelectorAll("input[name^='q-']").forEach(function (input) {
        var question = input.name.slice(2);
        action.answers[question] = action.answers[question] || [];
        if (input.checked) action.answers[question].push(input.value);
      });
    }
    if (navigator.onLine) {
      // The form goes as usual, with this id: the worker queues it if the network fails.
      action.page = location.pathname;
      if (form.elements.event_id) form.elements.event_id.value = action.event_id;
      form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      Q.put("pending", action).catch(noop).then(function () { form.submit(); });
      return;
    }
    Q.put("events", action).then(function () {
      savedNotice(form, action.kind);
      return navigator.serviceWorker && navigator.serviceWorker.ready;
    }).then(function (registration) {
      if (registration && registration.sync) return registration.sync.register("ssw-send");
      return null;
    }).catch(function () {}).then(showQueue);
  });

  // --- Logging out on a shared phone ---------------------------------------------------------

  function waiting() {
    return Promise.all([Q.all("events"), Q.all("pending")]).then(function (found) {
      return mine(found[0]).length + mine(found[1]).length;
    });
  }

  /* The learner's kept courses leave the phone before the session ends: the next person
   * cannot read them offline. Unsent actions first get a warning; they are never dropped. */
  function logOut(event, form) {
    if (learner === null) return;
    event.preventDefault();
    waiting().then(function (count) {
      if (count) warnBeforeLogOut(form, count);
      else leave(form);
    }, function () { leave(form); });
  }

  function leave(form) {
    sessionStorage.removeItem("ssw-offline-page");
    return forgetKept(function (c) { return c.learner === learner; })
      .then(function () { return caches.open("ssw-shell"); })
      .then(function (cache) { return cache.delete(text.offline); })
      .catch(noop).then(function () { form.submit(); });
  }

  function warnBeforeLogOut(form, count) {
    var old = document.getElementById("offline-log-out");
    if (old) old.remove();
    var alert = element("div", "message warning");
    alert.id = "offline-log-out";
    alert.setAttribute("role", "alert");
    alert.appendChild(element("p", "", fill(count === 1 ? text.logOutOne : text.logOutOther,
      { count: count })));
    var send = element("button", "", text.sendNow);
    send.type = "button";
    send.addEventListener("click", function () {
      sendNow().then(waiting).then(function (left) {
        if (left) warnBeforeLogOut(form, left);
        else alert.remove();
      });
    });
    var anyway = element("button", "secondary", text.logOutAnyway);
    anyway.type = "button";
    anyway.addEventListener("click", function () { leave(form); });
    alert.appendChild(send);
    alert.appendChild(document.createTextNode(" "));
    alert.appendChild(anyway);
    main.insertBefore(alert, main.firstChild);
    send.focus();
  }

  // --- Courses kept on this phone ------------------------------------------------------------

  function cacheAll(cache, urls, refetch) {
    var total = 0;
    return urls.reduce(function (done, url) {
      return done.then(function () {
        return (refetch(url) ? Promise.resolve(null) : cache.match(url)).then(function (old) {
          if (old) return old.blob();
          return fetch(url, { credentials: "same-origin", cache: "reload" }).then(function (response) {
            if (!response.ok) throw new Error(url + " " + response.status);
            return cache.put(url, response.clone()).then(function () { return response.blob(); });
          });
        }).then(function (blob) { total += blob.size; });
      });
    }, Promise.resolve()).then(function () { return total; });
  }

  /* Keep (or bring up to date) a course: its pages always fetched again, images and documents
   * only when missing; what the course no longer has leaves the cache. */
  function keep(manifestUrl, limit) {
    return fetch(manifestUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error(manifestUrl + " " + response.status);
        return response.json();
      }).then(function (manifest) {
        var pages = manifest.pages.map(function (p) { return new URL(p, location.href).href; });
        var files = manifest.images.concat(manifest.documents.filter(function (d) {
          return d.bytes <= limit;
        })).map(function (f) { return new URL(f.url, location.href).href; });
        var urls = pages.concat(files);
        return caches.open(COURSE_PREFIX + manifest.course).then(function (cache) {
          return cacheAll(cache, urls, function (url) { return pages.indexOf(url) >= 0; })
            .then(function (bytes) {
              return cache.keys().then(function (requests) {
                return Promise.all(requests.filter(function (r) {
                  return urls.indexOf(r.url) < 0;
                }).map(function (r) { return cache.delete(r); }));
              }).then(function () {
                var record = { course: manifest.course, title: manifest.title, url: pages[0],
                  manifest: manifestUrl, version: manifest.version, bytes: bytes, limit: limit,
                  learner: learner, saved_at: Date.now(), checked_at: Date.now() };
                return Q.put("courses", record).then(function () { return record; });
              });
            });
        });
      });
  }

  function removeKept(course) {
    return caches.delete(COURSE_PREFIX + course).then(function () {
      return Q.remove("courses", course);
    });
  }

  function keptCourses() {
    return Q.all("courses").then(mine);
  }

  function forgetKept(which) {
    return Q.all("courses").then(function (courses) {
      return Promise.all(courses.filter(which).map(function (c) { return removeKept(c.course); }));
    });
  }

  /* After actions were applied, the kept pages show old progress: fetch them again. */
  function refreshKeptPages() {
    return keptCourses().then(function (courses) {
      return Promise.all(courses.map(function (c) { return keep(c.manifest, c.limit); }));
    }).catch(function () {});
  }

  /* A course republished since it was kept is kept again (at most every ten minutes). */
  function updateStale() {
    return keptCourses().then(function (courses) {
      return Promise.all(courses.map(function (c) {
        if (Date.now() - c.checked_at < 600000) return c;
        return fetch(c.manifest, { credentials: "same-origin", cache: "no-store" })
          .then(function (response) {
            if (response.status === 401 || response.status === 403 || response.status === 404) {
              return removeKept(c.course).then(function () { return null; });
            }
            return response.json().then(function (manifest) {
              if (manifest.version === c.version) {
                c.checked_at = Date.now();
                return Q.put("courses", c).then(function () { return c; });
              }
              return keep(c.manifest, c.limit);
            });
          }).catch(function () { return c; });
      }));
    });
  }

  function setUpKeep(section) {
    var course = Number(section.dataset.offlineCourse);
    var state = section.querySelector("[data-offline-state]");
    var estimate = section.querySelector("[data-offline-estimate]");
    var limit = section.querySelector("select");
    var keepButton = section.querySelector("[data-offline-keep]");
    var removeButton = section.querySelector("[data-offline-remove]");
    var manifest = null;
    var s = section.dataset;

    function show(record, message) {
      state.textContent = message || (record
        ? fill(s.kept, { size: size(record.bytes), date: new Date(record.saved_at).toLocaleDateString(document.documentElement.lang || undefined) })
        : s.notKept);
      keepButton.textContent = record ? s.update : s.keep;
      removeButton.hidden = !record;
      if (record) limit.value = String(record.limit);
      showEstimate();
    }
    function showEstimate() {
      if (!manifest) { estimate.textContent = ""; return; }
      var max = Number(limit.value);
      var bytes = manifest.page_bytes_estimate;
      var left = 0;
      manifest.images.forEach(function (i) { bytes += i.bytes; });
      manifest.documents.forEach(function (d) { if (d.bytes <= max) bytes += d.bytes; else left += 1; });
      estimate.textContent = fill(s.estimate, { size: size(bytes) }) +
        (left ? " " + fill(s.leftOut, { count: left }) : "");
    }
    function find() {
      return keptCourses().then(function (courses) {
        return courses.filter(function (c) { return c.course === course; })[0] || null;
      });
    }

    limit.addEventListener("change", showEstimate);
    keepButton.addEventListener("click", function () {
      keepButton.disabled = true;
      state.textContent = s.saving;
      keep(s.manifest, Number(limit.value)).then(function (record) { show(record); }, function () {
        state.textContent = s.failed;
      }).then(function () { keepButton.disabled = false; });
    });
    removeButton.addEventListener("click", function () {
      removeKept(course).then(function () { show(null, s.removed); keepButton.focus(); });
    });
    section.hidden = false;
    find().then(function (record) {
      show(record);
      if (!navigator.onLine) return;
      fetch(s.manifest, { credentials: "same-origin", cache: "no-store" })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (found) {
          manifest = found;
          showEstimate();
          if (found && record && found.version !== record.version) {
            state.textContent = s.saving;
            return keep(s.manifest, record.limit).then(function (updated) { show(updated, fill(s.updated, { size: size(updated.bytes) })); });
          }
          return null;
        }).catch(function () {});
    });
  }

  /* The offline page lists the courses kept on this phone. */
  function listKept(list) {
    keptCourses().then(function (courses) {
      courses.forEach(function (c) {
        var item = element("li");
        var link = element("a", "", c.title);
        link.href = c.url;
        item.appendChild(link);
        list.appendChild(item);
      });
      document.getElementById("kept-courses").hidden = !courses.length;
    });
  }

  // --- On every page -------------------------------------------------------------------------

  var kept = document.querySelector("[data-offline-kept]");
  if (kept) listKept(kept);
  // A kept course is readable only by the account that kept it: a page of anyone else (or
  // of nobody logged in: a session that ended without logging out) removes it. Not on the
  // offline page, which the phone shows without knowing who is logged in.
  else forgetKept(function (c) { return c.learner !== learner; }).catch(noop);
  // The worker keeps the offline page as the visitor who installed it saw it: keep it
  // again, once a session, as the visitor now sees it (a learner: their courses on this phone).
  if (navigator.onLine && !kept && sessionStorage.getItem("ssw-offline-page") !== text.learner) {
    caches.open("ssw-shell").then(function (cache) {
      return cache.add(new Request(text.offline, { cache: "reload", credentials: "same-origin" }));
    }).then(function () { sessionStorage.setItem("ssw-offline-page", text.learner); })
      .catch(function () {});
  }

  var section = document.querySelector("[data-offline-course]");
  if (section && learner !== null) setUpKeep(section);
  Q.all("pending").then(function (pending) {
    return Promise.all(mine(pending).filter(function (p) {
      return Date.now() - Date.parse(p.occurred_at) > PENDING_STALE;
    }).map(function (p) {
      return Q.put("events", p).then(function () { return Q.remove("pending", p.event_id); });
    }));
  }).catch(noop).then(showQueue).then(function (count) {
    if (navigator.onLine && count) return sendNow();
    return null;
  }).then(function () {
    // The course page checks its own course (setUpKeep); other pages check the others.
    if (navigator.onLine && learner !== null && !section) return updateStale();
    return null;
  }).catch(function () {});
  window.addEventListener("online", function () { sendNow(); });
})();
