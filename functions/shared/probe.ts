/** One HTTP probe: status (0 when the request failed) and elapsed wall milliseconds. */
export interface ProbeResult {
  status: number;
  ms: number;
}
export type Probe = (url: string) => Promise<ProbeResult>;

export const httpProbe: Probe = async (url) => {
  const started = performance.now();
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000), redirect: 'manual' });
    await response.arrayBuffer();
    return { status: response.status, ms: performance.now() - started };
  } catch {
    return { status: 0, ms: performance.now() - started };
  }
};

/** Nearest-rank percentile of `values` (0 < p ≤ 100). */
export const percentile = (values: number[], p: number): number => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
};
