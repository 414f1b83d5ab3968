// The plan's keys, with the values a tag gets when the collector did not
// inject a compiled plan (unit tests, a t.js copied by hand). A key the
// compiler leaves out takes its default (v, the plan version, is not used by
// the tag; c, the consent mode, is exempt unless "required").
//   v plan version, e endpoint (relative to the script URL), b broker param,
//   p {captured param: keep_days}, the broker's included, c consent mode,
//   x events allowed before consent, s the plan's site hosts, f forms,
//   a the add-ons the plan uses (functions, spliced in by the collector),
//   n the plan's phone and pii properties (an event carrying one is never stored).
export var DEFAULTS = {
  e: 'collect',
  b: 'courtier',
  p: { courtier: 30 },
  x: [],
  s: [],
  f: {},
  a: [],
  n: []
};

/** Merge the injected plan over the defaults; anything but an object means "not injected". */
export function resolveConfig(raw) {
  return { ...DEFAULTS, ...(typeof raw == 'object' && raw) };
}

/**
 * The collector endpoint, relative to the tag's own URL so that a site
 * proxying /p/t.js posts to /p/collect. Falls back to the page URL when the
 * script URL is unknown (inline copy of the tag).
 */
export function endpoint(cfg, scriptSrc, pageHref) {
  return new URL(cfg.e, scriptSrc || pageHref).href;
}
