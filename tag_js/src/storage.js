// Every access is guarded: storage throws in sandboxed iframes, with cookies
// blocked, in Safari private mode (quota 0) and on corrupted values.
// Writes happen only while `on` is set: consent mode `required` keeps it off
// until `consent granted`, so nothing is stored before.

/** fn(), or undefined if it throws. */
export var attempt = (fn) => {
  try {
    return fn();
  } catch {}
};

/** localStorage and first-party cookies, for window `w`; never throws. */
export function storage(w) {
  var ls = () => w.localStorage,
    s = {
      on: 1,
      read: (k) => attempt(() => JSON.parse(ls().getItem(k))),
      /** `force` stores the consent choice itself, which must survive a refusal. */
      write: (k, v, force) => attempt(() => (s.on || force) && ls().setItem(k, JSON.stringify(v))),
      // Values are ids: nothing to encode.
      getCookie: (name) => attempt(() => w.document.cookie.match('(?:^|; )' + name + '=([^;]*)')[1]),
      /** A max-age of 0 deletes the cookie, whatever `on` says. */
      setCookie: (name, value, maxAge) =>
        attempt(() => (s.on || !maxAge) && (w.document.cookie = name + '=' + value + ';max-age=' + maxAge + ';path=/;SameSite=Lax')),
      /** Forget local keys `keys` and cookie `cookie`. */
      clear: (keys, cookie) => {
        keys.map((k) => attempt(() => ls().removeItem(k)));
        s.setCookie(cookie, '', 0);
      }
    };
  return s;
}
