// systemd/luks-ssm-generator, the shell hook systemd runs: a skipped volume's reason reaches the kernel log (and so
// the journal) whenever systemd runs it — systemd < 251 sets no SYSTEMD_SCOPE — and a person running it sees stderr.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const HOOK = fileURLToPath(new URL('../../systemd/luks-ssm-generator', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'luks-ssm-generator-hook-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The hook with /dev/kmsg and /usr/sbin/luks-ssm pointed at files here; the fake CLI warns once on stderr. */
function stageHook(): { hook: string; kmsg: string } {
  const kmsg = join(dir, 'kmsg');
  const cli = join(dir, 'luks-ssm');
  writeFileSync(kmsg, '');
  writeFileSync(cli, '#!/bin/sh\necho "luks-ssm-generator: /etc/luks-ssm/bad.conf:3: unknown key, skipping volume bad" >&2\necho "args: $*"\n');
  chmodSync(cli, 0o755);
  const hook = join(dir, 'hook');
  writeFileSync(hook, readFileSync(HOOK, 'utf8').replaceAll('/dev/kmsg', kmsg).replaceAll('/usr/sbin/luks-ssm', cli));
  chmodSync(hook, 0o755);
  return { hook, kmsg };
}

const LINE = 'luks-ssm-generator: /etc/luks-ssm/bad.conf:3: unknown key, skipping volume bad\n';

describe('luks-ssm-generator (the hook)', () => {
  it.each([
    ['systemd >= 251 (SYSTEMD_SCOPE=system)', { SYSTEMD_SCOPE: 'system' }, ['/tmp/normal', '/tmp/early', '/tmp/late']],
    ['systemd < 251 at boot (no SYSTEMD_SCOPE, output dirs under /run/systemd/)', {}, ['/run/systemd/generator', '/run/systemd/generator.early', '/run/systemd/generator.late']],
  ])('%s: the reason goes to the kernel log, tagged for journalctl -k -t luks-ssm-generator', (_name, env, args) => {
    const { hook, kmsg } = stageHook();
    const run = spawnSync(hook, args, { env: { PATH: '/usr/bin:/bin', ...env }, encoding: 'utf8' });
    expect({ status: run.status, stderr: run.stderr, stdout: run.stdout }).toEqual({ status: 0, stderr: '', stdout: `args: generate ${args.join(' ')}\n` });
    expect(readFileSync(kmsg, 'utf8')).toBe(LINE);
  });

  it('run by hand into another directory: the reason stays on stderr', () => {
    const { hook, kmsg } = stageHook();
    const run = spawnSync(hook, [join(dir, 'out')], { env: { PATH: '/usr/bin:/bin' }, encoding: 'utf8' });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: LINE });
    expect(readFileSync(kmsg, 'utf8')).toBe('');
  });
});
