// Bundle src/index.js into the one minified IIFE the collector serves, then
// print its size against the budget. `node scripts/build.js [outfile]`.
import { buildSync } from 'esbuild';
import { minify } from 'terser';
import { gzipSync, brotliCompressSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { writeFileSync, mkdirSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';

var ROOT = fileURLToPath(new URL('..', import.meta.url));
export var OUTFILE = resolve(ROOT, '../collector/static/t.js');
export var PLACEHOLDER = '"__PARCOURS_CONFIG__"';
var BUDGET_GZIP = 2500;

/**
 * The minified bundle, as a string (also used by the tests): esbuild joins the
 * modules into one IIFE, terser minifies it (about 150 B gzip smaller than
 * esbuild's own minifier on this code).
 */
export async function bundle() {
  var out = buildSync({
    entryPoints: [resolve(ROOT, 'src/index.js')],
    bundle: true,
    format: 'iife',
    target: 'es2019',
    legalComments: 'none',
    write: false,
    logLevel: 'warning'
  });
  // terser would fold the placeholder string away (typeof "..." is known):
  // it minifies a free variable of that name instead, quoted back after.
  var code = out.outputFiles[0].text.split(PLACEHOLDER).join(PLACEHOLDER.slice(1, -1));
  var min = await minify(code, {
    ecma: 2019,
    compress: { passes: 3, unsafe_arrows: true, pure_getters: true },
    // The tag's own object keys (never DOM or wire names) are shortened too.
    mangle: { properties: { regex: /^(read|write|getCookie|setCookie|clear|on|save|add|flushNow)$/, builtins: true } },
    format: { comments: false }
  });
  return min.code.split(PLACEHOLDER.slice(1, -1)).join(PLACEHOLDER);
}

/** Problems that must fail the build, as sentences. */
export function check(code) {
  var problems = [], n = code.split(PLACEHOLDER).length - 1;
  if (n != 1) problems.push(`expected the config placeholder ${PLACEHOLDER} exactly once, found it ${n} times`);
  var gz = gzipSync(code, { level: 9 }).length;
  if (gz > BUDGET_GZIP) problems.push(`over the size budget by ${gz - BUDGET_GZIP} B gzip`);
  return problems;
}

if (process.argv[1] == fileURLToPath(import.meta.url)) {
  var outfile = resolve(process.argv[2] || OUTFILE);
  var code = await bundle();
  mkdirSync(dirname(outfile), { recursive: true });
  writeFileSync(outfile, code);
  var raw = Buffer.byteLength(code), gz = gzipSync(code, { level: 9 }).length, br = brotliCompressSync(code).length;
  console.log(`${relative(process.cwd(), outfile)}: ${raw} B raw, ${gz} B gzip (budget ${BUDGET_GZIP}), ${br} B brotli`);
  var problems = check(code);
  problems.forEach(function (p) { console.error(`error: ${p}`); });
  process.exit(problems.length ? 1 : 0);
}
