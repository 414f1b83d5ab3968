// Every access is guarded: storage throws in sandboxed iframes, with cookies
// blocked, in Safari private mode (quota 0) and on corrupted values.

/** localStorage and first-party cookies, for window `w`; never throws. */
export function storage(w) {
  return {
    get: function (k) {
      try {
        return JSON.parse(w.localStorage.getItem(k));
      } catch (e) {}
    },
    set: function (k, v) {
      try {
        w.localStorage.setItem(k, JSON.stringify(v));
      } catch (e) {}
    },
    cookie: function (name) {
      try {
        var m = w.document.cookie.match('(?:^|; )' + name + '=([^;]*)');
        return m ? decodeURIComponent(m[1]) : null;
      } catch (e) {}
    },
    setCookie: function (name, value, maxAge) {
      try {
        w.document.cookie = name + '=' + encodeURIComponent(value) + ';max-age=' + maxAge + ';path=/;SameSite=Lax';
      } catch (e) {}
    }
  };
}
