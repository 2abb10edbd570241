// Which endpoint URLs are accepted, from a config file or the environment: plain http:// only where no network
// lies between us and the server (loopback; IMDS's link-local address), since an SSM answer carries the key.
import { isIP } from 'node:net';
import { printable, UnlockError } from '../errors.ts';

/** IMDS's own addresses (EC2 User Guide, "Access instance metadata"): reached without leaving the host's NIC. */
const IMDS_HOSTS = new Set(['169.254.169.254', '[fd00:ec2::254]']);

/** 127.0.0.0/8, ::1 and localhost (resolved from /etc/hosts, which only root writes). */
function isLoopback(hostname: string): boolean {
  if (hostname === 'localhost' || hostname === '[::1]') return true;
  return isIP(hostname) === 4 && hostname.startsWith('127.');
}

/**
 * Why `value` is not an acceptable endpoint, or undefined. `imds`: instance metadata, which is plain http by
 * design, also at its link-local address. A WHATWG URL has hostnames lower-cased and IPv4 forms normalised
 * (http://2130706433 is 127.0.0.1), so the checks see what would be connected to.
 */
export function endpointProblem(value: string, opts: { imds?: boolean } = {}): string | undefined {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || url.hostname === '') return 'is not an http:// or https:// URL';
  if (url.username !== '' || url.password !== '') return 'must not contain credentials';
  if (url.search !== '' || url.hash !== '' || value.includes('?') || value.includes('#')) return 'must not have a query or fragment';
  if (url.protocol === 'http:' && !isLoopback(url.hostname) && !(opts.imds && IMDS_HOSTS.has(url.hostname))) {
    return opts.imds
      ? 'uses http:// to a host that is neither loopback nor instance metadata (169.254.169.254, fd00:ec2::254): use https://'
      : 'uses http:// to a host that is not loopback (127.0.0.0/8, ::1, localhost): use https://';
  }
  return undefined;
}

/** An endpoint from the environment, checked as a config value is: CONFIG (78) naming the variable. */
export function checkedEnvEndpoint(name: string, value: string, opts: { imds?: boolean } = {}): string {
  const problem = endpointProblem(value, opts);
  if (problem !== undefined) {
    throw new UnlockError('CONFIG', `${name}=${printable(value)} in the environment ${problem}, refusing.`, { hint: `unset ${name}, or fix it` });
  }
  return value;
}
