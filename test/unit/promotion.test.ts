/**
 * Promotion config and the gate's reading of an upstream history, without a runtime: every way a
 * config can be wrong names its field, and every way the evidence can be missing names what is.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseTargets } from '../../functions/shared/config.ts';
import { evidenceDetails, promotionGate, soakMinutesOf } from '../../functions/shared/promotion.ts';
import { noticeKind, routed } from '../../functions/shared/routing.ts';
import type { ReleaseRecord } from '../../functions/shared/store.ts';

const file = fileURLToPath(new URL('../fixtures/targets-promotion.json', import.meta.url));
const doc = () => JSON.parse(readFileSync(file, 'utf8'));
const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('promotesFrom config', () => {
  it('accepts a chain, with defaults, and soaks an upstream as long as its longest downstream asks', () => {
    const d = doc();
    delete d.targets[2].promotesFrom.automatic;
    const targets = parseTargets(d);
    expect(targets.targets[2]?.promotesFrom).toEqual({
      target: 'shop-prod',
      soakMinutes: 15,
      automatic: false,
    });
    expect(soakMinutesOf(targets, 'shop-staging')).toBe(30);
    expect(soakMinutesOf(targets, 'shop-prod')).toBe(15);
    expect(soakMinutesOf(targets, 'shop-eu')).toBeUndefined();
  });

  it('refuses an unknown upstream, naming the configured targets', () => {
    const d = doc();
    d.targets[1].promotesFrom.target = 'shop-stagign';
    expect(() => parseTargets(d)).toThrow(
      /targets\[1\]\.promotesFrom\.target: no target named "shop-stagign" \(configured: shop-staging, shop-prod, shop-eu\)/,
    );
  });

  it('refuses a cycle, showing it, and a target promoted from itself', () => {
    const d = doc();
    d.targets[0].promotesFrom = { target: 'shop-eu' };
    expect(() => parseTargets(d)).toThrow(
      /targets\[0\]\.promotesFrom\.target: promotesFrom forms a cycle \(shop-staging → shop-eu → shop-prod → shop-staging\)/,
    );
    const e = doc();
    e.targets[0].promotesFrom = { target: 'shop-staging' };
    expect(() => parseTargets(e)).toThrow(/"shop-staging" cannot be promoted from itself/);
  });

  it.each([
    [0, /soakMinutes: must be at least 1 minute/],
    [1.5, /soakMinutes: must be a whole number of minutes/],
    [7 * 24 * 60 + 1, /soakMinutes: must be at most 10080 \(7 days\)/],
    ['30', /soakMinutes: .*expected number/],
  ])('refuses soakMinutes %j, naming the field', (soak, message) => {
    const d = doc();
    d.targets[1].promotesFrom.soakMinutes = soak;
    expect(() => parseTargets(d)).toThrow(message);
  });
});

describe('notify.events routing', () => {
  it('refuses an unknown event, and a route to a channel that has no webhook', () => {
    const d = doc();
    d.targets[1].notify.events.teams = ['failure'];
    expect(() => parseTargets(d)).toThrow(/targets\[1\]\.notify\.events\.teams\[0\]: Invalid option/);
    const e = doc();
    e.targets[0].notify.events = { slack: ['failures'] };
    expect(() => parseTargets(e)).toThrow(
      /targets\[0\]\.notify\.events\.slack: routes notices to Slack, but notify\.slackWebhookSecret is not set/,
    );
  });

  it('routes by state, by group, and everything where a channel has no list', () => {
    const routes = { teams: ['failures' as const], slack: ['Promoted' as const, 'SoakFailed' as const] };
    expect(routed(routes, 'teams', 'RolledBack')).toBe(true);
    expect(routed(routes, 'teams', 'Promoted')).toBe(false);
    expect(routed(routes, 'slack', 'SoakFailed')).toBe(true);
    expect(routed(routes, 'slack', 'Started')).toBe(false);
    expect(routed(routes, 'sns', 'Started')).toBe(true);
    expect(noticeKind({ event: 'step' })).toBe('TrafficShifted');
    expect(noticeKind({ event: 'started' })).toBe('Started');
    expect(noticeKind({ event: 'RolledBack' })).toBe('RolledBack');
  });
});

describe('the promotion gate', () => {
  const targets = parseTargets(doc());
  const prod = targets.targets[1] as (typeof targets.targets)[number];
  const at = '2026-01-05T09:00:00.000Z';
  const release = (over: Partial<ReleaseRecord>): ReleaseRecord => ({
    releaseId: 'shop-staging-abababababab',
    kind: 'release',
    target: 'shop-staging',
    environment: 'staging',
    image: { repository: 'shop', tag: '1.0.0-rc.1', digest: DIGEST },
    trigger: { source: 'ecr-push', at },
    executionArn: 'arn',
    status: 'Promoted',
    outcome: 'Promoted',
    createdAt: at,
    updatedAt: at,
    endedAt: at,
    phases: [],
    soak: {
      minutes: 30,
      startedAt: at,
      endsAt: '2026-01-05T09:30:00.000Z',
      status: 'completed',
      detail: 'ok',
    },
    ...over,
  });
  const gate = (history: ReleaseRecord[], now = '2026-01-05T10:00:00.000Z') =>
    promotionGate(prod, DIGEST, {
      targets,
      store: { releasesForTarget: async () => history },
      now: () => new Date(now),
    });

  it('opens on a Promoted, soaked, not rolled-back release of the digest, with its evidence', async () => {
    const g = await gate([release({})]);
    expect(g).toMatchObject({
      open: true,
      evidence: { from: 'shop-staging', releaseId: 'shop-staging-abababababab' },
    });
  });

  it.each<[string, ReleaseRecord[], RegExp]>([
    ['never released', [], /was never released there: release it to shop-staging first/],
    [
      'still running',
      [release({ outcome: undefined, status: 'Running' })],
      /is being released there now \(shop-staging-abababababab, Running\)/,
    ],
    [
      'not Promoted',
      [release({ outcome: 'RolledBack', status: 'RolledBack' })],
      /never ended Promoted there \(shop-staging-abababababab: RolledBack\)/,
    ],
    [
      'still soaking',
      [
        release({
          soak: { minutes: 30, startedAt: at, endsAt: '2026-01-05T10:30:00.000Z', status: 'soaking' },
        }),
      ],
      /is still soaking there \(shop-staging-abababababab\) until 2026-01-05T10:30:00.000Z \(30 min left/,
    ],
    [
      'soak failed',
      [
        release({
          soak: {
            minutes: 30,
            startedAt: at,
            endsAt: at,
            status: 'failed',
            detail: 'alarm "x" went to ALARM at t',
          },
        }),
      ],
      /failed its soak there \(shop-staging-abababababab\): alarm "x" went to ALARM at t/,
    ],
    [
      'soaked too little',
      [release({ soak: { minutes: 10, startedAt: at, endsAt: at, status: 'completed' } })],
      /soaked only 10 min there .* this gate asks for 30/,
    ],
    [
      'no soak at all',
      [release({ soak: undefined })],
      /without a soak \(before shop-staging had a target promoted from it, or recorded by a recovery\)\. This image cannot pass the gate now: release a new build/,
    ],
    [
      'rolled back',
      [
        release({
          releaseId: 'shop-staging-rollback-1',
          kind: 'rollback',
          rollbackOf: 'shop-staging-abababababab',
          outcome: 'RolledBack',
          reason: 'bad',
          image: undefined,
        }),
        release({}),
      ],
      /was rolled back there by shop-staging-rollback-1 at .* \(RolledBack\): bad\. This image cannot pass/,
    ],
  ])('stays closed when %s, naming the missing evidence', async (_, history, reason) => {
    const g = await gate(history);
    expect(g?.open).toBe(false);
    expect(g && !g.open && g.reason).toMatch(
      /^promotion gate: shop-prod takes only images promoted in shop-staging \(staging\) and soaked 30 min; sha256:abababababab /,
    );
    expect(g && !g.open && g.reason).toMatch(reason);
  });

  it("carries the upstream's analysis in its evidence, one line per check, to the approval", async () => {
    const analysed = release({
      analysis: [
        {
          step: 1,
          percent: 10,
          from: at,
          to: at,
          results: [
            {
              check: 'p95-latency',
              metric: 'p95 latency',
              unit: 'ms',
              verdict: 'pass',
              reason: 'r',
              value: 183,
              baseline: 181,
              samples: { canary: 8, baseline: 8 },
              comparison: {
                statistic: 'mann-whitney-u',
                u: 30,
                pValue: 0.4213,
                effect: 0.011,
                tolerance: 0.15,
                confidence: 0.98,
              },
            },
          ],
        },
        {
          step: 0,
          percent: 0,
          from: at,
          to: at,
          results: [
            {
              check: 'load-rate',
              metric: 'request rate',
              unit: 'req/s',
              verdict: 'pass',
              reason: 'r',
              value: 19.5,
              baseline: null,
              samples: { canary: 3, baseline: 0 },
            },
          ],
        },
      ],
    });
    const g = await gate([analysed]);
    expect(g?.open && g.evidence.analysis).toEqual([
      'p95-latency at 10%: pass, 183 ms vs 181 ms (Mann-Whitney p=0.42)',
      'load-rate on test traffic: pass, 19.5 req/s',
    ]);
    expect(g?.open && evidenceDetails(g.evidence)['Upstream analysis']).toBe(
      'p95-latency at 10%: pass, 183 ms vs 181 ms (Mann-Whitney p=0.42); load-rate on test traffic: pass, 19.5 req/s',
    );
  });

  it('has nothing to say for a target not promoted from another', async () => {
    const staging = targets.targets[0] as (typeof targets.targets)[number];
    expect(
      await promotionGate(staging, DIGEST, {
        targets,
        store: { releasesForTarget: async () => [] },
        now: () => new Date(),
      }),
    ).toBeUndefined();
  });
});
