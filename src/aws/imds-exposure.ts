// Can a process that is not root get an IMDS session token (and with it the role's credentials, which read the
// passphrase)? check asks by running a one-second probe as uid 65534 (nobody). README "Security" says why.
import { printable } from '../errors.ts';
import type { Runner } from '../types.ts';

/** nobody on Debian, Ubuntu, Amazon Linux and RHEL. */
export const PROBE_UID = 65534;
const PROBE_TIMEOUT_MS = 1_000;

/**
 * The probe, run by the same node as us: one PUT to the token endpoint with a 1 s TTL; prints only the status
 * line's code (never the token) or why no answer came. The endpoint goes in as a JSON string literal.
 */
function probeScript(endpoint: string): string {
  return `const u = new URL(${JSON.stringify(endpoint)});
const s = require('node:net').connect({ host: u.hostname.replace(/^\\[(.*)\\]$/, '$1'), port: Number(u.port || 80) });
let said = false;
const done = (text) => { if (said) return; said = true; clearTimeout(timer); process.stdout.write(text); s.destroy(); };
const timer = setTimeout(() => done('no answer within ${PROBE_TIMEOUT_MS} ms'), ${PROBE_TIMEOUT_MS});
s.on('connect', () => s.write('PUT /latest/api/token HTTP/1.1\\r\\nHost: ' + u.host + '\\r\\nX-aws-ec2-metadata-token-ttl-seconds: 1\\r\\nContent-Length: 0\\r\\nConnection: close\\r\\n\\r\\n'));
let head = '';
s.on('data', (d) => { head += d.toString('latin1'); const m = /^HTTP\\/1\\.[01] (\\d{3})/.exec(head); if (m) done('HTTP ' + m[1]); });
s.on('error', (e) => done(String(e.code || 'connection failed')));
s.on('close', () => done('connection closed'));`;
}

export type ImdsExposure =
  | { checked: false; why: string }
  | { checked: true; reachable: boolean; answer: string };

/** Runs the probe as uid/gid 65534 through setpriv(1); only root can. */
export async function probeImdsAsNobody(run: Runner, endpoint: string, opts: { uid: number; node: string }): Promise<ImdsExposure> {
  if (opts.uid !== 0) return { checked: false, why: 'not checked: only root can test as another user' };
  const args = [`--reuid=${PROBE_UID}`, `--regid=${PROBE_UID}`, '--clear-groups', '--', opts.node, '-e', probeScript(endpoint)];
  const result = await run('setpriv', args, { timeoutMs: PROBE_TIMEOUT_MS * 5 }).catch(() => undefined);
  if (result === undefined || result.exitCode !== 0) return { checked: false, why: 'not checked: setpriv (util-linux) could not run the probe as nobody' };
  // The probe runs as nobody, so any nobody process can ptrace it and write its stdout: shown, never printed.
  const answer = printable(result.stdout.trim().slice(0, 60));
  return { checked: true, reachable: answer === 'HTTP 200', answer };
}
