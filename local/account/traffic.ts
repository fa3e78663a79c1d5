/**
 * Real traffic on the targets' listeners, as CloudWatch sees it: the ALB's per-target-group metrics
 * (namespace AWS/ApplicationELB, dimensions TargetGroup and LoadBalancer), one datapoint a minute.
 * Modelled from the ALB metrics reference: RequestCount and HTTPCode_Target_5XX_Count are Sums,
 * TargetResponseTime is in seconds and takes percentile statistics, and a target group that got no
 * request in a minute has no datapoint at all ("reported only when requests are flowing"). A count
 * that is zero has no datapoint either, so readers fill it (FILL(m, 0)).
 *
 * Each served listener or rule has a request rate (requests per second, ±10% from minute to minute);
 * its requests split by the forward action's weights, each target group's among its healthy
 * targets. A target's response times are log-normal around its image's p95 (σ 0.45, a web service's
 * long right tail); its errors a binomial draw of its image's error rate. A minute's percentiles
 * come from up to 400 sampled requests, so a thin minute is noisy, as it is in CloudWatch.
 */

import { loadBalancerOf } from '../../functions/shared/analysis/metrics.ts';
import type { Faults } from '../faults.ts';
import type { Random } from '../rng.ts';
import type { Elbv2Model } from './elbv2.ts';

export const METRIC_PERIOD_SECONDS = 60;
const SIGMA = 0.45;
const Z95 = 1.6448536;
const SAMPLED = 400;

export interface Datapoint {
  /** Start of the minute (ms). */
  at: number;
  /** When CloudWatch answers with it (ms): ALB metrics arrive after their minute ends. */
  visibleAt: number;
  requests: number;
  errors: number;
  /** Response-time percentiles and mean of the minute, seconds (as TargetResponseTime reports them). */
  p50: number;
  p95: number;
  p99: number;
  mean: number;
  /** The LoadBalancer dimension (`app/<name>/<id>`) the target group's datapoints carry. */
  loadBalancer: string;
}

/** One source's requests to one target group in a minute, before they are summed into its datapoint. */
interface Part {
  requests: number;
  errors: number;
  /** Sampled response times (ms), sorted, each standing for `weight` requests. */
  latencies: number[];
  weight: number;
  loadBalancer: string;
  /** When CloudWatch answers with the minute (drawn as the part is made, so a seed's draws keep their order). */
  visibleAt: number;
}

export class TrafficModel {
  /** By target group ARN, oldest first. */
  readonly datapoints = new Map<string, Datapoint[]>();
  /** Listener or rule → its requests' p95 per minute (ms), the last two hours. */
  readonly listenerP95 = new Map<string, { at: number; visibleAt: number; p95Ms: number }[]>();
  /** Listener or rule → real users' requests per second (kept with the local state). */
  readonly served = new Map<string, number>();
  /**
   * Test traffic through a test listener: load tests while they run (by task), and single probes.
   * ALB counts every request a target group gets, whichever listener forwarded it (ALB metrics
   * reference: TargetGroup dimension), so a new colour behind the test listener has metrics before
   * any real traffic reaches it.
   */
  private readonly loads = new Map<string, { where: string; from: number; to?: number; rps: number }>();
  private probes: { group: string; loadBalancer: string; at: number; error: boolean }[] = [];
  /** Task group (`switchyard:<target>`) → the test listener its load tests send to. */
  readonly testListeners = new Map<string, string>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private running = false;

  constructor(
    private readonly elbv2: Elbv2Model,
    private readonly random: Random,
    private readonly faults: Faults,
  ) {}

  /** Real users send `rps` requests per second to this listener or rule (a target's `where`). */
  serve(where: string, rps = 20) {
    this.served.set(where, rps);
  }

  /** A load test of a task in `group` sends `rps` to its target's test listener from now until it stops. */
  startLoad(group: string, taskArn: string, rps: number) {
    const where = this.testListeners.get(group);
    if (!where) return;
    this.loads.set(taskArn, { where, from: Date.now(), rps });
    this.tick();
  }

  stopLoad(taskArn: string) {
    const load = this.loads.get(taskArn);
    if (load && load.to === undefined) load.to = Date.now();
  }

  /** One request through a test listener (a health probe) to `group`. */
  probe(group: string, listenerArn: string, error: boolean) {
    this.probes.push({ group, loadBalancer: loadBalancerOf(listenerArn), at: Date.now(), error });
    this.tick();
  }

  /** Starts the minute ticks (call when the virtual clock runs). */
  start() {
    this.running = true;
    this.tick();
  }

