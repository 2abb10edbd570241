// Writes build/luks-ssm.cache: runs the bundle once through the shipped loader, then saves V8's code for
// every function that ran (functions compiled lazily during the run are included, unlike produceCachedData).
// Usage: node code-cache.cjs <loader> <cache-out> <luks-ssm args…>
'use strict';
const { writeFileSync } = require('node:fs');
const { resolve } = require('node:path');

const [loaderArg, cacheArg, ...cliArgs] = process.argv.slice(2);
const loaderPath = resolve(loaderArg);
const { readBundle, compileBundle, cacheFileFor, runBundle } = require(loaderPath);
const bundle = readBundle();
const script = compileBundle(bundle, undefined);
process.argv = [process.argv[0], loaderPath, ...cliArgs];
process.once('exit', () => writeFileSync(resolve(cacheArg), cacheFileFor(bundle, script)));
runBundle(script);
