// Unit names: escapePath must agree with systemd-escape byte for byte, instance and unit names must be checked.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { escapePath, isValidInstance, isValidUnitName, mountUnitName, serviceNameOf } from '../../src/systemd/unit-name.ts';

const systemdEscape = (() => {
  try {
    execFileSync('systemd-escape', ['--version'], { stdio: 'ignore' });
    return (path: string) => execFileSync('systemd-escape', ['-p', '--suffix=mount', '--', path], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
})();

const PATHS = [
  '/', '/data', '/srv/data', '/srv/data/', '/srv//data', '/srv/./data', '/srv/my-data', '/srv/my data', '/srv/100%',
  '/.hidden', '/srv/.hidden', '/srv/..x', '/srv/x..', '/a:b_c.d', '/srv/ä/ü', '/srv/back\\slash', '/srv/tab\there',
  '/srv/~user/$HOME/*?[x]', '/srv/x@y+z=w,v', '/srv/"quoted"', "/srv/it's", '/var/lib/postgresql/15/main',
];

describe('escapePath', () => {
  it('gives the names systemd documents', () => {
    expect(mountUnitName('/srv/data')).toBe('srv-data.mount');
    expect(mountUnitName('/')).toBe('-.mount');
    expect(mountUnitName('/srv/my-data')).toBe('srv-my\\x2ddata.mount');
    expect(mountUnitName('/srv/.cache')).toBe('srv-.cache.mount');
    expect(mountUnitName('/.cache')).toBe('\\x2ecache.mount');
    expect(mountUnitName('/srv/ä')).toBe('srv-\\xc3\\xa4.mount');
  });

  it.skipIf(systemdEscape === undefined).each(PATHS)('agrees with systemd-escape -p for %j', (path) => {
    expect(mountUnitName(path)).toBe(systemdEscape!(path));
  });

  it('refuses relative and unnormalized paths, as systemd-escape does', () => {
    expect(() => escapePath('srv/data')).toThrow("'srv/data' is not an absolute path");
    expect(() => escapePath('/srv/../etc')).toThrow("'/srv/../etc' is not a normalized path");
  });

  it('refuses a mount point whose unit name would be longer than 255 characters', () => {
    expect(mountUnitName(`/${'a'.repeat(249)}`)).toHaveLength(255);
    expect(() => mountUnitName(`/${'a'.repeat(250)}`)).toThrow('longer than 255 characters');
  });
});

describe('instance and unit names', () => {
  it('uses the volume verbatim as the instance', () => {
    expect(serviceNameOf('data')).toBe('luks-ssm@data.service');
    for (const ok of ['data', 'db-1', 'a.b_c:d', 'x@y']) expect(isValidInstance(ok), ok).toBe(true);
    for (const bad of ['', 'a b', 'a/b', 'a\\x2db', 'ä', 'x'.repeat(247), '-h', '--help', '--version']) expect(isValidInstance(bad), bad).toBe(false);
  });

  it('accepts unit names systemd accepts and nothing that could leave the output directory', () => {
    for (const ok of ['app.service', 'app@blue.service', 'db@.service', 'srv-data.mount', 'a\\x2db.mount', 'x.target']) {
      expect(isValidUnitName(ok), ok).toBe(true);
    }
    for (const bad of ['app', '../x.service', 'a/b.service', '.service', 'app.bogus', 'a b.service', `${'a'.repeat(248)}.service`]) {
      expect(isValidUnitName(bad), bad).toBe(false);
    }
  });
});
