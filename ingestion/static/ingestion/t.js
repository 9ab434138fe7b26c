/*! eventbase web tracker: <script src="https://HOST/t.js" data-key="INGEST_KEY" defer></script>
 * API: eventbase.track(name, props), eventbase.identify(userId, traits), eventbase.page(props),
 * eventbase.reset(), eventbase.flush(). Plain ES2017, no build step; served by eventbase at /t.js.
 * data-cookieless: no cookie is read or written and anonymous events carry no id; the server
 * gives them a per-day id (the project's cookieless mode). */
(function (w, d) {
  "use strict";
  if (w.eventbase && w.eventbase.__loaded) return;
  var s = d.currentScript || d.querySelector("script[data-key]");
  if (!s) return;
  var key = s.getAttribute("data-key");
  var host = (s.getAttribute("data-host") || new URL(s.src, location.href).origin).replace(/\/$/, "");
  var url = host + "/api/v1/events?key=" + encodeURIComponent(key);
  var AID = "eb_aid", UID = "eb_uid", YEAR = 31536000;
  var BATCH = 20, WAIT = 1000, MAX_TRIES = 8;
  var queue = [], inflight = false, tries = 0, timer = 0, lastPath = "";

  function uuid() {
    if (w.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64;
    b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }
  // First-party cookies, so the id survives across pages of the site (and its subpaths).
  function getCookie(name) {
    var m = d.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : null;
  }
  function setCookie(name, value, maxAge) {
    d.cookie = name + "=" + encodeURIComponent(value) + "; Path=/; Max-Age=" + maxAge + "; SameSite=Lax" +
      (location.protocol === "https:" ? "; Secure" : "");
  }
  var cookieless = s.hasAttribute("data-cookieless") && s.getAttribute("data-cookieless") !== "false";
  if (cookieless) { getCookie = function () { return null; }; setCookie = function () {}; }
  var anon = getCookie(AID);
  if (!anon && !cookieless) anon = uuid(); // cookieless: no id; the server derives one per day
  setCookie(AID, anon, YEAR); // refresh the expiry on every visit
  var user = getCookie(UID);

  function context() {
    return {
      $current_url: location.href, $pathname: location.pathname, $host: location.host, $title: d.title,
      $referrer: d.referrer || undefined, $screen_width: screen.width, $screen_height: screen.height,
      $lib: "eventbase-web"
    };
  }
  function enqueue(name, props, userId) {
    var p = context(), k;
    for (k in props || {}) p[k] = props[k];
    queue.push({ event: name, event_id: uuid(), user_id: userId || user || anon || undefined, timestamp: new Date().toISOString(), properties: p });
    if (queue.length >= BATCH) send(); else if (!timer) timer = setTimeout(send, WAIT);
  }
  function body(events) {
    return JSON.stringify({ sent_at: new Date().toISOString(), events: events });
  }
  // text/plain and the key in the URL keep these "simple" CORS requests: no preflight round trip.
  function send() {
    clearTimeout(timer);
    timer = 0;
    if (inflight || !queue.length) return;
    var events = queue.splice(0, 100), data = body(events);
    inflight = true;
    fetch(url, { method: "POST", body: data, headers: { "Content-Type": "text/plain" }, keepalive: data.length < 60000, credentials: "omit" })
      .then(function (r) {
        if (r.status >= 500 || r.status === 429) throw r;
        tries = 0; // 2xx, or 4xx that a retry cannot fix: the batch is done
      })
      .catch(function (r) {
        // Retry with exponential back-off (and the server's Retry-After); ids make retries safe.
        if (++tries > MAX_TRIES) { tries = 0; return; }
        queue = events.concat(queue);
        var after = r && r.headers && parseInt(r.headers.get("Retry-After"), 10);
        var delay = Math.max(Math.min(1000 * Math.pow(2, tries - 1), 30000) * (0.75 + Math.random() / 2), (after || 0) * 1000);
        timer = setTimeout(send, delay);
      })
      .then(function () {
        inflight = false;
        if (queue.length && !timer) timer = setTimeout(send, WAIT);
      });
  }
  // On leaving the page fetch may be cancelled: sendBeacon hands the queue to the browser.
  function beacon() {
    if (!queue.length) return;
    var data = body(queue.splice(0, 100));
    if (!(navigator.sendBeacon && navigator.sendBeacon(url, new Blob([data], { type: "text/plain" })))) {
      fetch(url, { method: "POST", body: data, headers: { "Content-Type": "text/plain" }, keepalive: true });
    }
  }
  function page(props) {
    lastPath = location.pathname + location.search;
    enqueue("$pageview", props);
  }

  var api = {
    __loaded: true,
    track: function (name, props) { enqueue(String(name), props); },
    page: page,
    identify: function (userId, traits) {
      userId = String(userId);
      // Only an anonymous visitor is linked: switching between two known users merges nobody.
      // (Cookieless: the visitor's id is the server's, so there is nothing to link here.)
      enqueue("$identify", { $anon_distinct_id: user || !anon ? undefined : anon, $set: traits || undefined }, userId);
      user = userId;
      setCookie(UID, user, YEAR);
    },
    reset: function () {
      user = null;
      anon = cookieless ? null : uuid();
      setCookie(UID, "", 0);
      setCookie(AID, anon, YEAR);
    },
    flush: send,
    id: function () { return user || anon || null; }
  };
  var pending = w.eventbase && w.eventbase.q; // calls made before the script loaded
  w.eventbase = api;
  (pending || []).forEach(function (c) { api[c[0]].apply(api, c.slice(1)); });

  if (s.getAttribute("data-auto-pageview") !== "false") {
    page();
    // Single-page apps change the URL without loading a page.
    ["pushState", "replaceState"].forEach(function (m) {
      var orig = history[m];
      history[m] = function () {
        var r = orig.apply(this, arguments);
        if (location.pathname + location.search !== lastPath) page();
        return r;
      };
    });
    w.addEventListener("popstate", function () { if (location.pathname + location.search !== lastPath) page(); });
  }
  w.addEventListener("pagehide", beacon);
  d.addEventListener("visibilitychange", function () { if (d.visibilityState === "hidden") beacon(); });
})(window, document);
