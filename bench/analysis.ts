/**
 * The analysis run of `npm run bench` (its own process: a process runs one targets file). One
 * target, a 10% canary baking 10 minutes on 20 requests/s, released once per seed in each case:
 *   healthy          v2 as fast and as clean as v1 (every rollback is a false positive);
 *   latency +30%     v2's p95 234 ms against v1's 180 ms;
 *   errors +2 points v2 answers 2% of requests with 5xx, v1 none;
 *   latency +10%, errors +0.3 points: worse within the checks' tolerance (each rollback is one the
 *   config did not ask for).
 * `analysis` judges with the target's analysis and its 5xx alarm (threshold 1% of the listener's
 * requests); `alarms` with the alarm alone: today's behaviour, to show what analysis adds.
 * Prints one JSON document.
 *   tsx bench/analysis.ts <analysis|alarms> <seeds> [healthy seeds]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findTarget } from '../functions/shared/config.ts';
import { releaseIdFor } from '../functions/shared/requests.ts';
import type { ReleaseRecord } from '../functions/shared/store.ts';
import { EcrModel } from '../local/account/ecr-sns.ts';
import type { FaultPlan } from '../local/faults.ts';
import { LocalRuntime } from '../local/runtime.ts';
import { buildWorld, FAST_TARGET_GROUPS, serveTestListener } from '../local/world.ts';

const variant = process.argv[2] === 'alarms' ? 'alarms' : 'analysis';
const seeds = Number(process.argv[3] ?? 20);
/** The healthy case is the false-positive count: its own (larger) number of seeds. */
const healthySeeds = Number(process.argv[4] ?? seeds);

const fixture = JSON.parse(
  readFileSync(fileURLToPath(new URL('../test/fixtures/targets-analysis.json', import.meta.url)), 'utf8'),
);
const target = fixture.targets[0];
target.alarms = ['shop-api-5xx'];
// The target's own checks, as a user writes them; the throughput floor only warns.
if (variant === 'alarms') delete target.analysis;
const dir = mkdtempSync(join(tmpdir(), 'switchyard-bench-analysis-'));
const targetsFile = join(dir, 'targets.json');
writeFileSync(targetsFile, JSON.stringify(fixture));

const cases: Record<string, FaultPlan> = {
  healthy: {},
  'latency +30%': { latencyMs: { v2: 234 } },
  'errors +2 points': { errorRates: { v2: 0.02 } },
  // Worse, but within the checks' tolerance (15%, half a point): what the config says to accept.
  ...(variant === 'analysis'
    ? {
        'latency +10% (tolerated)': { latencyMs: { v2: 198 } },
        'errors +0.3 points (tolerated)': { errorRates: { v2: 0.003 } },
      }
    : {}),
};
const releaseId = releaseIdFor('shop-api', EcrModel.digestOf('shop-api', 'v2'));

interface Run {
  outcome: string;
  error?: string;
  /** Seconds from the canary's weight change to all weight back on blue (a rollback). */
  secondsToWeightsBack?: number;
  /** Whether the rollback came while the canary's 10-minute bake ran (or at its end). */
  withinCanaryBake?: boolean;
}

const results: Record<string, Run[]> = {};
for (const [name, faults] of Object.entries(cases)) {
  results[name] = [];
  for (let seed = 1; seed <= (name === 'healthy' ? healthySeeds : seeds); seed++) {
    const rt = await LocalRuntime.start({ targetsFile, seed, faults }, async (r) => {
      const t = findTarget(r.targets, 'shop-api');
      buildWorld(r.account, t, { liveTag: 'v1', targetGroup: FAST_TARGET_GROUPS });
      await serveTestListener(r.account, t);
    });
    try {
      rt.push('shop-api', 'v2');
      await rt.settle();
      const record = (await rt.release(releaseId)) as ReleaseRecord;
      const shifted = record.phases.find((p) => p.name === 'ShiftTraffic')?.startedAt;
      const back = record.trafficRestoredAt;
      const seconds = shifted && back ? (Date.parse(back) - Date.parse(shifted)) / 1000 : undefined;
      results[name]?.push({
        outcome: record.outcome ?? 'none',
        ...(record.error ? { error: record.error.Error } : {}),
        ...(seconds !== undefined
          ? // Caught at the canary (its watch or its end), not later at 100% where everyone gets v2.
            {
              secondsToWeightsBack: seconds,
              withinCanaryBake: (record.error?.Cause ?? '').startsWith('at 10% on'),
            }
          : {}),
      });
    } finally {
      await rt.dispose();
    }
  }
}
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify({ variant, seeds, healthySeeds, results })}\n`);
process.exit(0);
