// Every access is guarded: storage throws in sandboxed iframes, with cookies
// blocked, in Safari private mode (quota 0) and on corrupted values.
// Writes happen only while `on` is set: consent mode `required` keeps it off
// until `consent granted`, so nothing is stored before.
//
// localStorage first. Where it is unavailable (blocked, or refusing writes)
// a small key given a lifetime falls back to a first-party cookie of the same
// name, so that the session, the captured parameters and the consent answer
// still follow the visitor to the next page; the outbound queue is too big
// for a cookie and stays in memory. With cookies blocked too, nothing persists:
// each page starts a new session without the landing's parameters.

export var YEAR = 34214400; // 13 months in seconds, the longest lifetime the CNIL accepts for an audience cookie

/** fn(), or undefined if it throws. */
export var attempt = (fn) => {
  try {
    return fn();
  } catch {}
};

/** localStorage and first-party cookies, for window `w`; never throws. */
export function storage(w) {
  var ls = () => w.localStorage,
    doc = w.document,
    s = {
      on: 1,
      // A key absent from localStorage may have been written to the cookie (setItem refused).
      read: (k) => attempt(() => JSON.parse(attempt(() => ls().getItem(k)) || s.getCookie(k))),
      /** Store `v` as JSON under `k`; a cookie for `age` seconds if localStorage refuses. `force`: the consent answer itself. */
      write: (k, v, age, force) =>
        (s.on || force) &&
        attempt(() => {
          v = JSON.stringify(v);
          try {
            ls().setItem(k, v);
          } catch {
            age && s.setCookie(k, v, age, force);
          }
        }),
      getCookie: (name) => attempt(() => decodeURIComponent(doc.cookie.match('(?:^|; )' + name + '=([^;]*)')[1])),
      /** A max-age of 0 deletes the cookie, whatever `on` says. Values are encoded: any text is safe. */
      setCookie: (name, value, maxAge, force) =>
        attempt(() => (s.on || force || !maxAge) && (doc.cookie = name + '=' + encodeURIComponent(value) + ';max-age=' + maxAge + ';path=/;SameSite=Lax')),
      /** Forget `keys`, from localStorage and from cookies. */
      clear: (keys) =>
        keys.map((k) => {
          attempt(() => ls().removeItem(k));
          s.setCookie(k, '', 0);
        })
    };
  return s;
}
