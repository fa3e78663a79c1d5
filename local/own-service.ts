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
import { loadTargetsFile, type Target } from '../functions/shared/config.ts';
import { normaliseIdentity } from '../functions/shared/identity.ts';
import type { Scenario } from './scenarios.ts';

export const FAULTS = {
  'bad-image': 'v2 fails its health checks',
  'error-rate': 'v2 answers half of real requests with 5xx',
} as const;
export type DemoFault = keyof typeof FAULTS;

/** Faults the issue names that cannot be simulated yet, and why (asked for by name: a clear refusal). */
export const NOT_YET: Record<string, string> = {
  latency:
    'the simulated load balancer has no response-time model yet, so a slow image cannot be shown; bad-image and error-rate can',
  'hook-fails': 'release hooks are not built yet (issue 15); bad-image and error-rate can be shown',
};

/** `--fault <kind>` of the demo and of `switchyard --local release`: a known fault, or a refusal naming why. */
export const parseFault = (value: string): DemoFault => {
  if (value in NOT_YET)
    throw new InvalidArgumentError(`"${value}" cannot be simulated yet: ${NOT_YET[value]}`);
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
  const noAlarms = fault === 'error-rate' && target.alarms.length === 0;
  return {
    target,
    scenario: {
      description: `${target.name}: v2 is pushed${fault ? ` and ${FAULTS[fault]}` : ''}${approvers[0] ? `; ${approvers[0]} approves` : ''}`,
      target: target.name,
      ...(fault === 'bad-image' ? { faults: { unhealthyTags: ['v2'] } } : {}),
      ...(fault === 'error-rate' ? { faults: { errorRates: { v2: 0.5 } } } : {}),
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
      expect:
        fault === 'bad-image' ? 'Aborted' : fault === 'error-rate' && !noAlarms ? 'RolledBack' : 'Promoted',
    },
    ...(noAlarms
      ? {
          note: `${target.name} watches no alarms: nothing sees v2's errors, so it is Promoted. Add a 5xx alarm to its "alarms" and the same run rolls back.`,
        }
      : {}),
  };
};
