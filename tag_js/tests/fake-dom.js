// A tiny stand-in for the browser globals the tag touches. Timers only run
// when the test says so; fetch and sendBeacon record what they were given.

/** localStorage-like; `blocked` makes every access throw, as in a sandboxed iframe. */
export function fakeStorage(blocked) {
  var m = new Map();
  function guard() {
    if (blocked) throw new Error('SecurityError: access denied');
  }
  return {
    map: m,
    getItem: function (k) { guard(); return m.has(k) ? m.get(k) : null; },
    setItem: function (k, v) { guard(); m.set(k, String(v)); },
    removeItem: function (k) { guard(); m.delete(k); }
  };
}

/** A document.cookie jar keeping name=value and the attributes last written. */
function cookieJar(doc, blocked) {
  var jar = new Map();
  doc.cookieAttrs = {};
  Object.defineProperty(doc, 'cookie', {
    get: function () {
      if (blocked) throw new Error('SecurityError: cookies blocked');
      return Array.from(jar, function (e) { return e[0] + '=' + e[1]; }).join('; ');
    },
    set: function (s) {
      if (blocked) throw new Error('SecurityError: cookies blocked');
      var parts = s.split(';'), i = parts[0].indexOf('=');
      var name = parts[0].slice(0, i).trim();
      doc.cookieAttrs[name] = parts.slice(1).map(function (p) { return p.trim(); });
      if (doc.cookieAttrs[name].includes('max-age=0')) jar.delete(name);
      else jar.set(name, parts[0].slice(i + 1));
    }
  });
  doc.jar = jar;
}

/**
 * A window. Options: href, referrer, storage (shared across "page loads"),
 * jar (a Map of cookies to share), blocked, respond(call) -> status or throws
 * for a network error, beacon (sendBeacon's return value).
 */
export function fakeWindow(o) {
  o = o || {};
  var listeners = {}, timers = [];
  var doc = { referrer: o.referrer || '', visibilityState: 'visible', currentScript: null, documentElement: {} };
  cookieJar(doc, o.blocked);
  if (o.jar) o.jar.forEach(function (v, k) { doc.jar.set(k, v); });
  function on(target) {
    target.addEventListener = function (type, fn) {
      (listeners[type] = listeners[type] || []).push(fn);
    };
  }
  on(doc);
  var w = {
    location: new URL(o.href || 'https://www.motoassur.fr/devis/'),
    document: doc,
    localStorage: o.storage || fakeStorage(o.blocked),
    crypto: 'crypto' in o ? o.crypto : globalThis.crypto,
    history: {
      state: null,
      pushState: function (state, title, url) { w.location.href = new URL(url, w.location.href).href; },
      replaceState: function (state, title, url) { w.location.href = new URL(url, w.location.href).href; }
    },
    // Present so that the feature check passes; the fake document has no DOM to watch.
    MutationObserver: function () {},
    fetches: [],
    beacons: [],
    timers: timers,
    navigator: {
      sendBeacon: function (url, body) {
        w.beacons.push({ url: url, body: body, data: JSON.parse(body) });
        return o.beacon !== false;
      }
    },
    setTimeout: function (fn, ms) {
      timers.push({ fn: fn, ms: ms });
      return timers.length;
    },
    fetch: function (url, init) {
      var call = { url: url, init: init, data: JSON.parse(init.body) };
      w.fetches.push(call);
      return new Promise(function (resolve) {
        resolve({ status: (o.respond || function () { return 204; })(call) });
      });
    }
  };
  on(w);
  /** Fire an event on the window or the document. */
  w.fire = function (type, target) {
    (listeners[type] || []).forEach(function (fn) { fn({ type: type, target: target }); });
  };
  /** Run due timers (all of them, whatever their delay) and let promises settle; returns the delays seen. */
  w.tick = async function () {
    var delays = [];
    while (timers.length) {
      var t = timers.shift();
      delays.push(t.ms);
      t.fn();
      await new Promise(function (r) { setImmediate(r); });
    }
    return delays;
  };
  return w;
}

/** The stub the install snippet defines, bound to window `w`. */
export function installStub(w) {
  w.parcours = w.parcours || function () { (w.parcours.q = w.parcours.q || []).push(arguments); };
  return w.parcours;
}

/** All events sent so far by fetch, in order. */
export function sent(w) {
  return w.fetches.flatMap(function (f) { return f.data.events; });
}

/** All events sent so far by fetch or sendBeacon, in order. */
export function delivered(w) {
  return sent(w).concat(w.beacons.flatMap(function (b) { return b.data.events; }));
}

/** localStorage keys and cookies the tag wrote. */
export function stored(w) {
  return { local: Array.from(w.localStorage.map.keys()).sort(), cookies: Array.from(w.document.jar.keys()).sort() };
}
