import { resolveConfig, endpoint } from './config.js';
import { storage, attempt, YEAR } from './storage.js';
import { capture, KEY as CAPTURED } from './capture.js';
import { identity, uuid, linked, decorate, VID, SID } from './identity.js';
import { transport, KEY as QUEUE } from './transport.js';

var u; // undefined, for keys that must not be sent
var CONSENT = '_pcok'; // 1 granted, 0 denied; absent: not asked yet
var MAX_HELD = 100;

/** addEventListener whose handler never throws into the page. */
var on = (target, type, fn, capture) => target.addEventListener(type, (e) => attempt(() => fn(e)), capture);

/**
 * Start the tag on window `w` and return the `parcours` command function.
 * `src` is the script's own URL, `raw` the injected plan (or the placeholder),
 * `auto` false to send page views only when the site calls parcours('page').
 */
export function start(w, src, raw, auto) {
  var stub = w.parcours;
  if (stub && stub.l) return stub; // the tag was included twice

  var cfg = resolveConfig(raw),
    now = Date.now,
    loc = w.location,
    doc = w.document,
    hist = w.history,
    store = storage(w),
    ok = store.read(CONSENT),
    required = cfg.c == 'required',
    t0 = now(),
    // When the page started loading: the tag may load seconds later, and calls
    // queued by the snippet meanwhile carry their own, earlier, times.
    pageStart = t0 - ~~attempt(() => w.performance.now()),
    link = linked(loc.search, t0, doc.referrer, cfg.s),
    held = [],
    forms = {},
    seq = 0,
    lastStep = pageStart,
    lastUrl,
    when,
    form = (f) => (forms[f] = forms[f] || { c: {} });

  store.on = ok === 1 || (!required && ok !== 0);
  var ids = identity(store, w.crypto, link),
    out = transport(w, endpoint(cfg, src, loc.href), now, store, cfg.n),
    cap = capture(store, loc.search, cfg, t0);

  // The visitor id must not stay in the address bar, to be shared or bookmarked.
  if (link) hist.replaceState(hist.state, '', decorate(loc.href));

  var send = (ev) => {
    if (!required || ok === 1 || cfg.x.includes(ev.e)) out.add(ev);
    // Not asked yet: held in memory until the visitor answers.
    else if (ok !== 0 && held.push(ev) > MAX_HELD) held.shift();
  };

  // Built and stamped in call order, with the time of the call (`when`, set while
  // queued calls are replayed, else now); only the sending is deferred.
  function track(name, props, f, s, extra) {
    // Keys left undefined are not sent (JSON drops them). Properties are
    // copied so that the caller mutating its object later changes nothing.
    var t = when || now();
    send({ id: uuid(w.crypto), e: name, t: t, q: ++seq, vid: ids.v, sid: ids.s(t), url: loc.href, ref: doc.referrer, f: f, s: s, c: cap.c, p: props && { ...props }, ...extra });
    return t;
  }

  var page = () => {
    lastUrl = loc.href;
    track('page_view');
  };

  function step(f, s, props) {
    var F = form(f);
    // dt: milliseconds since the previous step of this page (or since the page started loading).
    lastStep = track('form_step', props, f, s, { dt: Math.max((when || now()) - lastStep, 0) });
    F.s = s;
    F.c[s] = 1;
    F.a = 0;
  }

  function leave() {
    for (var f in forms) {
      var F = forms[f];
      // The step the visitor was on: the first of the plan's steps not completed yet, whatever
      // the order they were completed in (else, all done but not submitted, the last one).
      if (F.s && !F.d && !F.a) (F.a = 1), track('form_abandon', u, f, (cfg.f[f] || []).find((s) => !F.c[s]) || F.s);
    }
    out.flushNow();
  }

  function consent(v) {
    if (v != 'granted' && v != 'denied') return;
    store.on = ok = +(v == 'granted');
    store.write(CONSENT, ok, YEAR, 1);
    if (ok) {
      ids.save();
      store.write(CAPTURED, cap.m, YEAR);
      held.map(out.add);
    } else store.clear([SID, CAPTURED, QUEUE, VID]);
    held = [];
  }

  function parcours(cmd, a, b, c) {
    attempt(() => {
      var F, k;
      if (cmd == 'page') page();
      else if (cmd == 'consent') consent(a);
      else if (cmd == 'identify') track('identify', a);
      else if (typeof a == 'string') {
        if (cmd == 'step' && typeof b == 'string') step(a, b, c);
        else if (cmd == 'submit') {
          // An identical submit of the same form (a double click) is sent once per page.
          (F = form(a))[(k = JSON.stringify(b) + '')] || track('form_submit', b, a);
          F[k] = F.d = 1;
        } else if (cmd == 'track') track(a, b);
      }
    });
  }
  parcours.l = 1;

  auto = auto !== false;
  // The automatic page view and the landing's touch date from when the page started loading.
  when = pageStart;
  if (auto) page();
  // Each landing with new campaign parameters is a touch of its own, for multi-touch attribution.
  if (cap.t) track('touch', u, u, u, { c: cap.t });
  // Queued calls: the snippet stamps each with its time (`t`); older snippets did not.
  ((stub && stub.q) || []).map((args) => ((when = Math.max(pageStart, Math.min(args.t, t0)) || t0), parcours(...args)));
  when = 0;
  w.parcours = parcours;

  on(w, 'pagehide', leave);
  on(doc, 'visibilitychange', () => doc.visibilityState == 'hidden' && leave());

  // Single-page sites: a new URL through the History API is a new page. An in-page anchor (`#faq`: Chrome
  // fires popstate) is not; a hash route (`#/devis`, `#!/devis`) is.
  var route = () => auto && path(loc.href) != path(lastUrl) && page(),
    path = (h) => h.replace(/#(?![!/]).*/, ''),
    push = hist.pushState;
  hist.pushState = function () {
    var r = push.apply(this, arguments);
    attempt(route);
    return r;
  };
  on(w, 'popstate', route);

  // Cross-domain linking: decorate links to the plan's other sites as they are followed.
  var follow = (e) => {
    var a = store.on && e.target.closest('a');
    if (a && cfg.s.includes(a.hostname) && a.hostname != loc.hostname) a.href = decorate(a.href, ids.v + '.' + now() + '.' + ids.s(now()));
  };
  on(doc, 'click', follow, true);

  // Add-ons the plan uses (the collector puts them in the config): each gets the window and
  // `mark(form, step)`, a step completed once per page, or `mark(form)`, the form ended.
  cfg.a.map((addon) => attempt(() => addon(w, (f, s) => (s ? form(f).c[s] || step(f, s) : (form(f).d = 1)))));
  return parcours;
}
