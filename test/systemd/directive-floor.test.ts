// The systemd floor (#11 item 3): every directive in the shipped units and in what the generator writes was introduced
// by systemd 239 (RHEL 8) or earlier, or has a stated harmless fallback; the packages declare the same floor.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/** RHEL 8's systemd, the oldest among the supported distributions (README "Support"). */
export const SYSTEMD_FLOOR = 239;

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TABLE = join(ROOT, 'test/systemd/systemd-directives.txt');

interface Introduced {
  version: number;
  fallback?: string;
}

function readTable(): Map<string, Introduced> {
  const table = new Map<string, Introduced>();
  for (const line of readFileSync(TABLE, 'utf8').split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const match = /^(\S+)\s+(\d+)(?:\s+fallback:\s*(.+))?$/.exec(line);
    if (match === null) throw new Error(`${TABLE}: cannot read line: ${line}`);
    table.set(match[1]!, { version: Number(match[2]), ...(match[3] === undefined ? {} : { fallback: match[3] }) });
  }
  return table;
}

/** Each `Key=value` of a unit file with its section; comments and blank lines skipped. */
function directivesOf(text: string): Array<{ section: string; key: string; value: string }> {
  const out: Array<{ section: string; key: string; value: string }> = [];
  let section = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const heading = /^\[(.+)\]$/.exec(line);
    if (heading !== null) section = heading[1]!;
    else {
      const kv = /^([A-Za-z][A-Za-z0-9]*)\s*=\s*(.*)$/.exec(line);
      if (kv !== null) out.push({ section, key: kv[1]!, value: kv[2]! });
    }
  }
  return out;
}

/** What in `text` an older systemd than `floor` would refuse or not know, one line each; [] when nothing. */
export function floorFindings(name: string, text: string, table: Map<string, Introduced>, floor: number): string[] {
  const findings: string[] = [];
  const check = (entry: string, what: string): void => {
    const introduced = table.get(entry);
    if (introduced === undefined) findings.push(`${name}: ${what} is not in test/systemd/systemd-directives.txt: add it with the systemd version that introduced it`);
    else if (introduced.version > floor && introduced.fallback === undefined) findings.push(`${name}: ${what} needs systemd ${introduced.version}, above the floor ${floor}, and has no fallback`);
  };
  const directives = directivesOf(text);
  const oneshot = directives.some((d) => d.section === 'Service' && d.key === 'Type' && d.value === 'oneshot');
  for (const { key, value } of directives) {
    check(key, `${key}=`);
    if (key === 'Restart' && oneshot && value !== 'no') check('Restart@oneshot', `Restart=${value} on a Type=oneshot unit`);
    if (key === 'SystemCallFilter') for (const group of value.replace(/^~/, '').split(/\s+/).filter((w) => w.startsWith('@'))) check(`SystemCallFilter=${group}`, `SystemCallFilter=${group}`);
  }
  return findings;
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

/** The shipped units and every unit and drop-in the generator's golden cases show it writing. */
function unitFiles(): string[] {
  const shipped = filesUnder(join(ROOT, 'systemd')).filter((f) => /\.(service|target)$/.test(f));
  const golden = join(ROOT, 'test/systemd/golden');
  const generated = readdirSync(golden).flatMap((c) => filesUnder(join(golden, c, 'expected')));
  return [...shipped, ...generated];
}

describe(`systemd floor ${SYSTEMD_FLOOR}`, () => {
  it('every directive in the shipped and generated units is in the table, none above the floor without a fallback', () => {
    const table = readTable();
    const files = unitFiles();
    expect(files.length).toBeGreaterThan(10);
    expect(files.filter((f) => f.endsWith('luks-ssm@.service'))).toHaveLength(1);
    expect(files.flatMap((f) => floorFindings(relative(ROOT, f), readFileSync(f, 'utf8'), table, SYSTEMD_FLOOR))).toEqual([]);
  });

  it('catches what an old systemd refuses: Restart= on a oneshot (the unit before #12), an unknown key, a new syscall group', () => {
    const table = readTable();
    const before12 = '[Service]\nType=oneshot\nRemainAfterExit=yes\nRestart=on-failure\n';
    expect(floorFindings('old.service', before12, table, SYSTEMD_FLOOR)).toEqual([
      'old.service: Restart= is not in test/systemd/systemd-directives.txt: add it with the systemd version that introduced it',
      'old.service: Restart=on-failure on a Type=oneshot unit needs systemd 244, above the floor 239, and has no fallback',
    ]);
    expect(floorFindings('x.service', '[Service]\nType=simple\nProtectProc=invisible\nSystemCallFilter=~@sandbox @swap\n', table, SYSTEMD_FLOOR)).toEqual([
      'x.service: ProtectProc= is not in test/systemd/systemd-directives.txt: add it with the systemd version that introduced it',
      'x.service: SystemCallFilter=@sandbox is not in test/systemd/systemd-directives.txt: add it with the systemd version that introduced it',
    ]);
    expect(floorFindings('x.service', '[Service]\nRestrictSUIDSGID=yes\n', table, SYSTEMD_FLOOR)).toEqual([]);
    expect(floorFindings('x.service', '[Service]\nRestrictSUIDSGID=yes\n', new Map([['RestrictSUIDSGID', { version: 242 }]]), SYSTEMD_FLOOR)).toEqual([
      'x.service: RestrictSUIDSGID= needs systemd 242, above the floor 239, and has no fallback',
    ]);
  });

  it('the packages declare the same floor', () => {
    expect(readFileSync(join(ROOT, 'packaging/deb/control'), 'utf8')).toMatch(new RegExp(`^Depends: .*\\bsystemd \\(>= ${SYSTEMD_FLOOR}\\)`, 'm'));
    expect(readFileSync(join(ROOT, 'packaging/rpm/luks-ssm.spec'), 'utf8')).toMatch(new RegExp(`^Requires:\\s+systemd >= ${SYSTEMD_FLOOR}$`, 'm'));
  });
});
