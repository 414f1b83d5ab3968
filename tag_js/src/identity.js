// Visitor id in a first-party cookie (JS cookies and localStorage get the same
// 7-day cap under Safari's ITP, so a mirror would not help); session id with its last activity, renewed after 30
// minutes of inactivity. Links to the plan's other sites carry the visitor and session ids
// in `_pcl` (id.timestamp in ms.session id). The landing adopts it only if it has the
// shape of the ids this tag makes, the link was decorated less than 2 minutes
// ago, and the visitor comes from one of the plan's sites (the referrer): a
// shared or bookmarked URL, or a redirector stamping fresh links with one id,
// does not merge people. Both times come from the visitor's own clock (the
// same browser decorates and lands), so the only skew is a clock corrected in
// between: a link up to 2 minutes in the future is accepted too, none further.
import { YEAR, attempt } from './storage.js';

export var VID = '_pcid';
export var SID = '_pcs';
export var LINK = '_pcl';
var SESSION_MS = 18e5;
var LINK_MS = 12e4;
// The shape of the ids the tag makes (UUIDs, lower case as both ways below write them): nothing else is adopted.
var ID = /^[\da-f]{8}(-[\da-f]{4}){3}-[\da-f]{12}$/;

/**
 * A random UUID v4. randomUUID exists only in secure contexts, hence the
 * fallback (one getRandomValues call for all 31 random digits: it is slow).
 */
export var uuid = (c, b, i = 0) =>
  c.randomUUID ? c.randomUUID() : ((b = c.getRandomValues(new Uint8Array(31))), ([1e7] + -1e3 + -4e3 + -8e3 + -1e11).replace(/[018]/g, (d) => (d ^ (b[i++] & (15 >> (d / 4)))).toString(16)));

/**
 * What a decorated link carries, [visitor id, time, session id], if well formed, fresh and followed from one of
 * `hosts`; else false. The session id makes the hop between two of the plan's sites one visit, landing where it
 * began, rather than a new one whose referrer is the other site (a link without it, made by the tag before
 * November 2026, is not adopted: the tag is served by the collector, to every site at once).
 */
export function linked(search, now, referrer, hosts) {
  var p = (new URLSearchParams(search).get(LINK) || '').split('.');
  return ID.test(p[0]) && ID.test(p[2]) && /^\d+$/.test(p[1]) && Math.abs(now - p[1]) < LINK_MS && hosts.includes(attempt(() => new URL(referrer).hostname)) && p;
}

/** `href` carrying `link` (visitor id.time.session id); without it, `href` cleaned of it. */
export function decorate(href, link) {
  var u = new URL(href);
  link ? u.searchParams.set(LINK, link) : u.searchParams.delete(LINK);
  return u.href;
}

/**
 * {v: visitor id, s(now): session id touched at `now`, save(): store both};
 * state stays in memory while storage is blocked or not consented.
 */
export function identity(store, c, link = 0) {
  var s = link && { i: link[2], a: link[1] },
    v = store.getCookie(VID);
  v = link[0] || (ID.test(v) && v) || uuid(c);
  var ids = {
    v: v,
    s: (now) => {
      // Storage is touched at most every 10 s (a localStorage write costs tens
      // of microseconds): the session then ends 30 min after the last activity, give or take 10 s.
      if (!(now - (s || 0).a < 1e4)) {
        // Re-read: another tab may have touched the same session.
        s = store.read(SID) || s;
        if (!(now - (s || 0).a < SESSION_MS)) s = { i: uuid(c) };
        s.a = now;
        store.write(SID, s, SESSION_MS / 1e3);
      }
      return s.i;
    },
    save: () => {
      store.setCookie(VID, v, YEAR);
      if (s) store.write(SID, s, SESSION_MS / 1e3);
    }
  };
  ids.save();
  return ids;
}
