// One run per work directory: a second run would delete the first one's disks and share under it.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { isProcessAlive } from './proc.ts';

/** Takes `${workDir}.lock` (O_EXCL, holding our pid); a lock whose process is gone is taken over. */
export function lockWorkDir(workDir: string): () => void {
  const path = `${workDir}.lock`;
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number.parseInt(readFileSync(path, 'utf8'), 10);
      if (isProcessAlive(holder)) throw new Error(`another VM run (pid ${holder}) is using ${workDir}; wait for it or pass --work DIR`);
      rmSync(path, { force: true });
    }
  }
  throw new Error(`could not lock ${workDir}`);
}
