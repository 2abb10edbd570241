// STATUS= through systemd-notify: received with our pid as the sender (so NotifyAccess=main accepts it), cleared at the end.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRunner } from '../../src/exec/run.ts';
import { createStatusLine } from '../../src/systemd/notify.ts';

const haveNotify = existsSync('/usr/bin/systemd-notify') || existsSync('/bin/systemd-notify');
const havePython = (() => {
  try {
    execFileSync('python3', ['-c', 'import socket']);
    return true;
  } catch {
    return false;
  }
})();

// A stand-in for systemd's notification socket: a datagram socket with SO_PASSCRED that prints, per message,
// the sender's pid and the text, as systemd's manager reads them (sd_notify's protocol).
const RECEIVER = `
import socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind(sys.argv[1])
print("ready", flush=True)
while True:
    data, anc, flags, addr = s.recvmsg(4096, socket.CMSG_SPACE(12))
    pid = [struct.unpack("iII", d)[0] for (l, t, d) in anc if l == socket.SOL_SOCKET and t == socket.SCM_CREDENTIALS]
    print(f"{pid[0] if pid else -1} {data.decode()!r}", flush=True)
`;

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('createStatusLine', () => {
  it('keeps sending after an update with the text already sent (the VM guest froze on the 6th AWS attempt)', async () => {
    const sentTexts: string[] = [];
    const run = async (_file: string, args: readonly string[]) => {
      sentTexts.push(args[0]!);
      return { exitCode: 0, stdout: '', stderr: '', timedOut: false };
    };
    const line = createStatusLine(run, '/run/fake-notify', { quietMs: 0 });
    line.set('attempt 1');
    await new Promise((r) => setTimeout(r, 10));
    line.set('attempt 1'); // a refresh with the same text: nothing to send
    line.set('attempt 2');
    await new Promise((r) => setTimeout(r, 10));
    await line.clear();
    expect(sentTexts).toEqual(['--status=attempt 1', '--status=attempt 2', '--status=']);
  });

  describe('quiet period (a start that waits for nothing spawns no systemd-notify)', () => {
    const recorder = () => {
      const calls: string[] = [];
      const run = async (_file: string, args: readonly string[]) => {
        calls.push(args[0]!);
        return { exitCode: 0, stdout: '', stderr: '', timedOut: false };
      };
      return { calls, run };
    };

    it('sends nothing, not even the clearing STATUS=, when cleared within it', async () => {
      const { calls, run } = recorder();
      const line = createStatusLine(run, '/run/systemd/notify', { quietMs: 200 });
      line.set('waiting for /dev/nvme1n1; gives up in 90 s');
      line.set('fetching the key from AWS; gives up in 89 s');
      await new Promise((r) => setTimeout(r, 20));
      await line.clear();
      await new Promise((r) => setTimeout(r, 300));
      expect(calls).toEqual([]);
    });

    it('sends the newest text once it is over, then every change, and clears', async () => {
      const { calls, run } = recorder();
      const line = createStatusLine(run, '/run/systemd/notify', { quietMs: 40 });
      line.set('waiting for /dev/nvme1n1; gives up in 90 s');
      line.set('AWS attempt 1 failed (connection refused), retrying; gives up in 89 s');
      expect(calls).toEqual([]);
      await new Promise((r) => setTimeout(r, 120));
      line.set('AWS attempt 2 failed (connection refused), retrying; gives up in 88 s');
      await new Promise((r) => setTimeout(r, 20));
      await line.clear();
      expect(calls).toEqual([
        '--status=AWS attempt 1 failed (connection refused), retrying; gives up in 89 s',
        '--status=AWS attempt 2 failed (connection refused), retrying; gives up in 88 s',
        '--status=',
      ]);
    });
  });

  it('does nothing outside a service (no NOTIFY_SOCKET)', async () => {
    const calls: string[][] = [];
    const line = createStatusLine(async (file, args) => {
      calls.push([file, ...args]);
      return { exitCode: 0, stdout: '', stderr: '', timedOut: false };
    }, undefined);
    line.set('x');
    await line.clear();
    expect(calls).toEqual([]);
  });

  it('sends only the newest of quick updates, one line, and clears with an empty STATUS=', async () => {
    const calls: string[][] = [];
    const line = createStatusLine(async (file, args, opts) => {
      calls.push([file, ...args, opts?.env?.NOTIFY_SOCKET ?? '']);
      await new Promise((r) => setTimeout(r, 20));
      return { exitCode: 0, stdout: '', stderr: '', timedOut: false };
    }, '/run/systemd/notify', { quietMs: 0 });
    line.set('one');
    line.set('two');
    line.set('three\nlines');
    await new Promise((r) => setTimeout(r, 100));
    await line.clear();
    expect(calls).toEqual([
      ['systemd-notify', '--status=one', '/run/systemd/notify'],
      ['systemd-notify', '--status=three lines', '/run/systemd/notify'],
      ['systemd-notify', '--status=', '/run/systemd/notify'],
    ]);
  });

  it.skipIf(!haveNotify || !havePython || process.getuid?.() !== 0)('reaches a notification socket with this process as the sender (real systemd-notify)', async () => {
    dir = await mkdtemp(join(tmpdir(), 'luks-ssm-notify-'));
    const socket = join(dir, 'notify');
    const receiver = spawn('python3', ['-c', RECEIVER, socket], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    receiver.stdout.on('data', (c: Buffer) => (out += c.toString()));
    try {
      for (let i = 0; i < 100 && !out.includes('ready'); i += 1) await new Promise((r) => setTimeout(r, 50));
      const line = createStatusLine(createRunner(), socket, { quietMs: 0 });
      line.set('AWS attempt 3 failed (connection refused), retrying; gives up in 71 s');
      await line.clear();
      for (let i = 0; i < 100 && out.split('\n').length < 4; i += 1) await new Promise((r) => setTimeout(r, 50));
    } finally {
      receiver.kill();
    }
    // systemd-notify >= 246 also sends BARRIER=1 from its own pid and waits for the manager to read it: the
    // unit's NotifyAccess=all lets that through (with =main systemd would log a refusal for every update).
    const messages = out.split('\n').slice(1).filter((m) => m.includes('STATUS='));
    expect(messages).toEqual([
      `${process.pid} 'STATUS=AWS attempt 3 failed (connection refused), retrying; gives up in 71 s'`,
      `${process.pid} 'STATUS='`,
    ]);
  });
});
