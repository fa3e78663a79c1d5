/**
 * How many warm-ups the per-member steps get (functions/shared/keep-warm.ts): one per member of the
 * largest group releasing now, and one more; once each while no group releases. In an account
 * with a single-service target (checkout-api) and a three-member group (bugs). Found by review:
 * nothing checked that a single-service release sends one copy, and a single-service push claiming
 * the minute first left the group's steps cold.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import { LocalRuntime } from '../../local/runtime.ts';
import { buildWorld, FAST_TARGET_GROUPS } from '../../local/world.ts';

const targetsFile = fileURLToPath(new URL('../fixtures/targets-mixed.json', import.meta.url));

let rt: LocalRuntime | undefined;
afterEach(async () => {
  await rt?.dispose();
  rt = undefined;
});

const world = async () => {
  rt = await LocalRuntime.start({ targetsFile }, (r) => {
    for (const t of r.targets.targets)
      buildWorld(r.account, t, { liveTag: 'v1', targetGroup: FAST_TARGET_GROUPS });
  });
  return rt;
};

/** The warm-ups of deploy-member `by` sent, grouped by the instant they were sent: how many at once. */
const deployMemberRounds = (r: LocalRuntime, by: string) => {
  const rounds = new Map<number, number>();
  for (const c of r.account.callLog)
    if (c.call === 'Lambda.Invoke' && c.by === by && c.functionName === 'switchyard-deploy-member')
      rounds.set(c.at, (rounds.get(c.at) ?? 0) + 1);
  return [...rounds.values()];
};

describe('warm-ups sized by the groups releasing', () => {
  it('a single-service release warms each per-member step once, from start-release and from every tick', async () => {
    const r = await world();
    r.push('checkout-api', 'v2');
    await r.settle();
    expect(deployMemberRounds(r, 'start-release')).toEqual([1]);
    const ticks = deployMemberRounds(r, 'reconciler');
    expect(ticks.length).toBeGreaterThan(3);
    expect(new Set(ticks)).toEqual(new Set([1]));
  });

  it('a group pushed in the same minute as a single service, after it, still gets its copies: no member step starts cold', async () => {
    const r = await world();
    r.push('checkout-api', 'v2');
    r.account.ecr.push('bugs-worker', 'v2', { silent: true });
    r.push('bugs', 'v2');
    await r.settle();
    // The first round (one copy) and the group's (three members and one more).
    expect(deployMemberRounds(r, 'start-release')).toEqual([1, 4]);
    expect(new Set(deployMemberRounds(r, 'reconciler'))).toContain(4);
    const members = [...r.lambda.invocationsByState.keys()].filter((s) => /Member/.test(s));
    expect(members).toContain('DeployMember');
    expect(members.filter((s) => r?.lambda.coldStartsByState.has(s))).toEqual([]);
    const bugs = r
      .executions()
      .find((e) => JSON.parse(e.input).image?.digest === EcrModel.digestOf('bugs', 'v2'));
    expect((await r.release(bugs?.name ?? ''))?.outcome).toBe('Promoted');
  });
});