  private tick() {
    if (this.timer || !this.running) return;
    if (this.served.size === 0 && this.loads.size === 0 && this.probes.length === 0) return;
    this.timer = setInterval(
      () => this.minute(Date.now() - METRIC_PERIOD_SECONDS * 1000),
      METRIC_PERIOD_SECONDS * 1000,
    );
  }

  /** One minute of traffic, ending now. */
  minute(at: number) {
    const to = at + METRIC_PERIOD_SECONDS * 1000;
    const parts = new Map<string, Part[]>();
    const add = (group: string, part: Part) => parts.set(group, [...(parts.get(group) ?? []), part]);
    for (const [where, configured] of this.served) {
      const rps = (this.faults.trafficRps ?? configured) * (0.9 + this.random.int(0, 200) / 1000);
      // Each target group's share of the minute, time-weighted over the weight changes in it: the
      // minute of a weight change carries both weights, as CloudWatch's does.
      const shares = this.shares(where, at, to);
      // Every request of the listener this minute, each sample weighted by the requests it stands for.
      const pooled: [number, number][] = [];
      for (const [group, share] of shares) {
        const requests = this.poisson(rps * METRIC_PERIOD_SECONDS * share);
        const part = this.part(group, where, requests, at);
        if (!part) continue;
        add(group, part);
        for (const v of part.latencies) pooled.push([v, part.weight]);
      }
      // The listener's own p95 (the LoadBalancer-level TargetResponseTime a latency alarm watches).
      const total = pooled.reduce((sum, [, w]) => sum + w, 0);
      if (total > 0) {
        pooled.sort((a, b) => a[0] - b[0]);
        let seen = 0;
        let p95 = 0;
        for (const [v, w] of pooled) {
          seen += w;
          p95 = v;
          if (seen >= 0.95 * total) break;
        }
        const series = this.listenerP95.get(where) ?? [];
        series.push({
          at,
          visibleAt: at + METRIC_PERIOD_SECONDS * 1000 + this.random.int(10_000, 60_000),
          p95Ms: p95,
        });
        this.listenerP95.set(where, series.slice(-120));
      }
    }
    // Test traffic: each load test's requests in its part of the minute, then the probes.
    for (const [task, load] of this.loads) {
      const from = Math.max(at, load.from);
      const until = Math.min(to, load.to ?? to);
      if (until > from) {
        for (const [group, share] of this.shares(load.where, from, until)) {
          const part = this.part(
            group,
            load.where,
            this.poisson(load.rps * ((until - from) / 1000) * share),
            at,
          );
          if (part) add(group, part);
        }
      }
      if (load.to !== undefined && load.to <= to) this.loads.delete(task);
    }
    const probes = this.probes.filter((p) => p.at < to);
    this.probes = this.probes.filter((p) => p.at >= to);
    for (const group of new Set(probes.map((p) => p.group))) {
      const mine = probes.filter((p) => p.group === group);
      const targets = this.elbv2.healthyTargets(group);
      const p95 = targets.length ? targets.reduce((s, t) => s + (t.p95Ms ?? 180), 0) / targets.length : 180;
      const median = p95 / Math.exp(Z95 * SIGMA);
      add(group, {
        requests: mine.length,
        errors: mine.filter((p) => p.error).length,
        latencies: mine.map(() => median * Math.exp(SIGMA * this.normal())).sort((a, b) => a - b),
        weight: 1,
        loadBalancer: mine[0]?.loadBalancer ?? '',
        visibleAt: at + METRIC_PERIOD_SECONDS * 1000 + this.random.int(10_000, 60_000),
      });
    }
    for (const [group, list] of parts) this.record(group, at, list);
  }

  /**
   * `requests` to `group` this minute, among its healthy targets: their errors and a sample of their
   * response times. None when nothing was sent, no target can answer, or the datapoint is lost.
   */
  private part(group: string, where: string, requests: number, at: number): Part | undefined {
    const targets = this.elbv2.healthyTargets(group);
    if (requests === 0 || targets.length === 0) return undefined;
    // Missing data: a datapoint CloudWatch never got (the fault knob), as a reader must expect.
    if (this.faults.missingMetrics && this.random.int(0, 999) < this.faults.missingMetrics * 1000) {
      this.faults.fired.push(`metrics: a datapoint of ${group.split('/').at(-2)} lost`);
      return undefined;
    }
    const latencies: number[] = [];
    let errors = 0;
    targets.forEach((target, i) => {
      const served = Math.floor(requests / targets.length) + (i < requests % targets.length ? 1 : 0);
      errors += this.binomial(served, target.errorRate);
      const sampled = Math.min(served, Math.ceil(SAMPLED / targets.length));
      const median = (target.p95Ms ?? 180) / Math.exp(Z95 * SIGMA);
      for (let k = 0; k < sampled; k++) latencies.push(median * Math.exp(SIGMA * this.normal()));
    });
    latencies.sort((a, b) => a - b);
    return {
      requests,
      errors,
      latencies,
      weight: requests / latencies.length,
      loadBalancer: loadBalancerOf(where),
      // ALB publishes each minute at its end; CloudWatch answers with it 10-60 s later.
      visibleAt: at + METRIC_PERIOD_SECONDS * 1000 + this.random.int(10_000, 60_000),
    };
  }

