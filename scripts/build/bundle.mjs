// The esbuild step: src/main.ts and its dependencies as one CommonJS file that needs no node_modules.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { leanPino } from './lean-pino.mjs';
import { sdkEntry } from './sdk-entry.mjs';
import { sdkPatches } from './sdk-patches.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const VERSION = JSON.parse(readFileSync(ROOT + 'package.json', 'utf8')).version;

export const ENTRY = 'src/main.ts';
export const CREDENTIAL_CHAIN = 'src/aws/credential-chain.ts';
export const HTTP_HANDLER = 'src/aws/sdk-http-handler.ts';
/** What scripts/build/loader.cjs passes to the function the bundle file evaluates to. */
export const WRAPPER_PARAMS = ['exports', 'require', 'module', '__filename', '__dirname'];

/**
 * SDK clients import their whole package.json for one field (the version in the user agent): keep name
 * and version only, so the bundle carries no dependency list (which names packages it does not contain).
 */
const trimSdkPackageJson = {
  name: 'trim-sdk-package-json',
  setup(build) {
    build.onLoad({ filter: /[\\/]@aws-sdk[\\/][^\\/]+[\\/]package\.json$/ }, async ({ path }) => {
      const { name, version } = JSON.parse(await readFile(path, 'utf8'));
      return { contents: JSON.stringify({ name, version }), loader: 'json' };
    });
  },
};

/** Options measured on the fetch path; see performance-facts.md for why each one is here. */
export function bundleOptions({ outfile, minify = true }) {
  return {
    absWorkingDir: ROOT,
    entryPoints: [ENTRY],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node24',
    // ESM builds of the SDK tree-shake better than its CJS dist (4.0x vs 9x `node -e 0` unbundled).
    mainFields: ['module', 'main'],
    // A dynamic import() of node:http left in a CJS file starts Node's ESM loader (+15-20 ms): with
    // dynamic import marked unsupported, esbuild emits Promise.resolve().then(() => require(...)).
    supported: { 'dynamic-import': false },
    // The SDK's full default chain (SSO, ini files, process, web identity…) costs ~10 ms to load;
    // ours keeps the two providers that can apply: environment and instance metadata.
    // Likewise the SDK's node:http handler: the clients are given ours (src/aws/sdk-http-handler.ts), and this keeps
    // node:http from loading at all (~6 ms of start-up, load and first request).
    alias: { '@aws-sdk/credential-provider-node': './' + CREDENTIAL_CHAIN, '@smithy/node-http-handler': './' + HTTP_HANDLER },
    // dbus-next requires its optional x11 only to find a session bus from an X display; we use the system bus.
    external: ['x11'],
    // src/main.ts prints this for --version; running from source it says "dev".
    define: { LUKS_SSM_VERSION: JSON.stringify(VERSION) },
    // pino without its transports and SonicBoom (src/log.ts gives pino a synchronous stream of its own); SDK
    // barrels narrowed to the names imported; exact, checked SDK patches. Each plugin's file says what it saves.
    plugins: [trimSdkPackageJson, leanPino, sdkEntry, sdkPatches],
    // Minified: 1.8 MB -> 0.8 MB, peak RSS -4 MiB, ~10 ms less CPU on fetch. No keepNames: it costs ~6 ms
    // CPU and 2 MiB at start, and nothing here decides on a class's name (the SDK matches errors by
    // shapeId or by names >= 6 characters precisely so minified code works; execa's and pino's uses are
    // cosmetic). Stack traces show minified names either way.
    minify,
    // The file is the CommonJS wrapper around the bundle, so the loader compiles it as read: wrapping it at
    // run time kept a second copy of the source alive (fetch peak RSS -1 MiB).
    banner: { js: `(function (${WRAPPER_PARAMS.join(', ')}) {` },
    footer: { js: '\n})' },
    sourcemap: false,
    metafile: true,
    logLevel: 'warning',
  };
}

export async function bundle(options) {
  return build(bundleOptions(options));
}
