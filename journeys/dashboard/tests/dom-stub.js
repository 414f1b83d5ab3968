// Just enough of a browser for the page's modules to load under node (they read the URL and the page's
// <meta> at load): the tests call their pure functions, never draw.
globalThis.document ??= { querySelector: () => null, getElementById: () => null, documentElement: {} };
globalThis.location ??= { search: '' };
globalThis.window ??= { addEventListener() {} };
