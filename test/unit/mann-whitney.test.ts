/**
 * The Mann-Whitney U test against SciPy. Every expected value below was computed on this machine
 * with `scipy.stats.mannwhitneyu(x, y, alternative=…)` from SciPy 1.17.1 (default method 'auto',
 * use_continuity=True): exact where a sample has at most 8 values and nothing ties, the normal
 * approximation with the tie correction otherwise.
 */
import { describe, expect, it } from 'vitest';
import { type Alternative, mannWhitneyU } from '../../functions/shared/analysis/mann-whitney.ts';

const cases: [string, number[], number[], Alternative, number, number, 'exact' | 'asymptotic'][] = [
  [
    'a canary clearly slower (p95 per minute, ms), 10 v 10',
    [210, 220, 205, 230, 215, 225, 240, 212, 219, 228],
    [180, 185, 190, 178, 182, 188, 186, 181, 179, 184],
    'greater',
    100,
    9.133589555477501e-5,
    'asymptotic',
  ],
  ['3 v 3, fully separated, two-sided (exact: 2/20)', [1, 2, 3], [4, 5, 6], 'two-sided', 0, 0.1, 'exact'],
  [
    'ties: the tie-corrected normal approximation',
    [1, 2, 2, 3, 5],
    [2, 4, 4, 6, 7, 8],
    'less',
    5,
    0.03967184159885751,
    'asymptotic',
  ],
  [
    '5 v 20 without ties: exact (one sample has at most 8)',
    [1.5, 2.5, 3.5, 10.5, 11.5],
    Array.from({ length: 20 }, (_, i) => i + 1),
    'two-sided',
    27,
    0.12941840767927723,
    'exact',
  ],
  [
    'error rates per minute, many ties',
    [0.012, 0.011, 0.013, 0.01, 0.012, 0.014, 0.011, 0.012, 0.013, 0.012],
    [0.01, 0.011, 0.012, 0.01, 0.011, 0.012, 0.01, 0.011, 0.012, 0.011],
    'greater',
    75.5,
    0.024606421267298582,
    'asymptotic',
  ],
  [
    '8 v 11 with ties: asymptotic',
    [3, 1, 4, 1, 5, 9, 2, 6],
    [5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8],
    'two-sided',
    28,
    0.1964180803799429,
    'asymptotic',
  ],
  [
    '4 v 4 separated, one-sided (exact: 1/70)',
    [5, 6, 7, 8],
    [1, 2, 3, 4],
    'greater',
    16,
    0.014285714285714285,
    'exact',
  ],
  ['all equal: no evidence', [1, 1, 1], [1, 1, 1], 'two-sided', 4.5, 1, 'asymptotic'],
];

describe('Mann-Whitney U', () => {
  it.each(cases)('%s', (_, x, y, alternative, u, p, method) => {
    const result = mannWhitneyU(x, y, alternative);
    expect(result.u).toBe(u);
    expect(result.method).toBe(method);
    // The normal tail is an approximation with a relative error below 1.2e-7 (erfc).
    expect(Math.abs(result.pValue - p) / p).toBeLessThan(1e-6);
  });

  it('refuses an empty sample', () => {
    expect(() => mannWhitneyU([], [1], 'greater')).toThrow(/at least one value in each sample/);
  });
});
