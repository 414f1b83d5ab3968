// Outbound queue: events are pushed synchronously, sent asynchronously in
// batches, one request at a time. Body is a string without a content-type
// header, so it goes as text/plain: a "simple" request, no CORS pre-flight.
// Every batch is written to localStorage before it is sent and removed only
// once the collector answered: what a closed tab, a network failure or a
// beacon lost in flight leaves behind is sent again by the next page. The
// collector deduplicates by event id, so a resend never counts twice.
// Except an event carrying personal data (a non-empty value for one of the
// plan's phone or pii properties, `pii`): a raw phone is written nowhere, so it
// lives in memory only, and is lost if the page goes before it is delivered.
import { attempt } from './storage.js';

export var KEY = '_pcq';
export var MAX_QUEUE = 100; // oldest events are dropped beyond this, in memory and in storage
var MAX_BATCH = 20;
var MAX_TRIES = 5; // retries after the first attempt in one page: 1s, 2s, 4s, 8s, 16s

/** {add(event), flushNow()}: posts batches to `url`; `store` keeps what is unsent but carries none of `pii`. */
export function transport(w, url, now, store, pii) {
  var saved = store.read(KEY),
    queue = Array.isArray(saved) ? saved : [],
    busy = [],
    // Handed to a beacon when the page was hidden: not confirmed, so kept in the stored copy, and sent again
    // with the next event if the visitor comes back (a beacon fails offline, without a word).
    beaconed = [],
    timer,
    tries = 0,
    schedule = (ms) => timer || (timer = w.setTimeout(flush, ms)),
    body = (events) => JSON.stringify({ sent: now(), events: events }),
    // The batch in flight and the queue: all that is not acknowledged yet, but
    // the events carrying personal data ([v] != '': a value, anything but
    // undefined, null or '', in a few bytes). (Two tabs overwrite each other's
    // copy: an event then rests on its own tab's memory, as it would without storage.)
    save = () => store.write(KEY, beaconed.concat(busy, queue).filter((e) => !pii.some((k) => e.p && [e.p[k]] != '')).slice(-MAX_QUEUE));

  // Runs from a timer, outside the command's try: must not throw either.
  function flush() {
    timer = 0;
    if (busy[0] || !queue[0]) return;
    var batch = (busy = queue.splice(0, MAX_BATCH));
    try {
      save();
      w.fetch(url, { method: 'POST', body: body(batch), keepalive: true, credentials: 'omit' })
        // Network failures, 5xx and 429 are worth retrying; another 4xx
        // (400, 413, 422) would fail again, so the batch is dropped.
        .then((r) => r.status < 500 && r.status != 429, () => {})
        .then((ok) => {
          busy = [];
          if (ok) tries = 0;
          else queue = batch.concat(queue);
          save();
          // Given up for this page: the batch stays stored for the next one,
          // and a new event tries again.
          if (!ok && tries++ >= MAX_TRIES) tries = 0;
          else if (queue.length) schedule(tries ? 500 << tries : 0);
        });
    } catch {
      busy = [];
      queue = batch.concat(queue);
    }
  }

  schedule(0);

  return {
    add: (event) => {
      queue = beaconed.concat(queue);
      beaconed = [];
      if (queue.push(event) > MAX_QUEUE) queue.shift();
      schedule(0);
    },
    // The page may be going away: hand everything still queued to the browser,
    // keeping a stored copy since a beacon's delivery is never confirmed.
    flushNow: () =>
      attempt(() => {
        if (queue[0] && (save(), w.navigator.sendBeacon(url, body(queue)))) beaconed.push(...queue.splice(0));
      })
  };
}
