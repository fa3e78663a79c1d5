/**
 * `npm run bench`: releases in the local runtime (virtual time), measured. Virtual-time figures
 * are deterministic for a seed; wall time is the median (min–max) of several runs. Prints a table
 * and writes bench/results.json.
 *
 * Covered so far: the all-at-once strategy (the only one that exists). Time to rollback and the
 * 200-release scale run arrive with progressive shifting and API rate limits in the simulator.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { findTarget } from '../functions/shared/config.ts';
import { FUNCTION_MEMORY_MB } from '../local/lambda.ts';
import { LocalRuntime } from '../local/runtime.ts';
import { buildWorld, serveTestListener } from '../local/world.ts';

const RUNS = 5;
const targetsFile = fileURLToPath(new URL('../local/targets.json', import.meta.url));

/** Published prices used for cost per release (us-east-1). */
const prices = {
  source:
    'Step Functions: aws.amazon.com/step-functions/pricing, read 2026-11-23; Lambda: aws.amazon.com/lambda/pricing, us-east-1 Arm first tier (published rate, not re-read 2026-11-23)',
  stateTransition: 0.025 / 1000,
  lambdaRequest: 0.2 / 1_000_000,
  lambdaArmGbSecond: 0.0000133334,
};

const runOnce = async (seed: number) => {
  const wallStart = performance.now();
  const emittedAt = new Map<string, number>();
  let pushAt = 0;
  const runtime = await LocalRuntime.start({ targetsFile, seed }, async (rt) => {
    const target = findTarget(rt.targets, 'checkout-api');
    buildWorld(rt.account, target, { liveTag: 'v1' });
    await serveTestListener(rt.account, target);
    rt.bus.onEmit((event) => {
      const key = `${event['detail-type']}|${String(event.detail.eventName ?? event.detail.EventID ?? '')}|${event.resources[0] ?? ''}`;
      if (!emittedAt.has(key)) emittedAt.set(key, Date.now());
    });
  });
  try {
    const target = findTarget(runtime.targets, 'checkout-api');
    pushAt = Date.now();
    runtime.push('checkout-api', 'v2');
    await runtime.settle();
    const execution = runtime.executions()[0];
    const release = execution ? await runtime.release(execution.name) : undefined;
    if (!execution || release?.outcome !== 'Promoted')
      throw new Error(`bench release ended ${release?.outcome ?? 'nowhere'}`);
    const lead = ((execution.stopDate?.getTime() ?? 0) - pushAt) / 1000;

    // The floor: what the simulated AWS makes unavoidable on the critical path.
    const at = (prefix: string) => [...emittedAt].find(([k]) => k.startsWith(prefix))?.[1];
    const stable = at(
      `ECS Deployment State Change|SERVICE_DEPLOYMENT_COMPLETED|arn:aws:ecs:us-east-1:123456789012:service/${target.ecs.cluster}/${target.ecs.services[release.toColour ?? 'green']}`,
    );
    const snapshot = at('RDS DB Snapshot Event|RDS-EVENT-0042');
    if (stable === undefined || snapshot === undefined)
      throw new Error('bench: deployment or snapshot event missing');
    const floor =
      (Math.max(stable, snapshot) - pushAt) / 1000 + target.health.graceSeconds + target.bakeMinutes * 60;

    const calls: Record<string, number> = Object.fromEntries([...runtime.account.calls].sort());
    calls['DynamoDB.*'] = runtime.dynamoCalls;
    const gbSeconds = (runtime.lambda.billedMs / 1000) * (FUNCTION_MEMORY_MB / 1024);
    const cost =
      execution.stateTransitions * prices.stateTransition +
      runtime.lambda.invocations * prices.lambdaRequest +
      gbSeconds * prices.lambdaArmGbSecond;
    return {
      leadSeconds: lead,
      floorSeconds: floor,
      overheadSeconds: lead - floor,
      stateTransitions: execution.stateTransitions,
      lambdaInvocations: runtime.lambda.invocations,
      releaseLambdaInvocations: [...runtime.lambda.byFunction]
        .filter(([f]) => f !== 'reconciler')
        .reduce((n, [, c]) => n + c, 0),
      billedSeconds: runtime.lambda.billedMs / 1000,
      costUsd: cost,
      calls,
      wallMs: performance.now() - wallStart,
    };
  } finally {
    await runtime.dispose();
  }
};

const results = [];
for (let i = 0; i < RUNS; i++) results.push(await runOnce(1));
const first = results[0] as (typeof results)[number];
const same = results.every(
  (r) => r.leadSeconds === first.leadSeconds && r.stateTransitions === first.stateTransitions,
);
const walls = results.map((r) => r.wallMs).sort((a, b) => a - b);
const wall = {
  median: walls[Math.floor(walls.length / 2)] as number,
  min: walls[0] as number,
  max: walls.at(-1) as number,
};

const rows: [string, string, string][] = [
  ['lead time (push → Promoted)', `${first.leadSeconds.toFixed(1)} s`, ''],
  ['floor (max(snapshot, deploy+stable) + grace + bake)', `${first.floorSeconds.toFixed(1)} s`, ''],
  [
    'overhead = lead − floor',
    `${first.overheadSeconds.toFixed(1)} s`,
    first.overheadSeconds <= 2 ? 'goal ≤ 2 s: met' : 'goal ≤ 2 s: NOT met',
  ],
  [
    'state transitions',
    String(first.stateTransitions),
    first.stateTransitions <= 40 ? 'goal ≤ 40: met' : 'goal ≤ 40: NOT met',
  ],
  [
    'Lambda invocations (release / incl. reconciler)',
    `${first.releaseLambdaInvocations} / ${first.lambdaInvocations}`,
    '',
  ],
  ['Lambda billed duration', `${first.billedSeconds.toFixed(2)} s at ${FUNCTION_MEMORY_MB} MB`, ''],
  ['cost per release', `$${first.costUsd.toFixed(6)}`, ''],
  [
    'wall time per release',
    `${wall.median.toFixed(0)} ms`,
    `min ${wall.min.toFixed(0)}, max ${wall.max.toFixed(0)} over ${RUNS} runs`,
  ],
  ['deterministic across runs (seed 1)', same ? 'yes' : 'NO', ''],
];
process.stdout.write('\nall-at-once release of checkout-api (local runtime, virtual time)\n');
for (const [name, value, note] of rows)
  process.stdout.write(`  ${name.padEnd(52)} ${value.padStart(24)}  ${note}\n`);
process.stdout.write(
  `  prices: SFN $0.025/1k transitions; Lambda Arm $0.20/1M requests, $0.0000133334/GB-s (${prices.source})\n`,
);
process.stdout.write('\nAWS API calls per release, by service and operation\n');
for (const [op, n] of Object.entries(first.calls))
  process.stdout.write(`  ${op.padEnd(40)} ${String(n).padStart(5)}\n`);

mkdirSync(fileURLToPath(new URL('.', import.meta.url)), { recursive: true });
writeFileSync(
  fileURLToPath(new URL('./results.json', import.meta.url)),
  `${JSON.stringify({ scenario: 'all-at-once', runs: RUNS, deterministic: same, prices, ...first, wallMs: wall, wallMsRuns: walls }, null, 2)}\n`,
);
process.exit(0);
