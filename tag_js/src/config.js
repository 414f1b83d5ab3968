// The plan's keys, with the values a tag gets when the collector did not
// inject a compiled plan (unit tests, a t.js copied by hand).
export var DEFAULTS = {
  v: '',
  e: 'collect',
  b: 'courtier',
  p: ['utm_source', 'utm_medium', 'utm_campaign', 'utm_term', 'utm_content', 'gclid', 'fbclid', 'msclkid'],
  d: 30,
  f: {}
};

/** Merge the injected plan over the defaults; anything but an object means "not injected". */
export function resolveConfig(raw) {
  return Object.assign({}, DEFAULTS, raw && typeof raw == 'object' ? raw : {});
}

/**
 * The collector endpoint, relative to the tag's own URL so that a site
 * proxying /p/t.js posts to /p/collect. Falls back to the page URL when the
 * script URL is unknown (inline copy of the tag).
 */
export function endpoint(cfg, scriptSrc, pageHref) {
  return new URL(cfg.e, scriptSrc || pageHref).href;
}
