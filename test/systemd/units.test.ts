// The shipped unit files: their settings must agree with the exit-code table and the generator's constants.
import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findConfigKey } from '../../src/config/index.ts';
import { START_TIMEOUT_MARGIN_SEC } from '../../src/systemd/unit-text.ts';

const SYSTEMD_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'systemd');

/** Key -> values of one section (a key may repeat), comments and continuation-free lines only. */
async function readSection(file: string, section: string): Promise<Map<string, string[]>> {
  const keys = new Map<string, string[]>();
  let current = '';
  for (const line of (await readFile(join(SYSTEMD_DIR, file), 'utf8')).split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const header = /^\[(\w+)\]$/.exec(line);
    if (header) current = header[1]!;
    else if (current === section) {
      const [key, ...rest] = line.split('=');
      keys.set(key!, [...(keys.get(key!) ?? []), rest.join('=')]);
    }
  }
  return keys;
}

const one = (keys: Map<string, string[]>, key: string): string | undefined => keys.get(key)?.at(-1);
const words = (keys: Map<string, string[]>, key: string): string[] => (keys.get(key) ?? []).flatMap((v) => v.split(/\s+/)).filter(Boolean);
const seconds = (value: string | undefined): number => Number(/^(\d+)s$/.exec(value ?? '')?.[1] ?? NaN);

describe('luks-ssm@.service', () => {
  it('is a oneshot that stays active and runs the CLI for its instance', async () => {
    const service = await readSection('luks-ssm@.service', 'Service');
    expect(one(service, 'Type')).toBe('oneshot');
    expect(one(service, 'RemainAfterExit')).toBe('yes');
    expect(one(service, 'ExecStart')).toBe('/usr/sbin/luks-ssm start -- %i');
    expect(one(service, 'ExecStop')).toBe('/usr/sbin/luks-ssm stop -- %i');
    expect(one(await readSection('luks-ssm@.service', 'Install'), 'WantedBy')).toBe('luks-ssm.target');
  });

  it('retries inside one start job (no Restart=: restarts run outside any job and fail the dependents)', async () => {
    const unit = await readSection('luks-ssm@.service', 'Unit');
    const service = await readSection('luks-ssm@.service', 'Service');
    for (const key of ['Restart', 'RestartSec', 'RestartPreventExitStatus']) expect(service.has(key)).toBe(false);
    for (const key of ['StartLimitBurst', 'StartLimitIntervalSec']) expect(unit.has(key)).toBe(false);
    expect(one(service, 'NotifyAccess')).toBe('all');
  });

  it('does not hold logins for the whole retry budget: not Before=remote-fs.target', async () => {
    const unit = await readSection('luks-ssm@.service', 'Unit');
    expect(words(unit, 'Before')).not.toContain('remote-fs.target');
  });

  it('keeps the start timeout above the default TIMEOUT_SEC by the generator margin', async () => {
    const service = await readSection('luks-ssm@.service', 'Service');
    const defaultTimeout = Number(findConfigKey('TIMEOUT_SEC')!.default);
    expect(seconds(one(service, 'TimeoutStartSec'))).toBe(defaultTimeout + START_TIMEOUT_MARGIN_SEC);
  });

  it('wants the network and stops before it, without creating a mount namespace the volume would vanish in', async () => {
    const unit = await readSection('luks-ssm@.service', 'Unit');
    const service = await readSection('luks-ssm@.service', 'Service');
    expect(words(unit, 'Wants')).toContain('network-online.target');
    expect(words(unit, 'After')).toEqual(expect.arrayContaining(['network-online.target', 'network.target']));
    const namespacing = ['PrivateTmp', 'PrivateDevices', 'PrivateMounts', 'ProtectSystem', 'ProtectHome', 'ProtectKernelTunables',
      'ProtectKernelModules', 'ProtectKernelLogs', 'ProtectControlGroups', 'ProtectProc', 'ProcSubset', 'ReadWritePaths',
      'ReadOnlyPaths', 'InaccessiblePaths', 'TemporaryFileSystem', 'BindPaths', 'BindReadOnlyPaths', 'RootDirectory', 'RootImage',
      'MountAPIVFS', 'PrivateUsers', 'DynamicUser', 'MemoryDenyWriteExecute', 'DeviceAllow', 'DevicePolicy', 'ProtectClock'];
    expect(namespacing.filter((key) => service.has(key))).toEqual([]);
    expect(one(service, 'UMask')).toBe('0077');
    expect(one(service, 'LimitCORE')).toBe('0');
    expect(one(service, 'NoNewPrivileges')).toBe('yes');
    expect(words(service, 'UnsetEnvironment')).toContain('NODE_OPTIONS');
    expect(words(service, 'CapabilityBoundingSet')).toEqual(expect.arrayContaining(['CAP_SYS_ADMIN', 'CAP_IPC_LOCK']));
  });
});

describe('luks-ssm.target and the generator script', () => {
  it('is wanted by multi-user.target', async () => {
    expect(one(await readSection('luks-ssm.target', 'Install'), 'WantedBy')).toBe('multi-user.target');
  });

  it('pulls in the login gate, which waits for the volumes before logins but only a bounded time', async () => {
    expect(words(await readSection('luks-ssm.target', 'Unit'), 'Wants')).toContain('luks-ssm-gate.service');
    const unit = await readSection('luks-ssm-gate.service', 'Unit');
    expect(one(unit, 'DefaultDependencies')).toBe('no');
    expect(words(unit, 'After')).toContain('luks-ssm.target');
    expect(words(unit, 'Before')).toContain('systemd-user-sessions.service');
    expect(seconds(one(unit, 'JobTimeoutSec'))).toBeLessThanOrEqual(90);
    expect(unit.has('Requires') || unit.has('RequiredBy')).toBe(false);
  });

  it('execs the CLI generate verb with the directories systemd passes, and is executable', async () => {
    const text = await readFile(join(SYSTEMD_DIR, 'luks-ssm-generator'), 'utf8');
    expect(text.startsWith('#!/bin/sh\n')).toBe(true);
    expect(text.trimEnd().split('\n').at(-1)).toBe('exec /usr/sbin/luks-ssm generate "$@"');
    expect((await stat(join(SYSTEMD_DIR, 'luks-ssm-generator'))).mode & 0o111).toBe(0o111);
  });
});
