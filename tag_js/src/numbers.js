// Tracking numbers ("cookie vocal"), an add-on: served only to sites whose
// plan has a pool of numbers (call_centre.numbers; scripts/build.js).
//   <a href="tel:+33970000000" data-parcours-phone><span data-parcours-phone>09 70 00 00 00</span></a>
// The session's number replaces the page's in every element marked
// data-parcours-phone: a tel: link gets it in its href, an element holding
// only text gets it as its text. The number is leased from the collector
// (POST <collect>/number) when the page loads, renewed every `r` seconds while
// the page is visible, and the lease ends on the collector's side after the
// session (the pages stop renewing it). Without a session stored (consent not
// given, or refused: the tag stores nothing then), no number is asked and the
// page keeps its own, which it gets back if the session goes.
import { attempt } from './storage.js';
import { VID, SID } from './identity.js';

var MARK = 'data-parcours-phone';
var WAIT = 5e3; // ms between two looks for a session while there is none yet (consent given later)

/** Start on window `w`; called by the tag while it first runs (document.currentScript is still the tag). */
export function numbers(w) {
  var doc = w.document,
    script = doc.currentScript,
    // The collector writes its collect path (relative to the tag) in place of the token.
    url = new URL('__PARCOURS_ENDPOINT__/number', (script && script.src) || w.location.href).href,
    kept = new Map(), // element -> its own [text, href], given back when the session goes
    shown,
    said,
    timer,
    renew = 60;

  function show(n, d) {
    doc.querySelectorAll('[' + MARK + ']').forEach((el) => {
      var href = el.getAttribute('href') || '';
      if (!kept.has(el)) kept.set(el, [el.textContent, href]);
      var own = kept.get(el);
      if (href.startsWith('tel:')) el.setAttribute('href', n ? 'tel:' + n : own[1]);
      if (!el.children.length) el.textContent = n ? d : own[0];
    });
    shown = n;
    said = d;
  }

  // What identity.js stored, read as storage.js does (localStorage first, else the cookie of that name);
  // storage.js itself would double the add-on's size.
  var cookie = (k) => attempt(() => decodeURIComponent(doc.cookie.match('(?:^|; )' + k + '=([^;]*)')[1]));

  function ask() {
    timer = 0;
    var v = cookie(VID),
      s = attempt(() => JSON.parse(attempt(() => w.localStorage.getItem(SID)) || cookie(SID)).i);
    if (!v || !s) {
      if (shown) show();
      return later(WAIT);
    }
    if (doc.visibilityState == 'hidden') return later(renew * 1e3);
    w.fetch(url, { method: 'POST', body: JSON.stringify({ v: v, s: s, u: w.location.href }), credentials: 'omit' })
      .then((r) => r.ok && r.json())
      .then(
        (a) => {
          if (a && a.n && a.n != shown) show(a.n, a.d);
          renew = (a && a.r) || renew;
          later(renew * 1e3);
        },
        () => later(renew * 1e3)
      );
  }

  function later(ms) {
    timer = timer || w.setTimeout(() => attempt(ask), ms);
  }

  // The tag may run before the page's end is parsed: marked elements found later get the number too.
  doc.addEventListener('DOMContentLoaded', () => attempt(() => shown && show(shown, said)));
  // Back to a hidden tab: renewed at once (the lease may have ended meanwhile).
  doc.addEventListener('visibilitychange', () => attempt(() => doc.visibilityState == 'visible' && (w.clearTimeout(timer), ask())));
  ask();
}
