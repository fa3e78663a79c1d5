import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetHealthCommand,
  type TargetHealthDescription,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { describeFiring, noAlarms, readAlarms } from '../shared/alarms.ts';
import { findTarget, type Target } from '../shared/config.ts';
import type { ReleaseDeps } from '../shared/deps.ts';
import { HealthCheckFailed, ResourceNotFound, TargetsNotRegistered } from '../shared/errors.ts';
import { healthSummary } from '../shared/health-text.ts';
import { CRASHED_STOP_CODES, failedMemberTasks } from '../shared/member-health.ts';
import { percentile } from '../shared/probe.ts';
import { settled } from '../shared/settled.ts';
import { judgeMembers } from './members.ts';
import type { Input, Output } from './schema.ts';
import { judgeTargets } from './targets.ts';

type Deps = Pick<ReleaseDeps, 'targets' | 'elbv2' | 'probe' | 'cloudwatch' | 'ecs'>;

/** Probes that never connected, one after the other from the first, before CheckHealth calls the listener unreachable. */
const NO_CONNECTION_TRIES = 3;

/**
 * The idle colour is healthy when every registered target of its target group that is not
 * draining is `healthy`, at
 * least as many as the live colour runs, and HTTP probes through the test listener meet the
 * target's p95 latency and error-rate thresholds. Traffic does not move while a watched alarm is
 * in ALARM either: that would only be rolled back.
 */
export const run = async (input: Input, deps: Deps): Promise<Output> => {
  const target = findTarget(deps.targets, input.target);
  const groupArn = target.traffic.targetGroups[input.plan.toColour];
  const listenerArn = target.traffic.testListenerArn;
  // Four independent reads side by side (a group's members too: they used to follow the others,
  // about 0.1 s more on the way to traffic); their verdicts are judged in this order.
  // Tasks created before this execution started are not its doing (member-health.ts).
  const since = input.executionStartedAt ? new Date(input.executionStartedAt) : undefined;
  const { cluster, toService, toColour } = input.plan;
  const newColour = [{ member: toColour, cluster, service: toService }];
  const [alarms, crashed, health, members, probeUrl] = await Promise.allSettled([
    // A rollback's plan is not judged by them (schemas.ts, alarmsJudgeNewColour).
    input.plan.alarmsJudgeNewColour ? readAlarms(deps.cloudwatch, target.alarms) : noAlarms,
    // The new colour's own crashes, whatever its targets read now: a colour whose tasks exit and
    // are replaced reads all healthy between two crashes (found when faster steps moved the check).
    // Of its own rollout (a task another release's deployment started is not its doing: a release
    // queued behind a crash-looping one, a rollback started while one deploys; found by review),
    // and only a container that exited (CRASHED_STOP_CODES).
    failedMemberTasks(deps.ecs, newColour, since, CRASHED_STOP_CODES),
    deps.elbv2.send(new DescribeTargetHealthCommand({ TargetGroupArn: groupArn })),
    judgeMembers(input.plan.members, deps, since),
    listenerArn ? probeUrlOf(target, listenerArn, groupArn, deps) : Promise.resolve(undefined),
  ]);
  const { firing } = settled(alarms);
  if (firing.length > 0) throw new HealthCheckFailed(`before any traffic moved: ${describeFiring(firing)}`);
  failOnStopped(toColour, settled(crashed));
  const healthy = await judgePrimary(settled(health).TargetHealthDescriptions ?? [], input.plan, () =>
    failedMemberTasks(deps.ecs, newColour, since),
  );
  const group = settled(members);
  const url = settled(probeUrl);
  const result = url
    ? { healthyTargets: healthy, probes: await runProbes(target, url, deps) }
    : { healthyTargets: healthy };
  // The audit trail keeps each measure against its limit (switchyard describe shows it).
  const summary = healthSummary(result, target.health.thresholds);
  return { ...result, summary: group ? `${summary}; ${group}` : summary };
};

