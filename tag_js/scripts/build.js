// Bundle src/index.js into the one minified IIFE the collector serves, and
// each add-on into the expression the collector splices into the config of
// plans that use it; then print their sizes against the budgets.
// `node scripts/build.js [outfile]`.
import { buildSync } from 'esbuild';
import { minify } from 'terser';
import { gzipSync, brotliCompressSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

var ROOT = fileURLToPath(new URL('..', import.meta.url));
export var OUTFILE = resolve(ROOT, '../collector/static/t.js');
export var PLACEHOLDER = '"__PARCOURS_CONFIG__"';
var BUDGET_GZIP = 2560;

/**
 * Add-ons: optional parts of the tag, served only to sites whose plan uses them
 * (the collector splices them into the config, key `a`). Each is a module and
 * the export called as `addon(window, mark)` (see tracker.js).
 */
export var ADDONS = {
  markup: { entry: 'src/declarative.js', name: 'watch', budget: 320 },
  // The collector writes its collect path in place of ENDPOINT (collector/tag.py).
  numbers: { entry: 'src/numbers.js', name: 'numbers', budget: 480, token: true }
};
export var ENDPOINT = '__PARCOURS_ENDPOINT__';

var TERSER = {
  ecma: 2019,
  compress: { passes: 3, unsafe_arrows: true, pure_getters: true },
  // The tag's own object keys (never DOM or wire names) are shortened too.
  mangle: { properties: { regex: /^(read|write|getCookie|setCookie|clear|on|save|add|flushNow)$/, builtins: true } },
  format: { comments: false }
};

function esbuild(entry, format) {
  return buildSync({ entryPoints: [resolve(ROOT, entry)], bundle: true, format: format, target: 'es2019', legalComments: 'none', write: false, logLevel: 'warning' }).outputFiles[0].text;
}

/**
 * The minified bundle, as a string (also used by the tests): esbuild joins the
 * modules into one IIFE, terser minifies it (about 150 B gzip smaller than
 * esbuild's own minifier on this code).
 */
export async function bundle() {
  // terser would fold the placeholder string away (typeof "..." is known):
  // it minifies a free variable of that name instead, quoted back after.
  var code = esbuild('src/index.js', 'iife').split(PLACEHOLDER).join(PLACEHOLDER.slice(1, -1));
  var min = await minify(code, TERSER);
  return min.code.split(PLACEHOLDER.slice(1, -1)).join(PLACEHOLDER);
}

/** Add-on `name` as a JS expression whose value is its function (also used by the tests). */
export async function addon(name) {
  var spec = ADDONS[name];
  // An ES module bundle minus its export statement, wrapped to return the export.
  var code = esbuild(spec.entry, 'esm').replace(/export\s*\{[^}]*\};?\s*$/, '');
  var min = await minify(`var parcoursAddon=(()=>{${code};return ${spec.name}})();`, TERSER);
  var m = /^var parcoursAddon=([\s\S]*);$/.exec(min.code);
  if (!m) throw new Error(`add-on ${name}: unexpected minified shape`);
  return m[1];
}

/** Problems that must fail the build, as sentences. */
export function check(code, addons) {
  var problems = [], n = code.split(PLACEHOLDER).length - 1;
  if (n != 1) problems.push(`expected the config placeholder ${PLACEHOLDER} exactly once, found it ${n} times`);
  var gz = gzipSync(code, { level: 9 }).length;
  if (gz > BUDGET_GZIP) problems.push(`over the size budget by ${gz - BUDGET_GZIP} B gzip`);
  for (var name in addons || {}) {
    var tokens = addons[name].split(ENDPOINT).length - 1;
    if (tokens != (ADDONS[name].token ? 1 : 0)) problems.push(`add-on ${name}: expected the endpoint token ${ENDPOINT} ${ADDONS[name].token ? 'once' : 'nowhere'}, found it ${tokens} times`);
    // What an add-on adds to the served tag: gzip of tag + add-on, minus gzip of the tag alone.
    var extra = gzipSync(code + addons[name], { level: 9 }).length - gz;
    if (extra > ADDONS[name].budget) problems.push(`add-on ${name} over its size budget by ${extra - ADDONS[name].budget} B gzip`);
  }
  return problems;
}

/** Where add-on `name` is written beside the tag `outfile`. */
export var addonFile = (outfile, name) => join(dirname(outfile), 'addons', name + '.js');

if (process.argv[1] == fileURLToPath(import.meta.url)) {
  var outfile = resolve(process.argv[2] || OUTFILE);
  var code = await bundle(), addons = {};
  mkdirSync(join(dirname(outfile), 'addons'), { recursive: true });
  writeFileSync(outfile, code);
  var gzip = (s) => gzipSync(s, { level: 9 }).length;
  var raw = Buffer.byteLength(code), gz = gzip(code), br = brotliCompressSync(code).length;
  console.log(`${relative(process.cwd(), outfile)}: ${raw} B raw, ${gz} B gzip (budget ${BUDGET_GZIP}), ${br} B brotli`);
  for (var name in ADDONS) {
    var file = addonFile(outfile, name);
    writeFileSync(file, (addons[name] = await addon(name)));
    console.log(`${relative(process.cwd(), file)}: +${gzip(code + addons[name]) - gz} B gzip on the tag when a plan uses it (budget ${ADDONS[name].budget})`);
  }
  var problems = check(code, addons);
  problems.forEach(function (p) { console.error(`error: ${p}`); });
  process.exit(problems.length ? 1 : 0);
}
