// The VM harness's reading of a guest console: a panic's trace is found, bounded, and absent when there is none.
import { describe, expect, it } from 'vitest';
import { panicTrace, serialTail } from '../vm/lib/serial.ts';

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
