// Bundle src/index.js and src/dashboard.css (and the login page's script, src/login.js) into content-hashed files under
// ../static/, with manifest.json naming them, for the collector to serve with
// a long cache lifetime (a new build is a new name). `node scripts/build.js [outdir]`.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { relative, resolve } from 'node:path';

var ROOT = fileURLToPath(new URL('..', import.meta.url));
export var OUTDIR = resolve(ROOT, 'static');

/** The bundled JS and CSS as strings (also used by the tests). */
export async function bundle() {
  var common = { bundle: true, minify: true, write: false, legalComments: 'none', logLevel: 'warning' };
  var script = (entry) => build({ ...common, entryPoints: [resolve(ROOT, entry)], format: 'iife', target: 'es2020' });
  var [js, css, login] = await Promise.all([
    script('src/index.js'),
    build({ ...common, entryPoints: [resolve(ROOT, 'src/dashboard.css')], loader: { '.css': 'css' } }),
    script('src/login.js') // its own file: the login page loads a few hundred bytes, not the dashboard's 270 KB
  ]);
  return { 'dashboard.js': js.outputFiles[0].text, 'dashboard.css': css.outputFiles[0].text, 'login.js': login.outputFiles[0].text };
}

/** dashboard.js -> dashboard.3f2a9c1b.js: the name changes when the content does. */
export function hashed(name, text) {
  var digest = createHash('sha256').update(text).digest('hex').slice(0, 12);
  var dot = name.lastIndexOf('.');
  return `${name.slice(0, dot)}.${digest}${name.slice(dot)}`;
}

if (process.argv[1] == fileURLToPath(import.meta.url)) {
  var outdir = resolve(process.argv[2] || OUTDIR);
  var files = await bundle();
  mkdirSync(outdir, { recursive: true });
  for (var old of readdirSync(outdir)) rmSync(resolve(outdir, old));
  var manifest = {};
  for (var [name, text] of Object.entries(files)) {
    manifest[name] = hashed(name, text);
    var gz = gzipSync(text, { level: 9 });
    writeFileSync(resolve(outdir, manifest[name]), text);
    writeFileSync(resolve(outdir, manifest[name] + '.gz'), gz); // served as is to browsers that take gzip
    console.log(`${relative(process.cwd(), resolve(outdir, manifest[name]))}: ${Buffer.byteLength(text)} B raw, ${gz.length} B gzip`);
  }
  writeFileSync(resolve(outdir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
}
