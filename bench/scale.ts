/**
 * The scale run of `npm run bench` (its own process, so its memory is its own): N releases of N
 * different targets pushed at the same moment into one simulated account that enforces the
 * published API rate limits. Prints one JSON document: outcomes, releases that failed because of
 * throttling, peak calls per second per service, throttled calls, virtual and wall time, peak RSS.
 *   tsx bench/scale.ts [count]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { releaseIdFor } from '../functions/shared/requests.ts';
import { publishedRateLimits } from '../local/account/rate-limits.ts';
import { LocalRuntime } from '../local/runtime.ts';
import { buildWorld, platformTargets } from '../local/world.ts';

const count = Number(process.argv[2] ?? 200);
const targets = platformTargets(count);
const dir = mkdtempSync(join(tmpdir(), 'switchyard-scale-'));
const targetsFile = join(dir, 'targets.json');
writeFileSync(targetsFile, JSON.stringify({ targets }));

const wallStart = performance.now();
/**
 * Each target has a database, and each release snapshots it: more releases at once than RDS's
 * default quota of 100 manual snapshots per Region would abort the rest at BackupDatabase, as in
 * AWS. A platform with this many databases has raised that adjustable quota; the run assumes so.
 */
const snapshotQuota = Math.max(100, 2 * count);
const runtime = await LocalRuntime.start({ targetsFile, rateLimits: publishedRateLimits }, (rt) => {
  rt.account.rds.snapshotQuota = snapshotQuota;
  for (const target of rt.targets.targets) buildWorld(rt.account, target, { liveTag: 'v1', tasks: 2 });
});
const startedAt = Date.now();
const pushed = runtime.targets.targets.map((t) => ({
  target: t.name,
  digest: runtime.account.ecr.push(t.image.repository, 'v2', { silent: false }).digest,
}));
await runtime.settle();
const virtualSeconds = (Date.now() - startedAt) / 1000;
const wallMs = performance.now() - wallStart;

const outcomes: Record<string, number> = {};
let failedByThrottling = 0;
/** The first few releases that did not promote, with their error: a failure must be explainable. */
const failures: { target: string; outcome: string; error: unknown }[] = [];
/** Where the releases that failed failed: the step of each one's last failed phase, counted. */
const failedAt: Record<string, number> = {};
/**
 * The turns releases waited for (functions/shared/registration-turns.ts), by step: how many releases
 * waited, and the longest wait (virtual s, from the step's answer to its run after the wait).
 */
const turnWaits: Record<string, { releases: number; longestSeconds: number }> = {};
for (const { target, digest } of pushed) {
  const record = await runtime.release(releaseIdFor(target, digest));
  const phases = record?.phases ?? [];
  phases.forEach((phase, i) => {
    if (!/waiting for its turn/.test(phase.detail ?? '')) return;
    const next = phases.slice(i + 1).find((p) => p.name === phase.name);
    const seconds = next
      ? (Date.parse(next.startedAt) - Date.parse(phase.endedAt ?? phase.startedAt)) / 1000
      : 0;
    const waits = turnWaits[phase.name] ?? { releases: 0, longestSeconds: 0 };
    waits.releases++;
    waits.longestSeconds = Math.max(waits.longestSeconds, Math.round(seconds));
    turnWaits[phase.name] = waits;
  });
  const outcome = record?.outcome ?? 'not started';
  outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  if (outcome !== 'Promoted' && failures.length < 5) failures.push({ target, outcome, error: record?.error });
  if (outcome !== 'Promoted') {
    const step = record?.phases.findLast((p) => p.status === 'failed')?.name ?? 'no failed phase';
    failedAt[step] = (failedAt[step] ?? 0) + 1;
  }
  if (
    outcome !== 'Promoted' &&
    /Throttl|Rate exceeded|TransientError/.test(JSON.stringify(record?.error ?? ''))
  ) {
    failedByThrottling++;
  }
}
// Peak calls in any one virtual second, per service: answered, and attempted (with the throttled).
const peaks = (accept: (c: { throttled?: boolean }) => boolean) => {
  const perSecond = new Map<string, Map<number, number>>();
  for (const call of runtime.account.callLog.filter(accept)) {
    const service = call.call.split('.')[0] as string;
    const seconds = perSecond.get(service) ?? new Map<number, number>();
    const second = Math.floor((call.at - startedAt) / 1000);
    seconds.set(second, (seconds.get(second) ?? 0) + 1);
    perSecond.set(service, seconds);
  }
  return Object.fromEntries(
    [...perSecond.entries()].map(([service, seconds]) => [service, Math.max(...seconds.values())]),
  );
};
// The bound the slowest bucket on every release's path sets: ECS RegisterTaskDefinition (each release
// registers one revision), `burst` at once and then `perSecond`: the last of N at (N - burst) / rate.
const registration = publishedRateLimits.find(
  (l) => l.service === 'ECS' && l.operations.test('RegisterTaskDefinition'),
);
if (!registration) throw new Error('scale: no RegisterTaskDefinition rate limit');
const registered = runtime.account.callLog.filter(
  (c) => c.call === 'ECS.RegisterTaskDefinition' && !c.throttled,
);
const floor = {
  limit: registration.source,
  seconds: Math.max(0, (registered.length - registration.burst) / registration.perSecond),
  lastAnsweredSeconds: Math.max(...registered.map((c) => c.at + c.ms - startedAt)) / 1000,
};
const peakCallsPerSecond = peaks((c) => !c.throttled);
const peakAttemptsPerSecond = peaks(() => true);
const result = {
  releases: count,
  snapshotQuota,
  outcomes,
  failures,
  failedAt,
  failedByThrottling,
  turnWaits,
  reconcilerFailures: runtime.reconcilerFailures,
  throttledCalls: Object.fromEntries(runtime.account.rateLimiter?.throttled ?? []),
  peakCallsPerSecond,
  peakAttemptsPerSecond,
  limits: publishedRateLimits.map((l) => l.source),
  virtualSeconds,
  floor,
  wallMs: Math.round(wallMs),
  peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
  // Each retry is billed as a transition (local/step-functions.ts): these include them.
  stateTransitions: runtime.executions().reduce((n, e) => n + e.stateTransitions, 0),
  stateRetries: runtime.executions().reduce((n, e) => n + e.retries, 0),
  // Lambda's execution environments (local/execution-environments.ts): how many were started, the
  // most invocations running at once, and what Lambda refused (the account's 1,000, the scaling rate).
  lambda: {
    invocations: runtime.lambda.invocations,
    coldStarts: runtime.lambda.environments.coldStarts,
    peakConcurrency: runtime.lambda.environments.peakConcurrency,
    throttled: runtime.lambda.environments.throttled,
    requeuedAfterThrottle: runtime.lambda.requeuedAfterThrottle,
    expiredEvents: runtime.lambda.expiredEvents.length,
  },
  // Every call the functions made to the simulated account, and how many of them were throttled.
  calls: {
    dynamo: runtime.dynamoCalls,
    // Writes DynamoDB refused past an item's partition throughput (local/dynamo-partitions.ts), by item.
    dynamoThrottled: Object.fromEntries(runtime.partitions.throttled),
    attempted: runtime.account.callLog.length,
    throttled: runtime.account.callLog.filter((c) => c.throttled).length,
  },
};
await runtime.dispose();
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
