import { resolveConfig, endpoint } from './config.js';
import { storage } from './storage.js';
import { capture } from './capture.js';
import { identity, uuid } from './identity.js';
import { transport } from './transport.js';

/**
 * Start the tag on window `w` and return the `parcours` command function.
 * `src` is the script's own URL, `raw` the injected plan (or the placeholder).
 */
export function start(w, src, raw) {
  var stub = w.parcours;
  if (stub && stub.l) return stub; // the tag was included twice

  var cfg = resolveConfig(raw),
    now = Date.now,
    loc = w.location,
    store = storage(w),
    ids = identity(store, w.crypto),
    send = transport(w, endpoint(cfg, src, loc.href), now),
    captured = capture(store, loc.search, cfg, now()),
    seq = 0;

  // Built and stamped now, in call order; only the sending is deferred.
  function track(name, props, form, step) {
    var t = now(),
      ev = { id: uuid(w.crypto), e: name, t: t, q: ++seq, vid: ids.v, sid: ids.s(t), url: loc.href, ref: w.document.referrer };
    if (form) ev.f = form;
    if (step) ev.s = step;
    if (captured) ev.c = captured;
    // Copied so that the caller mutating its object later changes nothing.
    if (props && typeof props == 'object') ev.p = Object.assign({}, props);
    send(ev);
  }

  function parcours(cmd, a, b, c) {
    try {
      if (cmd == 'page') track('page_view');
      else if (typeof a == 'string') {
        if (cmd == 'step' && typeof b == 'string') track('form_step', c, a, b);
        else if (cmd == 'submit') track('form_submit', b, a);
        else if (cmd == 'track') track(a, b);
      }
    } catch (e) {}
  }
  parcours.l = 1;

  parcours('page');
  var q = (stub && stub.q) || [];
  for (var i = 0; i < q.length; i++) parcours.apply(0, q[i]);
  w.parcours = parcours;
  return parcours;
}
