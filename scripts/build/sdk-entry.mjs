// Build plugin: src/ imports of an AWS SDK client resolve to just the client and commands named there, not the
// package index, whose `export *` (reached through a lazy import) evaluates every command and the aggregated client.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLIENT = /^@aws-sdk\/client-[a-z0-9-]+$/;
const NAMESPACE = 'sdk-entry';

/** The names a file imports or re-exports (values and types alike) from `pkg`. */
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
  return names;
}

/** The module (file path) that defines `name`: the client itself or one command; anything else is not supported. */
function fileOf(pkgDir, name) {
  for (const file of [join(pkgDir, 'dist-es', `${name}.js`), join(pkgDir, 'dist-es', 'commands', `${name}.js`)]) {
    if (existsSync(file)) return file;
  }
  throw new Error(`sdk-entry: no client or command module for '${name}' in ${pkgDir} (import it from a file the plugin knows, or extend the plugin)`);
}

export const sdkEntry = {
  name: NAMESPACE,
  setup(build) {
    build.onResolve({ filter: CLIENT }, ({ path, importer }) => {
      if (!importer.startsWith(join(ROOT, 'src'))) return undefined;
      return { path: `${path}?from=${importer}`, namespace: NAMESPACE, pluginData: { pkg: path, importer } };
    });
    build.onLoad({ filter: /.*/, namespace: NAMESPACE }, ({ pluginData: { pkg, importer } }) => {
      const pkgDir = dirname(createRequire(importer).resolve(`${pkg}/package.json`));
      const names = [...namesImported(readFileSync(importer, 'utf8'), pkg)];
      const lines = names.map((name) => `export { ${name} } from ${JSON.stringify(fileOf(pkgDir, name))};`);
      return { contents: lines.join('\n'), loader: 'js', resolveDir: pkgDir };
    });
  },
};
