// The probe runs as uid 65534: any process of that user can ptrace it and write what it likes to its stdout.
import { describe, expect, it } from 'vitest';
import { probeImdsAsNobody } from '../../src/aws/imds-exposure.ts';
import type { Runner } from '../../src/types.ts';

const answering = (stdout: string): Runner => async () => ({ exitCode: 0, stdout, stderr: '', timedOut: false });

describe('probeImdsAsNobody', () => {
  it('shows a status code it got', async () => {
    expect(await probeImdsAsNobody(answering('HTTP 401'), 'http://169.254.169.254', { uid: 0, node: '/n' }))
      .toEqual({ checked: true, reachable: false, answer: 'HTTP 401' });
  });

  it('never passes on control characters from the unprivileged probe (terminal escapes, fake lines)', async () => {
    const result = await probeImdsAsNobody(answering('\x1b]0;pwned\x07\nok   fake line\r'), 'http://169.254.169.254', { uid: 0, node: '/n' });
    expect(result.checked).toBe(true);
    if (!result.checked) return;
    expect(result.reachable).toBe(false);
    expect(result.answer).not.toMatch(/[\x00-\x1f\x7f-\x9f]/);
  });
});