/**
 * The new colour's targets (targets.ts). Fewer registered than it runs, none failing, is pending,
 * unless its own tasks have been stopping: a task whose container exits takes its target out of the
 * group (draining) while ECS starts another, which reads the same. Its stopped tasks tell which.
 */
const judgePrimary = async (
  descriptions: TargetHealthDescription[],
  plan: Input['plan'],
  /** Its stopped tasks, every stop code that counts (a task that failed to start too). */
  stoppedTasks: () => Promise<Map<string, string[]>>,
): Promise<number> => {
  try {
    return judgeTargets(descriptions, plan.desiredCount, plan.toColour);
  } catch (error) {
    if (!(error instanceof TargetsNotRegistered)) throw error;
    failOnStopped(plan.toColour, await stoppedTasks());
    throw error;
  }
};

/** A new colour with tasks of its own that stopped on their own fails the check, naming them. */
const failOnStopped = (colour: string, failures: Map<string, string[]>) => {
  const lines = failures.get(colour);
  if (lines) throw new HealthCheckFailed(`before any traffic moved: ${colour}: ${lines.join('; ')}`);
};

/** The URL that reaches the new colour through the test listener (which must forward only to it). */
const probeUrlOf = async (target: Target, listenerArn: string, groupArn: string, deps: Deps) => {
  const out = await deps.elbv2.send(new DescribeListenersCommand({ ListenerArns: [listenerArn] }));
  const listener = out.Listeners?.[0];
  if (!listener?.LoadBalancerArn) throw new ResourceNotFound(`test listener ${listenerArn} not found`);
  const forwardsTo = listener.DefaultActions?.find((a) => a.Type === 'forward');
  const groups = forwardsTo?.ForwardConfig?.TargetGroups?.map((g) => g.TargetGroupArn) ?? [
    forwardsTo?.TargetGroupArn,
  ];
  if (groups.length !== 1 || groups[0] !== groupArn) {
    throw new HealthCheckFailed(
      `test listener ${listenerArn} does not forward only to ${groupArn}; probes would not measure the new colour`,
    );
  }
  const lbs = await deps.elbv2.send(
    new DescribeLoadBalancersCommand({ LoadBalancerArns: [listener.LoadBalancerArn] }),
  );
  const dns = lbs.LoadBalancers?.[0]?.DNSName;
  if (!dns) throw new ResourceNotFound(`load balancer ${listener.LoadBalancerArn} not found`);
  const scheme = listener.Protocol === 'HTTPS' ? 'https' : 'http';
  return `${scheme}://${dns}:${listener.Port}${target.health.path}`;
};

const runProbes = async (target: Target, url: string, deps: Deps) => {
  const results = [];
  for (let i = 0; i < target.health.probes; i++) {
    results.push(await deps.probe(url));
    // Three tries that never connected: the listener is out of reach, not slow. Say so now.
    if (results.length === NO_CONNECTION_TRIES && results.every((r) => r.status === 0)) {
      throw new HealthCheckFailed(
        `probes of ${url}: no connection in ${NO_CONNECTION_TRIES} tries. CheckHealth cannot reach the test listener: ` +
          `for an internal load balancer set the target's network (the subnets and security groups of its VPC) so ` +
          `CheckHealth attaches to it, and let those security groups reach the listener's port`,
      );
    }
  }
  const errors = results.filter((r) => r.status !== target.health.expectStatus).length;
  const errorRate = errors / results.length;
  const p95Ms = Math.round(
    percentile(
      results.map((r) => r.ms),
      95,
    ),
  );
  const { thresholds } = target.health;
  if (errorRate > thresholds.errorRate || p95Ms > thresholds.p95Ms) {
    const statuses = [...new Set(results.map((r) => r.status))].join(', ');
    throw new HealthCheckFailed(
      `probes of ${url}: error rate ${(errorRate * 100).toFixed(1)}% (max ${thresholds.errorRate * 100}%), ` +
        `p95 ${p95Ms} ms (max ${thresholds.p95Ms} ms), statuses seen: ${statuses}`,
    );
  }
  return { count: results.length, p95Ms, errorRate, url };
};
