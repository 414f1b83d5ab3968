import { start } from './tracker.js';

// currentScript is only set while the script first runs: read it before anything else.
var script = document.currentScript;

// The collector replaces this literal, quotes included, with the compiled plan
// as a JSON object when it serves t.js. Left as a string, defaults apply.
var config = "__PARCOURS_CONFIG__";

try {
  // A browser without fetch gets nothing rather than errors. (One too old to
  // parse ES2019 stops at a syntax error before running anything.)
  if (window.fetch)
    start(window, script && script.src, config, !(script && script.getAttribute('data-auto') == 'false'));
} catch {}
