/**
 * Turns at ECS RegisterTaskDefinition (functions/shared/registration-turns.ts): releases pushed at
 * once take one turn each on a schedule shared by the account, one a second, and wait for it in a
 * Wait state instead of polling a throttled API.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { REGISTRATIONS, registrationWait, takeTurns } from '../../functions/shared/registration-turns.ts';
import { releaseIdFor } from '../../functions/shared/requests.ts';
import { publishedRateLimits } from '../../local/account/rate-limits.ts';
import { invocation } from '../../local/faults.ts';
import { LocalRuntime } from '../../local/runtime.ts';
import { buildWorld, platformTargets } from '../../local/world.ts';

/** One platform of 30 services, each live on v1 (one file: functions read their config once a process). */
const COUNT = 30;
const dir = mkdtempSync(join(tmpdir(), 'switchyard-turns-'));
const targetsFile = join(dir, 'targets.json');
writeFileSync(targetsFile, JSON.stringify({ targets: platformTargets(COUNT) }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let rt: LocalRuntime | undefined;
afterEach(async () => {
  await rt?.dispose();
  rt = undefined;
});

/** The platform, in an account enforcing the published rate limits. */
const platform = async () => {
  rt = await LocalRuntime.start({ targetsFile, rateLimits: publishedRateLimits }, (r) => {
    for (const target of r.targets.targets) buildWorld(r.account, target, { liveTag: 'v1', tasks: 2 });
  });
  return rt;
};

describe('the registration schedule', () => {
  it('gives releases at once one turn a second each; an idle schedule starts again from now', async () => {
    const { store } = await platform();
    const at = Date.parse('2026-12-04T10:00:00.250Z');
    const turns = [];
    for (let i = 0; i < 25; i++) turns.push(await store.nextTurn(REGISTRATIONS.item, at, 1000));
    expect(turns).toEqual(Array.from({ length: 25 }, (_, i) => at + i * 1000));
    // At the very moment the next free turn is due, that turn is taken (not now again, and no error).
    expect(await store.nextTurn(REGISTRATIONS.item, at + 25_000, 1000)).toBe(at + 25_000);
    expect(await store.nextTurn(REGISTRATIONS.item, at + 25_000, 1000)).toBe(at + 26_000);
    // A minute later the schedule has been idle: the next release's turn is now, not after the others'.
    expect(await store.nextTurn(REGISTRATIONS.item, at + 60_000, 1000)).toBe(at + 60_000);
    expect(await store.nextTurn(REGISTRATIONS.item, at + 60_000, 1000)).toBe(at + 61_000);
  });

  it("gives 700 releases taking a turn at once 700 different turns, past the write throughput of the schedule's partition", async () => {
    const runtime = await platform();
    const at = Date.now();
    // Each taken by a function in its own environment (its calls meet DynamoDB's limits, with its own
    // SDK retry quota): two writes each on a busy schedule, 1,400, more than one partition admits in
    // a second; those DynamoDB refuses, the SDK tries again.
    const take = () =>
      invocation.run({ folder: 'validate', environment: { state: new Map() } as never }, () =>
        runtime.store.nextTurn(REGISTRATIONS.item, at, 1000),
      );
    const turns = await runtime.until(Promise.all(Array.from({ length: 700 }, take)));
    expect(new Set(turns).size).toBe(700);
    expect(Math.max(...turns) - Math.min(...turns)).toBe(699_000);
    expect(
      runtime.partitions.throttled.get(`switchyard-releases/{"S":"${REGISTRATIONS.item}"}`),
    ).toBeGreaterThan(0);
  });

  it('lets the first ten register at once and the rest wait for their turn; a recorded turn keeps its place', async () => {
    const { store } = await platform();
    const now = new Date('2026-12-04T10:00:00.250Z');
    const deps = { store, now: () => now };
    const taken = [];
    for (let i = 0; i < 13; i++) taken.push(await takeTurns(deps, REGISTRATIONS, undefined));
    // Turns 0-9 s are within half the bucket's burst (10 of 20): at once. Turn 10 s at 10:00:01, and so on.
    expect(taken.map((t) => t.waitUntil)).toEqual([
      ...Array(10).fill(undefined),
      '2026-12-04T10:00:01Z',
      '2026-12-04T10:00:02Z',
      '2026-12-04T10:00:03Z',
    ]);
    const last = new Date(taken[12]?.turnAt ?? 0).toISOString();
    expect(last).toBe('2026-12-04T10:00:12.250Z');
    // A deploy step on that recorded turn: it waits until 10:00:03, then goes, taking no new turn.
    expect(registrationWait(deps, last)).toBe('2026-12-04T10:00:03Z');
    expect(registrationWait({ now: () => new Date('2026-12-04T10:00:03Z') }, last)).toBeUndefined();
    // None recorded (a rollback's release record): at once.
    expect(registrationWait(deps, undefined)).toBeUndefined();
    expect((await takeTurns(deps, REGISTRATIONS, undefined)).turnAt).toBe(
      Date.parse('2026-12-04T10:00:13.250Z'),
    );
  });
});

describe('a platform-wide rebuild under the published rate limits', () => {
  it('registers each release once, never throttled, and promotes all of them', async () => {
    const count = COUNT;
    const runtime = await platform();
    const pushed = runtime.targets.targets.map((t) => ({
      target: t.name,
      digest: runtime.account.ecr.push(t.image.repository, 'v2', { silent: false }).digest,
    }));
    await runtime.settle();
    const records = await Promise.all(pushed.map((p) => runtime.release(releaseIdFor(p.target, p.digest))));
    expect(records.map((r) => r?.outcome)).toEqual(Array(count).fill('Promoted'));

    const registrations = runtime.account.callLog.filter((c) => c.call === 'ECS.RegisterTaskDefinition');
    // Before: 30 deploys polled the bucket (20, then 1 a second), and the late ones were throttled.
    expect(registrations.filter((c) => c.throttled)).toEqual([]);
    expect(registrations).toHaveLength(count);
    // Those past the first ten waited for their turn before Validate read anything (validation goes
    // at the pace registrations can), the record says so, and the deploy then went at once.
    const waitedIn = (step: string) =>
      records.filter((r) =>
        r?.phases.some((p) => p.name === step && /waiting for its turn/.test(p.detail ?? '')),
      );
    // Ten validations go at once, then two a second. A Wait's timestamp is in whole seconds, rounded
    // up, so the tenth waits too when the first took its turn in the second half of a second.
    expect(waitedIn('Validate').length).toBeGreaterThanOrEqual(count - 10);
    expect(waitedIn('Validate').length).toBeLessThanOrEqual(count - 9);
    // Registrations go one a second, validations two: the later deploys waited for their turns.
    expect(waitedIn('DeployInactiveColour').length).toBeGreaterThan(0);
    // Validate's reads were never throttled either: before, thirty validations read at once.
    const throttledReads = runtime.account.callLog.filter((c) => c.throttled && c.by === 'validate');
    expect(throttledReads).toEqual([]);
    // One a second once the first ten went at once: the last registration 17-21 s after the first
    // (the first registered a second or two after its turn: it was validated, then deployed).
    const span = (registrations.at(-1)?.at ?? 0) - (registrations[0]?.at ?? 0);
    expect(span).toBeGreaterThanOrEqual(17_000);
    expect(span).toBeLessThan(21_000);
  });
});
