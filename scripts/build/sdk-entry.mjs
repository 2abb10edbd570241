// Build plugin: imports of an AWS SDK barrel resolve to just the modules defining the names imported. A barrel
// reached through a lazy import is evaluated whole (esbuild's lazy init runs every module it re-exports), e.g.
// client-ssm's index ran every command and the aggregated client, and @smithy/core/checksum loaded node:zlib.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLIENT = /^@aws-sdk\/client-[a-z0-9-]+$/;
/** Barrels made of `export { … } from "./file"` lines only, narrowed wherever they are imported from. */
const NAMED_BARRELS = /^@smithy\/core\/checksum$/;
const NAMESPACE = 'sdk-entry';

/** The value names a file imports or re-exports from `pkg` (type-only imports are skipped). */
function namesImported(source, pkg) {
  const names = new Set();
  const statement = new RegExp(`(?:import|export)\\s+(type\\s+)?\\{([^}]*)\\}\\s*from\\s*['"]${pkg}['"]`, 'g');
  for (const [, typeOnly, list] of source.matchAll(statement)) {
    if (typeOnly) continue;
    for (const item of list.split(',')) {
      const name = item.trim().replace(/^type\s+.*/, '').split(/\s+as\s+/)[0];
      if (name) names.add(name);
    }
  }
  if (new RegExp(`import\\s+(\\*\\s*as\\s+)?[\\w$]+\\s*(,[^;]*)?from\\s*['"]${pkg}['"]`).test(source)) {
    throw new Error(`sdk-entry: a namespace or default import of ${pkg} cannot be narrowed`);
  }
  return names;
}

/** A client package: the client itself or one command. */
function clientExport(pkgDir, name) {
  for (const file of [join(pkgDir, 'dist-es', `${name}.js`), join(pkgDir, 'dist-es', 'commands', `${name}.js`)]) {
    if (existsSync(file)) return { file, name };
  }
  throw new Error(`sdk-entry: no client or command module for '${name}' in ${pkgDir} (extend scripts/build/sdk-entry.mjs)`);
}

/** A named barrel: where its `export { name } from "./file"` line points. */
function barrelExport(barrelFile, name) {
  for (const [, list, from] of readFileSync(barrelFile, 'utf8').matchAll(/export\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
    for (const item of list.split(',')) {
      const [original, alias = original] = item.trim().split(/\s+as\s+/);
      if (alias === name) return { file: resolve(dirname(barrelFile), from.endsWith('.js') ? from : `${from}.js`), name: original };
    }
  }
  throw new Error(`sdk-entry: ${barrelFile} has no named re-export of '${name}'`);
}

function exportLine({ file, name }, as) {
  return `export { ${name === as ? name : `${name} as ${as}`} } from ${JSON.stringify(file)};`;
}

export const sdkEntry = {
  name: NAMESPACE,
  setup(build) {
    build.onResolve({ filter: /^@(aws-sdk|smithy)\// }, ({ path, importer, namespace }) => {
      if (namespace !== 'file') return undefined;
      const client = CLIENT.test(path) && importer.startsWith(join(ROOT, 'src'));
      if (!client && !NAMED_BARRELS.test(path)) return undefined;
      return { path: `${path}?from=${importer}`, namespace: NAMESPACE, pluginData: { pkg: path, importer, client } };
    });
    build.onLoad({ filter: /.*/, namespace: NAMESPACE }, ({ pluginData: { pkg, importer, client } }) => {
      const require = createRequire(importer);
      const names = [...namesImported(readFileSync(importer, 'utf8'), pkg)];
      const pkgDir = client ? dirname(require.resolve(`${pkg}/package.json`)) : undefined;
      const barrel = client ? undefined : require.resolve(pkg).replace(/[\\/]dist-cjs[\\/]/, '/dist-es/');
      const lines = names.map((name) => exportLine(client ? clientExport(pkgDir, name) : barrelExport(barrel, name), name));
      return { contents: lines.join('\n'), loader: 'js', resolveDir: dirname(importer) };
    });
  },
};
