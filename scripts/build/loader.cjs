#!/usr/bin/env node
// The shipped entry: compiles the bundle beside it with the V8 code cache made at build time (measured on
// fetch: CPU 186 -> 114 ms, peak RSS 79 -> 71 MiB against running the bundle directly).
'use strict';
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { Script, constants } = require('node:vm');

const bundlePath = join(__dirname, 'luks-ssm.bundle.cjs');
const cachePath = join(__dirname, 'luks-ssm.cache');
/** The cache file starts with the SHA-256 of the bundle it was made from; V8's data follows. */
const DIGEST_BYTES = 32;

/** The bundle's text and its SHA-256, which binds the cache to it. */
function readBundle() {
  const bytes = readFileSync(bundlePath);
  return { text: bytes.toString('utf8'), digest: createHash('sha256').update(bytes).digest() };
}

/** V8's data when the cache was made from exactly this bundle; missing, unreadable or foreign: none. */
function readCache(bundle) {
  let file;
  try {
    file = readFileSync(cachePath);
  } catch {
    return { state: 'missing' };
  }
  // V8 itself checks only the source's length (and its own version and flags): a bundle changed in place
  // to the same length would run the old bundle's cached code. Hence the digest (issue #10, item 4).
  if (file.length <= DIGEST_BYTES || !file.subarray(0, DIGEST_BYTES).equals(bundle.digest)) return { state: 'rejected' };
  return { state: 'read', cachedData: file.subarray(DIGEST_BYTES) };
}

/** The bundle file is one function expression, (exports, require, module, __filename, __dirname) => …, as
 * Node wraps a CommonJS module (scripts/build/bundle.mjs). */
function compileBundle(bundle, cachedData) {
  return new Script(bundle.text, {
    filename: bundlePath,
    cachedData,
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
}

/** What code-cache.cjs writes: the bundle's digest, then V8's data for everything the script ran. */
function cacheFileFor(bundle, script) {
  return Buffer.concat([bundle.digest, script.createCachedData()]);
}

function runBundle(script) {
  script.runInThisContext()(module.exports, require, module, bundlePath, __dirname);
}

/** The bundle needs Node 24 (what the packages ship): an older Node fails deep inside a library with a cryptic error
 * ("u_.union is not a function"), so say which Node is needed instead. */
const NODE_MAJOR_MIN = 24;
/** src/errors.ts UNSUPPORTED (a test keeps the two equal). */
const EXIT_UNSUPPORTED = 85;

function refuseOldNode() {
  if (Number(process.versions.node.split('.')[0]) >= NODE_MAJOR_MIN) return;
  process.stderr.write(`luks-ssm: Node.js ${NODE_MAJOR_MIN} or newer is needed, this is ${process.version} (${process.execPath}); run /usr/sbin/luks-ssm, which brings its own, or put Node ${NODE_MAJOR_MIN} first on PATH (npm ci installs it in node_modules/.bin)\n`);
  process.exit(EXIT_UNSUPPORTED);
}

if (require.main === module) {
  refuseOldNode();
  const bundle = readBundle();
  const cache = readCache(bundle);
  const script = compileBundle(bundle, cache.cachedData);
  // V8 rejects a cache made by another Node/V8 version: it then just compiles.
  if (process.env.LUKS_SSM_DEBUG_CACHE === '1') {
    const state = cache.state !== 'read' ? cache.state : script.cachedDataRejected ? 'rejected' : 'accepted';
    process.stderr.write(`cache: ${state}\n`);
  }
  runBundle(script);
} else {
  module.exports = { readBundle, compileBundle, cacheFileFor, runBundle };
}
