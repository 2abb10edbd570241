// The `generate` verb run by systemd's generator hook: write units for every configured volume, never fail boot.
import { exitCodeOf, printable } from '../errors.ts';
import { generateUnits, generatorPathsFromEnv } from '../systemd/generator.ts';

export interface GeneratorIo {
  env: Record<string, string | undefined>;
  stderr: (text: string) => void;
}

export async function runGenerator(dirs: string[], io: GeneratorIo): Promise<number> {
  const [normalDir] = dirs as [string, ...string[]];
  await generateUnits(normalDir, {
    ...generatorPathsFromEnv(io.env),
    env: io.env,
    warn: (line) => io.stderr(`luks-ssm-generator: ${printable(line)}\n`),
  });
  return exitCodeOf('OK');
}