  /** A target group's datapoint for the minute: the sum of what each source sent it. */
  private record(group: string, at: number, list: Part[]) {
    const requests = list.reduce((s, p) => s + p.requests, 0);
    const errors = list.reduce((s, p) => s + p.errors, 0);
    let pct: (q: number) => number;
    let mean: number;
    const only = list.length === 1 ? list[0] : undefined;
    if (only) {
      const { latencies } = only;
      mean = latencies.reduce((sum, v) => sum + v, 0) / latencies.length / 1000;
      pct = (q) => (latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0) / 1000;
    } else {
      // Several sources: each sample weighted by the requests it stands for.
      const weighted = list.flatMap((p) => p.latencies.map((v): [number, number] => [v, p.weight]));
      weighted.sort((a, b) => a[0] - b[0]);
      const total = weighted.reduce((s, [, w]) => s + w, 0);
      mean = weighted.reduce((s, [v, w]) => s + v * w, 0) / total / 1000;
      pct = (q) => {
        let seen = 0;
        for (const [v, w] of weighted) {
          seen += w;
          if (seen > q * total) return v / 1000;
        }
        return (weighted.at(-1)?.[0] ?? 0) / 1000;
      };
    }
    const series = this.datapoints.get(group) ?? [];
    series.push({
      at,
      visibleAt: Math.max(...list.map((p) => p.visibleAt)),
      requests,
      errors,
      p50: pct(0.5),
      p95: pct(0.95),
      p99: pct(0.99),
      mean,
      loadBalancer: list[0]?.loadBalancer ?? '',
    });
    // In time order, which GetMetricData's window search relies on: minute() runs from one interval.
    this.datapoints.set(group, series);
  }

  /** Each target group's time-weighted share of [from, to) of `where`'s requests. */
  private shares(where: string, from: number, to: number): Map<string, number> {
    const history = this.elbv2.weightHistory.filter((h) => h.where === where);
    const before = history.filter((h) => h.at <= from).at(-1);
    const changes = history.filter((h) => h.at > from && h.at < to);
    const spans: [number, Record<string, number>][] = [];
    let start = from;
    let weights = before?.weights ?? this.elbv2.weightsOf(where);
    for (const change of changes) {
      spans.push([change.at - start, weights]);
      start = change.at;
      weights = change.weights;
    }
    spans.push([to - start, weights]);
    const out = new Map<string, number>();
    for (const [ms, w] of spans) {
      const total = Object.values(w).reduce((sum, v) => sum + v, 0);
      if (total === 0) continue;
      for (const [group, weight] of Object.entries(w)) {
        if (weight > 0) out.set(group, (out.get(group) ?? 0) + ((ms / (to - from)) * weight) / total);
      }
    }
    return out;
  }

  /** A Poisson draw (requests arriving at random): Knuth's method for small means, normal above 50. */
  private poisson(mean: number): number {
    if (mean <= 0) return 0;
    if (mean > 50) return Math.max(0, Math.round(mean + Math.sqrt(mean) * this.normal()));
    const limit = Math.exp(-mean);
    let k = 0;
    let p = this.random.next();
    while (p > limit) {
      k++;
      p *= this.random.next();
    }
    return k;
  }

  /** A standard normal draw (Box-Muller on the seeded generator). */
  private normal(): number {
    const u = 1 - this.random.next();
    const v = this.random.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /**
   * Errors among `n` requests each failing with probability `p`: counted one by one up to 500
   * requests, the Poisson law for rare errors (n·p < 10) and the normal law otherwise.
   */
  private binomial(n: number, p: number): number {
    if (p <= 0 || n === 0) return 0;
    if (n <= 500) {
      let k = 0;
      for (let i = 0; i < n; i++) if (this.random.next() < p) k++;
      return k;
    }
    if (n * p < 10) return Math.min(n, this.poisson(n * p));
    return Math.max(0, Math.min(n, Math.round(n * p + Math.sqrt(n * p * (1 - p)) * this.normal())));
  }
}
