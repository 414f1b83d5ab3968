// Every figure on the page comes from the reports API (/api/reports/NAME), the
// same function behind `parcours report`. The session cookie authenticates;
// the CSRF token from the page's <meta> goes in a header on every call, which
// a cross-site page cannot send.
import { t } from './i18n.js';

var CSRF = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';
var MAX_AT_ONCE = 2; // each query already uses every core of the engine: more at once only delays the first panels
var running = [], waiting = [], stopped = false; // the batches of the calls under way; the calls waiting
var ended = false; // the session has ended (a call answered 401): no call goes any more
var batch = 0, batchOpen = false;
// Figures computed up to 15 minutes before are taken at once, even if data came in since (the server answers
// them with an Age header); the panel then says "as of" and asks for current ones behind them (panel.js).
var MAX_AGE = 900;
var computedAt = new WeakMap(), fresh = new WeakSet(), behind = new WeakSet(); // by a load's signal

/** A refusal of the API: its status, its message (English), and its stable code and values when it has them. */
export class ApiError extends Error {
  constructor(status, message, code, values) {
    super(message);
    this.status = status;
    this.code = code || null;
    this.values = values || {};
  }
}

/** The report's URL for these parameters (empty values left out). */
export function reportUrl(name, params, format) {
  var q = new URLSearchParams();
  for (var [k, v] of Object.entries(params)) if (v !== '' && v != null) q.set(k, v);
  q.set('format', format || 'json');
  return `/api/reports/${encodeURIComponent(name)}?${q}`;
}

/** The calls asked for in one turn of the page (its load, a change of period or of a panel's control) are a batch. */
function currentBatch() {
  if (!batchOpen) {
    batch++;
    batchOpen = true;
    setTimeout(() => (batchOpen = false));
  }
  return batch;
}

/**
 * A turn to call: at once when a place is free and no newer batch is under way, else once a call is done. A
 * call given up (aborted) while waiting leaves the queue.
 */
async function slot(signal, last) {
  var mine = last ? 0 : currentBatch(); // batch 0: after every call asked for by the viewer
  if (running.length < MAX_AT_ONCE && !running.some((b) => b > mine)) {
    running.push(mine);
    return mine;
  }
  await new Promise((resolve, reject) => {
    var entry = { resolve, batch: mine };
    waiting.push(entry);
    if (signal) signal.addEventListener('abort', () => {
      var i = waiting.indexOf(entry);
      if (i < 0) return;
      waiting.splice(i, 1);
      reject(new DOMException('given up while waiting', 'AbortError'));
    }, { once: true });
  });
  return mine;
}

/**
 * A call of this batch is done: the next calls go, from the newest batch (what the viewer just asked for) in
 * the order asked; an older batch's calls wait until the newer ones are answered, so that they have the
 * engine to themselves.
 */
function release(mine) {
  running.splice(running.indexOf(mine), 1);
  while (waiting.length && running.length < MAX_AT_ONCE) {
    var newest = Math.max(...waiting.map((w) => w.batch));
    if (running.some((b) => b > newest)) return;
    var next = waiting.splice(waiting.findIndex((w) => w.batch == newest), 1)[0];
    running.push(next.batch);
    next.resolve();
  }
}

/** The login page, back here after: this view, and this panel (#attribution), which the login page's script carries. */
export function loginUrl() {
  return '/dashboard/login?next=' + encodeURIComponent(location.pathname + location.search) + location.hash;
}

/** The page is leaving (logging out): no report is asked for any more; its answer would be a 401. */
export function stop() {
  stopped = true;
  waiting.splice(0).forEach((w) => {
    running.push(w.batch);
    w.resolve();
  });
}

/**
 * The session has ended (logged out elsewhere, expired): the page says so once, and the calls waiting their
 * turn, or asked for later, are refused here without being sent; each would be refused 401, an error in the
 * console.
 */
function sessionEnded() {
  if (ended) return;
  ended = true;
  document.dispatchEvent(new CustomEvent('parcours:unauthorized'));
}

async function call(url, init, last) {
  var mine = await slot(init && init.signal, last);
  try {
    if (stopped) throw new DOMException('the page is leaving', 'AbortError');
    if (ended) throw new ApiError(401, t('session.expired'));
    var resp = await fetch(url, {
      credentials: 'same-origin',
      ...init,
      headers: { 'X-CSRF-Token': CSRF, Accept: 'application/json', ...(init && init.headers) },
    });
    if (!resp.ok) {
      var message = resp.statusText, body = {};
      try {
        body = (await resp.json()) || {};
        message = body.error || message;
      } catch (e) {
        /* not JSON: keep the status text */
      }
      if (resp.status == 401) sessionEnded();
      // No answer of the collector's (a proxy's error page, a time limit in between): the status is all there is.
      if (typeof body.error != 'string') throw new ApiError(resp.status, message, 'http_status', { status: String(resp.status) });
      throw new ApiError(resp.status, message, typeof body.code == 'string' ? body.code : null, body.values);
    }
    return resp;
  } finally {
    release(mine);
  }
}

/**
 * A report's JSON for these parameters. Figures older than the data (an Age header) are noted under the load's
 * signal (asOf); a load marked fresh asks for current figures only.
 */
export async function report(name, params, signal) {
  var headers = signal && fresh.has(signal) ? {} : { 'Cache-Control': `max-age=${MAX_AGE}` };
  var resp = await call(reportUrl(name, params, 'json'), { signal, headers }, signal && behind.has(signal));
  var age = resp.headers.get('Age');
  if (age != null && signal) {
    var at = Date.now() - Number(age) * 1000;
    if (!(computedAt.get(signal) <= at)) computedAt.set(signal, at);
  }
  return resp.json();
}

/** When the oldest figures a load got were computed, if data came in since (else undefined). */
export function asOf(signal) {
  return computedAt.get(signal);
}

/**
 * The load of this signal asks for current figures: the viewer's Refresh, or, `last`, the current figures
 * behind older ones already drawn, asked for once no call the viewer waits for is left.
 */
export function askFresh(signal, last) {
  fresh.add(signal);
  if (last) behind.add(signal);
}

/** POST a report's parameters in the body (for values that must stay out of URLs, e.g. a phone number). */
export async function reportPost(name, body, signal) {
  var resp = await call(`/api/reports/${encodeURIComponent(name)}`, {
    method: 'POST',
    signal,
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return resp.json();
}

/**
 * Download the report as CSV, as the API renders it, under a readable file name; `excel`: the API's `excel` format,
 * the same CSV as Excel set to French opens it (a BOM, `;`, decimal commas), named NAME-excel.csv.
 */
export async function downloadCsv(name, params, filename, excel) {
  var resp = await call(reportUrl(name, params, excel ? 'excel' : 'csv'), { headers: { Accept: 'text/csv' } });
  save(await resp.blob(), excel ? excelName(filename) : filename);
}

/** Save CSV text the page wrote from a report's JSON (a part of a report the API's CSV does not hold). */
export function saveCsv(text, filename, excel) {
  save(new Blob([text], { type: 'text/csv;charset=utf-8' }), excel ? excelName(filename) : filename);
}

function excelName(filename) {
  return filename.replace(/\.csv$/, '') + '-excel.csv';
}

function save(blob, filename) {
  var a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}
