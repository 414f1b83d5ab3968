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
 * A DOM element, enough for the declarative helper: attributes, children,
 * attribute-selector queries, document order, and rendering (`getClientRects`
 * is empty when the element or an ancestor has the `hidden` attribute or the
 * class `off`, standing for a stylesheet's `display: none`). Changes are
 * reported to the document's mutation observers.
 */
export class FakeElement {
  constructor(doc, tag, attrs, children) {
    this.ownerDocument = doc;
    this.tagName = tag.toUpperCase();
    this.attrs = new Map(Object.entries(attrs || {}));
    this.children = [];
    this.parentNode = null;
    (children || []).forEach((c) => this.appendChild(c, true));
  }
  getAttribute(name) {
    return this.attrs.has(name) ? this.attrs.get(name) : null;
  }
  hasAttribute(name) {
    return this.attrs.has(name);
  }
  setAttribute(name, value) {
    this.attrs.set(name, String(value));
    this.ownerDocument.mutated({ type: 'attributes', target: this, attributeName: name });
  }
  removeAttribute(name) {
    this.attrs.delete(name);
    this.ownerDocument.mutated({ type: 'attributes', target: this, attributeName: name });
  }
  get hidden() {
    return this.hasAttribute('hidden');
  }
  set hidden(v) {
    v ? this.setAttribute('hidden', '') : this.removeAttribute('hidden');
  }
  get className() {
    return this.getAttribute('class') || '';
  }
  set className(v) {
    this.setAttribute('class', v);
  }
  appendChild(child, quiet) {
    child.parentNode = this;
    this.children.push(child);
    if (!quiet) this.ownerDocument.mutated({ type: 'childList', target: this });
    return child;
  }
  remove() {
    var p = this.parentNode;
    p.children.splice(p.children.indexOf(this), 1);
    this.parentNode = null;
    this.ownerDocument.mutated({ type: 'childList', target: p });
  }
  get isConnected() {
    return this.ownerDocument.documentElement.contains(this);
  }
  contains(other) {
    for (var n = other; n; n = n.parentNode) if (n == this) return true;
    return false;
  }
  /** Descendants in document order. */
  descendants() {
    return this.children.flatMap((c) => [c, ...c.descendants()]);
  }
  /** Selectors of the form `[attr]` or `[attr="value"]`, comma-separated. */
  querySelectorAll(selector) {
    var tests = selector.split(',').map((part) => {
      var m = /^\s*\[([\w-]+)(?:="([^"]*)")?\]\s*$/.exec(part);
      if (!m) throw new Error('fake DOM: unsupported selector ' + part);
      return (el) => el.hasAttribute(m[1]) && (m[2] === undefined || el.getAttribute(m[1]) == m[2]);
    });
    return this.descendants().filter((el) => tests.some((t) => t(el)));
  }
  getClientRects() {
    for (var n = this; n instanceof FakeElement; n = n.parentNode)
      if (n.hidden || n.className.split(' ').includes('off')) return [];
    return [{}];
  }
  /** 4 (DOCUMENT_POSITION_FOLLOWING) when `other` comes after this element, else 2. */
  compareDocumentPosition(other) {
    var order = [this.ownerDocument.documentElement, ...this.ownerDocument.documentElement.descendants()];
    return order.indexOf(other) > order.indexOf(this) ? 4 : 2;
  }
}

/**
 * A document with a DOM (documentElement > body) and MutationObserver: records
 * are queued as changes happen and delivered in one batch per observer, in a
 * microtask, as browsers do.
 */
function fakeDocument(doc) {
  var observers = [];
  doc.documentElement = new FakeElement(doc, 'html', {}, []);
  doc.body = doc.documentElement.appendChild(new FakeElement(doc, 'body'), true);
  doc.querySelectorAll = (sel) => doc.documentElement.querySelectorAll(sel);
  /** A new element: `h('section', {'data-parcours-step': 'rider', hidden: ''}, ...children)`. */
  doc.h = (tag, attrs, ...children) => new FakeElement(doc, tag, attrs, children);
  doc.mutated = (record) => {
    observers.forEach((o) => {
      var opts = o.options;
      if (!(o.target == record.target || (opts.subtree && o.target.contains(record.target)))) return;
      if (record.type == 'attributes' && !(opts.attributes && (!opts.attributeFilter || opts.attributeFilter.includes(record.attributeName)))) return;
      if (record.type == 'childList' && !opts.childList) return;
      if (o.records.push(record) == 1) queueMicrotask(() => o.callback(o.records.splice(0), o));
    });
  };
  doc.MutationObserver = class {
    constructor(callback) {
      this.callback = callback;
      this.records = [];
    }
    observe(target, options) {
      this.target = target;
      this.options = options;
      observers.push(this);
    }
    disconnect() {
      observers.splice(observers.indexOf(this), 1);
    }
  };
  doc.observers = observers;
}

/**
 * A window. Options: href, referrer, storage (shared across "page loads"),
 * jar (a Map of cookies to share), blocked, respond(call) -> status or throws
 * for a network error, beacon (sendBeacon's return value), pageAge (ms since
 * the page started loading, what performance.now() returns; none: no
 * `performance`), noLocalStorage (localStorage throws but cookies work).
 */
export function fakeWindow(o) {
  o = o || {};
  var listeners = {}, timers = [];
  var doc = { referrer: o.referrer || '', visibilityState: 'visible', currentScript: null };
  fakeDocument(doc);
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
    localStorage: o.storage || fakeStorage(o.blocked || o.noLocalStorage),
    crypto: 'crypto' in o ? o.crypto : globalThis.crypto,
    history: {
      state: null,
      pushState: function (state, title, url) { w.location.href = new URL(url, w.location.href).href; },
      replaceState: function (state, title, url) { w.location.href = new URL(url, w.location.href).href; }
    },
    MutationObserver: doc.MutationObserver,
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
  if ('pageAge' in o) w.performance = { now: () => o.pageAge + 0.25 };
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

/** The stub the install snippet defines, bound to window `w`: it queues each call with its time. */
export function installStub(w) {
  w.parcours = w.parcours || function () { arguments.t = Date.now(); (w.parcours.q = w.parcours.q || []).push(arguments); };
  return w.parcours;
}

/** The stub of snippets before calls were timed: the queue only. */
export function installOldStub(w) {
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
