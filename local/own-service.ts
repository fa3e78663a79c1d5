/**
 * `npm run demo -- --targets <file> [--target t] [--fault f] [--at time]`: one release of your own
 * target, in a simulated account built from your targets file, with a failure path to watch if you
 * name one. What each fault does, and what the release should then end as:
 * - none: v2 is healthy → Promoted;
 * - bad-image: v2's containers fail their health checks → Aborted, traffic never moved;
 * - error-rate: v2 passes its health checks but answers half of real requests with 5xx → RolledBack
 *   by the target's alarms; a target with no alarms has nothing to see it, and ends Promoted (the
 *   demo says so rather than call that a success).
 */

import { InvalidArgumentError } from 'commander';
import { checksAt, When } from '../functions/shared/analysis/config.ts';
import { loadTargetsFile, type Target } from '../functions/shared/config.ts';
import { migrationCompatibility } from '../functions/shared/hooks.ts';
import { normaliseIdentity } from '../functions/shared/identity.ts';
import type { FaultPlan } from './faults.ts';
import type { Scenario } from './scenarios.ts';

export const FAULTS = {
  'bad-image': 'v2 fails its health checks',
  'error-rate': 'v2 answers half of real requests with 5xx',
  latency: 'v2 answers with a p95 of 5 s',
  'hook-fails': "every hook's task exits 1 (and every Lambda hook throws)",
} as const;
export type DemoFault = keyof typeof FAULTS;

/** What each fault arms in the simulated account for the image tagged `tag`. */
export const faultPlan = (fault: DemoFault, tag: string): FaultPlan =>
  fault === 'bad-image'
    ? { unhealthyTags: [tag] }
    : fault === 'error-rate'
      ? { errorRates: { [tag]: 0.5 } }
      : fault === 'latency'
        ? { latencyMs: { [tag]: 5000 } }
        : // Every command contains the empty string: every hook task of the run.
          {
            tasks: { '': { exitCode: 1 } },
            lambdaHooks: { '': { error: 'Error: hook failed (--fault hook-fails)' } },
          };

/** `--fault <kind>` of the demo and of `switchyard --local release`: a known fault, or a refusal naming why. */
export const parseFault = (value: string): DemoFault => {
  if (!(value in FAULTS))
    throw new InvalidArgumentError(`unknown fault "${value}"; known: ${Object.keys(FAULTS).join(', ')}`);
  return value as DemoFault;
};

/** `--at <time>` of the demo and the CLI: an ISO 8601 time. */
export const parseIsoTime = (value: string): Date => {
  const at = Date.parse(value);
  if (!/^\d{4}-\d\d-\d\dT/.test(value) || Number.isNaN(at))
    throw new InvalidArgumentError('must be an ISO 8601 time such as 2026-01-09T15:59:00Z');
  return new Date(at);
};

/** The scenario for `target` with `fault`: what is released, who approves, and the outcome it should reach. */
export const ownServiceScenario = (
  targetsFile: string,
  name: string | undefined,
  fault: DemoFault | undefined,
  at: Date | undefined,
): { scenario: Scenario; target: Target; note?: string } => {
  const { targets } = loadTargetsFile(targetsFile);
  const target = name ? targets.find((t) => t.name === name) : targets[0];
  if (!target) {
    throw new Error(
      `unknown target "${name}" in ${targetsFile} (configured: ${targets.map((t) => t.name).join(', ')})`,
    );
  }
  const approvers = target.approval?.required
    ? target.approval.approvers.map((a) => normaliseIdentity(a.id))
    : [];
  const twoNeeded = target.approval?.twoPerson || target.approval?.twoPersonIfRequesterUnknown;
  const preHooks = target.hooks.preTraffic.length > 0;
  const postHooks = target.hooks.postTraffic.length > 0;
  // What would see each fault: a load-test hook, analysis of test traffic (before any weight moves),
  // analysis in the bakes, or an alarm (the simulated alarms watch 5xx).
  const loadTest = [...target.hooks.preTraffic].some((h) => (h.thresholds?.p95Ms ?? Infinity) < 5000);
  const judges = (when: (typeof When)[keyof typeof When], metric: 'latency' | 'error-rate', worst: number) =>
    checksAt(target.analysis, when).some(
      (c) =>
        typeof c.metric === 'string' &&
        c.metric.startsWith(metric) &&
        ((c.max !== undefined && c.max < worst) || (when === When.Bakes && c.compare !== undefined)),
    );
  const latencyBefore = loadTest || judges(When.TestTraffic, 'latency', 5000);
  const latencyAfter = judges(When.Bakes, 'latency', 5000);
  const errorsBefore = judges(When.TestTraffic, 'error-rate', 0.5);
  const errorsAfter = target.alarms.length > 0 || judges(When.Bakes, 'error-rate', 0.5);
  const noAlarms = fault === 'error-rate' && !errorsBefore && !errorsAfter;
  const unseen =
    noAlarms ||
    (fault === 'hook-fails' && !preHooks && !postHooks) ||
    (fault === 'latency' && !latencyBefore && !latencyAfter);
  const expected =
    fault === 'bad-image'
      ? 'Aborted'
      : fault === 'error-rate' && errorsBefore
        ? 'Aborted'
        : fault === 'error-rate' && errorsAfter
          ? 'RolledBack'
          : fault === 'hook-fails' && preHooks
            ? 'Aborted'
            : fault === 'hook-fails' && postHooks
              ? migrationCompatibility(target.hooks) === 'breaking'
                ? 'RollbackFailed'
                : 'RolledBack'
              : fault === 'latency' && latencyBefore
                ? 'Aborted'
                : fault === 'latency' && latencyAfter
                  ? 'RolledBack'
                  : 'Promoted';
  return {
    target,
    scenario: {
      description: `${target.name}: v2 is pushed${fault ? ` and ${FAULTS[fault]}` : ''}${approvers[0] ? `; ${approvers[0]} approves` : ''}`,
      target: target.name,
      ...(fault ? { faults: faultPlan(fault, 'v2') } : {}),
      ...(approvers[0]
        ? {
            approval: {
              as: approvers[0],
              decision: 'approve' as const,
              ...(twoNeeded && approvers[1] ? { also: approvers[1] } : {}),
            },
          }
        : {}),
      ...(at ? { startTime: at.toISOString() } : {}),
      ...(new RegExp(`^(?:${target.image.tagPattern})$`).test('v2') ? {} : { manual: true }),
      expect: expected,
    },
    ...(unseen
      ? {
          note: noAlarms
            ? `${target.name} watches no alarms and no analysis judges its error rate: nothing sees v2's errors, so it is Promoted. Add a 5xx alarm to its "alarms" (or an error-rate analysis check) and the same run rolls back.`
            : fault === 'hook-fails'
              ? `${target.name} has no hooks: there is nothing to fail, so it is Promoted. Add hooks.preTraffic (e.g. a migration) and the same run aborts.`
              : `nothing measures ${target.name}'s latency, so it is Promoted. Add a preTraffic load-test hook with thresholds.p95Ms (or a latency analysis check) and the same run stops.`,
        }
      : {}),
  };
};
