/**
 * The Mann-Whitney U test (Wilcoxon rank-sum), as Kayenta's judge uses it to compare a canary's
 * samples with its baseline's. The method follows scipy.stats.mannwhitneyu (SciPy 1.17), so its
 * p-values can be checked against SciPy's: the exact null distribution when either sample has at
 * most 8 values and there are no ties, otherwise the normal approximation with the tie correction
 * and the continuity correction (`method='auto'`, `use_continuity=True`).
 */

export type Alternative = 'two-sided' | 'greater' | 'less';

export interface MannWhitney {
  /** U of the first sample (x): how often an x exceeds a y, ties counting half. */
  u: number;
  pValue: number;
  method: 'exact' | 'asymptotic';
}

/** Average ranks (1-based) of `values`, ties sharing the mean of their ranks; and the tie groups' sizes. */
const rank = (values: number[]): { ranks: number[]; ties: number[] } => {
  const order = values.map((v, i) => [v, i] as const).sort((a, b) => a[0] - b[0]);
  const ranks = new Array<number>(values.length);
  const ties: number[] = [];
  for (let i = 0; i < order.length; ) {
    let j = i;
    while (j + 1 < order.length && order[j + 1]?.[0] === order[i]?.[0]) j++;
    const mean = (i + j + 2) / 2;
    for (let k = i; k <= j; k++) ranks[order[k]?.[1] as number] = mean;
    if (j > i) ties.push(j - i + 1);
    i = j + 1;
  }
  return { ranks, ties };
};

/**
 * P(U >= u) under H0 for samples of sizes m and n, by the recursion
 * p(u; m, n) = m/(m+n)·p(u-n; m-1, n) + n/(m+n)·p(u; m, n-1), kept as probabilities (no overflow).
 */
const exactSf = (u: number, m: number, n: number): number => {
  // pmf[k] for the current (i, j), built up from (0, j) and (i, 0).
  const memo = new Map<string, number[]>();
  const pmf = (i: number, j: number): number[] => {
    if (i === 0 || j === 0) return [1];
    const key = `${i},${j}`;
    const known = memo.get(key);
    if (known) return known;
    const a = pmf(i - 1, j);
    const b = pmf(i, j - 1);
    const out = new Array<number>(i * j + 1).fill(0);
    for (let k = 0; k <= i * j; k++) {
      out[k] = (i / (i + j)) * (a[k - j] ?? 0) + (j / (i + j)) * (b[k] ?? 0);
    }
    memo.set(key, out);
    return out;
  };
  const dist = pmf(Math.min(m, n), Math.max(m, n));
  let sf = 0;
  for (let k = Math.ceil(u - 1e-9); k < dist.length; k++) sf += dist[k] ?? 0;
  return Math.min(1, sf);
};

/**
 * The complementary error function, W. J. Cody's rational Chebyshev approximation as in Numerical
 * Recipes (`erfcc`): fractional error below 1.2e-7 everywhere, enough for a p-value.
 */
const erfc = (x: number): number => {
  const z = Math.abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
};
const normalSf = (z: number) => 0.5 * erfc(z / Math.SQRT2);

/** Is `x` stochastically greater than `y` (`greater`), smaller (`less`), or either? */
export const mannWhitneyU = (x: number[], y: number[], alternative: Alternative): MannWhitney => {
  const m = x.length;
  const n = y.length;
  if (m === 0 || n === 0) throw new Error('mannWhitneyU needs at least one value in each sample');
  const { ranks, ties } = rank([...x, ...y]);
  const r1 = ranks.slice(0, m).reduce((sum, r) => sum + r, 0);
  const u1 = r1 - (m * (m + 1)) / 2;
  const u2 = m * n - u1;
  const u = alternative === 'greater' ? u1 : alternative === 'less' ? u2 : Math.max(u1, u2);
  const exact = (m <= 8 || n <= 8) && ties.length === 0;
  let p: number;
  if (exact) {
    p = exactSf(u, m, n);
  } else {
    const total = m + n;
    const tieTerm = ties.reduce((sum, t) => sum + (t ** 3 - t), 0) / (total * (total - 1));
    const sigma = Math.sqrt(((m * n) / 12) * (total + 1 - tieTerm));
    // All values equal: no evidence either way.
    p = sigma === 0 ? 1 : normalSf((u - (m * n) / 2 - 0.5) / sigma);
  }
  if (alternative === 'two-sided') p *= 2;
  return { u: u1, pValue: Math.min(1, Math.max(0, p)), method: exact ? 'exact' : 'asymptotic' };
};
