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

/** The warm-ups of `folder` `by` sent, grouped by the instant they were sent: how many at once. */
const rounds = (r: LocalRuntime, by: string, folder = 'deploy-member') => {
  const at = new Map<number, number>();
  for (const c of r.account.callLog)
    if (c.call === 'Lambda.Invoke' && c.by === by && c.functionName === `switchyard-${folder}`)
      at.set(c.at, (at.get(c.at) ?? 0) + 1);
  return [...at.values()];
};
const deployMemberRounds = (r: LocalRuntime, by: string) => rounds(r, by);

describe('warm-ups sized by the groups releasing', () => {
  it('a single-service release warms each per-member step once, from start-release and from every tick; deploy-member, a group’s first step, as the account’s largest group needs', async () => {
    const r = await world();
    r.push('checkout-api', 'v2');
    await r.settle();
    expect(deployMemberRounds(r, 'start-release')).toEqual([1]);
    for (const folder of ['stop-member', 'start-member']) {
      expect(rounds(r, 'start-release', folder), folder).toEqual([1]);
      const ticks = rounds(r, 'reconciler', folder);
      expect(ticks.length, folder).toBeGreaterThan(3);
      expect(new Set(ticks), folder).toEqual(new Set([1]));
    }
    // Every tick warms the functions of a release's first second (startChainFunctions), released
    // or not: deploy-member for the bugs group's three members and one more, so that its push
    // finds them started.
    expect(new Set(deployMemberRounds(r, 'reconciler'))).toEqual(new Set([4]));
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
