import { start } from './tracker.js';

// currentScript is only set while the script first runs: read it before anything else.
var script = document.currentScript;

// The collector replaces this literal, quotes included, with the compiled plan
// as a JSON object when it serves t.js. Left as a string, defaults apply.
var config = "__PARCOURS_CONFIG__";

try {
  start(window, script && script.src, config);
} catch (e) {}
