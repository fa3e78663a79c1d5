import type { TargetHealthDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import { HealthCheckFailed, TargetsInitializing, TargetsNotRegistered } from '../shared/errors.ts';

/**
 * A new colour's target group is healthy when every registered target that is not draining is
 * `healthy`, at least as many as `desired`. A `draining` target is leaving the group (the
 * deregistration delay, 300 s by default: old tasks of an earlier scale-down): it takes no new
 * requests, so it neither counts nor blocks. Targets still in their first checks are
 * TargetsInitializing (retried); fewer targets registered than `desired` while none fails is
 * TargetsNotRegistered (retried for minutes); anything else short is HealthCheckFailed. `who` starts each
 * message (`green`, `group member api: green`). Returns how many are healthy.
 */
export const judgeTargets = (
  descriptions: TargetHealthDescription[],
  desired: number,
  who: string,
): number => {
  const targets = descriptions.filter((t) => t.TargetHealth?.State !== 'draining');
  const initializing = targets.filter((t) => t.TargetHealth?.State === 'initial');
  const noneFailing = targets.every((t) => ['healthy', 'initial'].includes(t.TargetHealth?.State ?? ''));
  if (initializing.length > 0 && noneFailing) {
    throw new TargetsInitializing(
      `${who}: ${initializing.length}/${targets.length} targets are still in their first health checks (${initializing[0]?.TargetHealth?.Reason ?? 'initial'})`,
    );
  }
  // Fewer registered than asked for, none failing: ECS has not registered the new tasks yet. Right
  // after a scale-down its tasks still run while their targets drain, so the service reads stable
  // at its count before the tasks that replace them are in the group (found once the steps after
  // a release ran warm, a second sooner). Retried for minutes, not TargetsInitializing's twenty; a
  // colour whose tasks crash is failed by its stopped tasks first (check-health/run.ts).
  if (targets.length < desired && noneFailing) {
    throw new TargetsNotRegistered(
      `${who}: ${targets.length}/${desired} targets registered; ECS is still registering the others`,
    );
  }
  const healthy = targets.filter((t) => t.TargetHealth?.State === 'healthy');
  if (healthy.length < desired || healthy.length !== targets.length) {
    const unhealthy = targets
      .filter((t) => t.TargetHealth?.State !== 'healthy')
      .map((t) => `${t.Target?.Id}: ${t.TargetHealth?.State} (${t.TargetHealth?.Reason ?? 'no reason'})`);
    throw new HealthCheckFailed(
      `${who} has ${healthy.length}/${desired} healthy targets` +
        (unhealthy.length ? `; ${unhealthy.slice(0, 5).join(', ')}` : ''),
    );
  }
  return healthy.length;
};
