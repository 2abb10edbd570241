// The VM harness's reading of a guest console: a panic's trace is found, bounded, and absent when there is none.
import { describe, expect, it } from 'vitest';
import { onProductPath, panicTrace, serialTail } from '../vm/lib/serial.ts';

const boot = Array.from({ length: 200 }, (_, i) => `[    ${(i / 10).toFixed(6)}] systemd[1]: step ${i}`);
const oops = [
  '[   11.700001] BUG: kernel NULL pointer dereference, address: 0000000000000008',
  '[   11.700002] #PF: supervisor read access in kernel mode',
  '[   11.700003] RIP: 0010:some_function+0x1a/0x40',
  '[   11.700004] Call Trace:',
  '[   11.700005]  <IRQ>',
  '[   11.757342] Kernel panic - not syncing: Fatal exception in interrupt',
];

describe('panicTrace', () => {
  it('is undefined for a console without a panic', () => {
    expect(panicTrace(boot.join('\n'))).toBeUndefined();
    expect(panicTrace('')).toBeUndefined();
  });

  it('runs from the crash report that led to the panic to the panic line, with nothing after it', () => {
    const serial = [...boot, ...oops, '[   13.312260] Shutting down cpus with NMI'].join('\r\n');
    expect(panicTrace(serial)).toEqual(oops);
  });

  it('starts at the first of several reports (a warning that led to the oops)', () => {
    const warning = ['[   11.600000] ------------[ cut here ]------------', '[   11.600001] WARNING: CPU: 1 at somewhere'];
    expect(panicTrace([...boot, ...warning, ...oops].join('\n'))).toEqual([...warning, ...oops]);
  });

  it('keeps at most 60 lines, the panic line last', () => {
    const long = [oops[0], ...Array.from({ length: 100 }, (_, i) => `[   11.71] frame ${i}`), oops.at(-1)!];
    const trace = panicTrace(long.join('\n'))!;
    expect(trace).toHaveLength(60);
    expect(trace.at(-1)).toBe(oops.at(-1));
  });

  it('gives the 20 lines before the panic when no report begins there', () => {
    const trace = panicTrace([...boot, oops.at(-1)!].join('\n'))!;
    expect(trace).toEqual([...boot.slice(-20), oops.at(-1)]);
  });
});

describe('serialTail', () => {
  it('joins the last lines, and says when there was no console output', () => {
    expect(serialTail('a\nb\nc\nd\n')).toBe('b | c | d');
    expect(serialTail('')).toBe('(no serial log)');
  });
});

describe('onProductPath', () => {
  it('is true for a trace through device-mapper, dm-crypt or the AES/XTS code, and not for the modules list or the task', () => {
    expect(onProductPath(oops)).toBe(false);
    expect(onProductPath([...oops.slice(0, 3), '[   11.700004] Modules linked in: dm_crypt aesni_intel xts', '[   11.700005] CPU: 0 PID: 812 Comm: node Not tainted', oops.at(-1)!])).toBe(false);
    for (const line of [
      '[   11.700004] Workqueue: kcryptd/253:0 kcryptd_crypt [dm_crypt]',
      '[   11.700004]  crypt_convert+0x2a1/0x1240 [dm_crypt]',
      '[   11.700004]  dm_submit_bio+0x52/0x1a0 [dm_mod]',
      '[   11.700004] RIP: 0010:aesni_xts_enc+0x1c/0x40 [aesni_intel]',
      '[   11.700004]  xts_crypt+0x11/0x30',
    ]) {
      expect(onProductPath([...oops.slice(0, 3), line, oops.at(-1)!]), line).toBe(true);
    }
  });
});
