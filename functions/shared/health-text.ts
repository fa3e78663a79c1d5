/**
 * CheckHealth's result as people read it: each measure against its limit, with pass or FAIL. The
 * approval page, the email and Slack show the rows; the audit trail keeps them as one line.
 */

/**
 * CheckHealth's results as a person judges them at 2 a.m.: each measured value against its limit,
 * with pass or fail, not CheckHealth's JSON. A target without a test listener has no probes, and
 * says so: only the target group's health checks judged the new colour.
 */
export const healthDetails = (
  health: Record<string, unknown> | undefined,
  limits: { p95Ms: number; errorRate: number },
): Record<string, string> => {
  const verdict = (ok: boolean) => (ok ? 'pass' : 'FAIL');
  const out: Record<string, string> = {
    'Healthy targets': health?.healthyTargets === undefined ? '?' : String(health.healthyTargets),
  };
  const probes = health?.probes as { count?: number; p95Ms?: number; errorRate?: number } | undefined;
  if (!probes || probes.p95Ms === undefined || probes.errorRate === undefined) {
    out.Probes = 'none: no test listener, so only the target group health checks judged the new colour';
    return out;
  }
  const percent = (rate: number) => `${(rate * 100).toFixed(1)}%`;
  out[`p95 latency (${probes.count ?? '?'} probes)`] =
    `${probes.p95Ms} ms, limit ${limits.p95Ms} ms: ${verdict(probes.p95Ms <= limits.p95Ms)}`;
  out[`Error rate (${probes.count ?? '?'} probes)`] =
    `${percent(probes.errorRate)}, limit ${percent(limits.errorRate)}: ${verdict(probes.errorRate <= limits.errorRate)}`;
  return out;
};

/** The rows on one line, for the audit trail (`Healthy targets: 4; p95 latency (20 probes): …`). */
export const healthSummary = (
  health: Record<string, unknown> | undefined,
  limits: { p95Ms: number; errorRate: number },
): string =>
  Object.entries(healthDetails(health, limits))
    .map(([k, v]) => `${k}: ${v}`)
    .join('; ');
