/**
 * payments-api (local/targets.json: canary 10% for 10 minutes, then 100%) with a freeze window that
 * begins during the canary's bake, so the second step is held with 10% of traffic on green. The
 * runtime starts Monday 2026-01-05 09:00 UTC; the window is 09:06-12:00 UTC that day.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { findTarget, type Target } from '../../functions/shared/config.ts';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import type { FaultPlan } from '../../local/faults.ts';
import { LocalRuntime, type RuntimeOptions } from '../../local/runtime.ts';
import { liveWeights } from '../../local/scenarios.ts';
import { buildWorld, FAST_TARGET_GROUPS, serveTestListener } from '../../local/world.ts';

export const WINDOW = { name: 'Monday audit', timeZone: 'UTC', days: ['mon'], start: '09:06', end: '12:00' };
export const WINDOW_ENDS = Date.parse('2026-01-05T12:00:00Z');

let file: string | undefined;
/** local/targets.json with the freeze window on payments-api (written once per process). */
const targetsFile = () => {
  if (file) return file;
  const targets = JSON.parse(
    readFileSync(fileURLToPath(new URL('../../local/targets.json', import.meta.url)), 'utf8'),
  ) as { targets: { name: string; freezeWindows?: unknown[] }[] };
  for (const t of targets.targets) if (t.name === 'payments-api') t.freezeWindows = [WINDOW];
  file = join(mkdtempSync(join(tmpdir(), 'switchyard-freeze-')), 'targets.json');
  writeFileSync(file, JSON.stringify(targets));
  return file;
};

export const startFreezeWorld = async (
  faults?: FaultPlan,
  options: Pick<RuntimeOptions, 'executionTimeoutSeconds'> = {},
): Promise<{ rt: LocalRuntime; target: Target }> => {
  let target: Target | undefined;
  const rt = await LocalRuntime.start({ targetsFile: targetsFile(), faults, ...options }, async (r) => {
    target = findTarget(r.targets, 'payments-api');
    buildWorld(r.account, target, { liveTag: 'v1', targetGroup: FAST_TARGET_GROUPS });
    await serveTestListener(r.account, target);
  });
  return { rt, target: target as Target };
};

export const frozenReleaseId = releaseIdFor('payments-api', EcrModel.digestOf('payments-api', 'v2'));

/** Pushes v2 and runs until its second step is held by the window, 10% on green. */
export const frozenAtTenPercent = async (rt: LocalRuntime, target: Target) => {
  rt.push('payments-api', 'v2');
  const held = await rt.runUntil(() =>
    Boolean(
      rt
        .executions()
        .find((e) => e.name === frozenReleaseId)
        ?.history.some((h) => h.state === 'FrozenWatch' || h.state === 'FreezeWait'),
    ),
  );
  expect(held).toBe(true);
  await rt.wait(60);
  expect(liveWeights(rt, target)).toEqual({ blue: 90, green: 10 });
};
