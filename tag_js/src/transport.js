// Outbound queue: events are pushed synchronously, sent asynchronously in
// batches, one request at a time. Body is a string without a content-type
// header, so it goes as text/plain: a "simple" request, no CORS pre-flight.

var MAX_QUEUE = 100; // oldest events are dropped beyond this
var MAX_BATCH = 20;
var MAX_TRIES = 4; // retries after the first attempt: 1s, 2s, 4s, 8s

/** An `enqueue(event)` function posting batches to `url`. */
export function transport(w, url, now) {
  var queue = [], busy, timer, tries = 0;

  function schedule(ms) {
    if (!timer) timer = w.setTimeout(flush, ms);
  }

  function body(events) {
    return JSON.stringify({ sent: now(), events: events });
  }

  // Runs from a timer, outside the command's try: must not throw either.
  function flush() {
    timer = 0;
    if (busy || !queue.length) return;
    var batch = queue.splice(0, MAX_BATCH);
    busy = 1;
    try {
      w.fetch(url, { method: 'POST', body: body(batch), keepalive: true, credentials: 'omit' })
        // Network failures and 5xx are worth retrying; a 4xx will fail again.
        .then(function (r) { return r.status < 500; }, function () {})
        .then(function (ok) {
          busy = 0;
          if (ok || tries >= MAX_TRIES) tries = 0;
          else queue = batch.concat(queue), tries++;
          if (queue.length) schedule(tries ? 500 << tries : 0);
        });
    } catch (e) {
      busy = 0;
    }
  }

  // The page may be going away: hand everything still queued to the browser.
  function unload() {
    try {
      if (queue.length && w.navigator.sendBeacon(url, body(queue))) queue = [];
    } catch (e) {}
  }

  w.addEventListener('pagehide', unload);
  w.document.addEventListener('visibilitychange', function () {
    if (w.document.visibilityState == 'hidden') unload();
  });

  return function (event) {
    if (queue.push(event) > MAX_QUEUE) queue.shift();
    schedule(0);
  };
}
