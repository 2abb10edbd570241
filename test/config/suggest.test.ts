// "Did you mean": the distance counts a swapped pair as one typo, and far-off names get no suggestion.
import { expect, it } from 'vitest';
import { editDistance, suggestName } from '../../src/config/suggest.ts';

it('counts insertions, deletions, substitutions and adjacent swaps as one edit each', () => {
  expect([editDistance('', 'abc'), editDistance('abc', 'abc'), editDistance('abc', 'abd'), editDistance('abc', 'acb'), editDistance('kitten', 'sitting')]).toEqual([3, 0, 1, 1, 3]);
});

it('suggests the closest name case-insensitively, the first on ties, none beyond the limit', () => {
  const names = ['TIMEOUT_SEC', 'DEVICE_TIMEOUT_SEC', 'SSM_PATH'];
  expect(suggestName('timeout_sec', names)).toBe('TIMEOUT_SEC');
  expect(suggestName('SSM_PAHT', names)).toBe('SSM_PATH');
  expect(suggestName('SSM_PARAM', names)).toBeUndefined();
  expect(suggestName('XY', ['XA', 'XB'])).toBe('XA');
});
