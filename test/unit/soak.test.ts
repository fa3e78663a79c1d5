/**
 * The soak's verdict against histories and alarm histories a demanding reviewer built (fake store
 * and CloudWatch, no runtime): each case failed before the review's fixes.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { run as promote } from '../../functions/promote/run.ts';
import { parseTargets } from '../../functions/shared/config.ts';
import { promotionGate } from '../../functions/shared/promotion.ts';
import { judgeSoaks } from '../../functions/shared/soak.ts';
import type { ReleaseRecord } from '../../functions/shared/store.ts';

const file = fileURLToPath(new URL('../fixtures/targets-promotion.json', import.meta.url));
const targets = parseTargets(JSON.parse(readFileSync(file, 'utf8')));
const prod = targets.targets[1] as (typeof targets.targets)[number];
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const T0 = '2026-01-05T09:00:00.000Z';
const END = '2026-01-05T09:30:00.000Z';
const NOW = '2026-01-05T09:30:30.000Z';

const staging = (over: Partial<ReleaseRecord> = {}): ReleaseRecord => ({
  releaseId: 'shop-staging-abababababab',
  kind: 'release',
  target: 'shop-staging',
  environment: 'staging',
  image: { repository: 'shop', tag: '1.0.0-rc.1', digest: DIGEST },
  trigger: { source: 'ecr-push', at: T0 },
  executionArn: 'arn',
  status: 'Promoted',
  outcome: 'Promoted',
  createdAt: '2026-01-05T08:50:00.000Z',
  updatedAt: T0,
  endedAt: T0,
  phases: [],
  soak: { minutes: 30, startedAt: T0, endsAt: END, status: 'soaking' },
  ...over,
});
const runningRollback = staging({
  releaseId: 'shop-staging-rollback-20260105t092900',
  kind: 'rollback',
  rollbackOf: 'shop-staging-abababababab',
  status: 'Running',
  outcome: undefined,
  image: undefined,
  soak: undefined,
  createdAt: '2026-01-05T09:29:00.000Z',
});

type CloudWatchAnswer = (input: Record<string, unknown>, command: string) => unknown;
const quiet: CloudWatchAnswer = (_, command) =>
  command === 'DescribeAlarmsCommand' ? { MetricAlarms: [] } : { AlarmHistoryItems: [] };

/** judgeSoaks over one staging history; the verdicts it wrote. */
const judge = async (history: ReleaseRecord[], cloudwatch: CloudWatchAnswer = quiet) => {
  const verdicts: { releaseId: string; status: string; detail: string }[] = [];
  await judgeSoaks({
    targets,
    now: () => new Date(NOW),
    store: {
      releasesSince: async (t: string) => (t === 'shop-staging' ? history : []),
      settleSoak: async (releaseId: string, v: { status: string; detail: string }) => {
        verdicts.push({ releaseId, ...v });
        return true;
      },
      updateRelease: async () => true,
      countNotificationFailures: async () => {},
    } as never,
    cloudwatch: {
      send: async (c: { input: Record<string, unknown>; constructor: { name: string } }) =>
        cloudwatch(c.input, c.constructor.name),
    } as never,
    sns: { send: async () => ({}) } as never,
    secrets: { send: async () => ({}) } as never,
  });
  return verdicts;
};

describe('the soak verdict', () => {
  it('a rollback still running when the soak ends fails it, and keeps the gate closed', async () => {
    const [verdict] = await judge([runningRollback, staging()]);
    expect(verdict).toMatchObject({
      status: 'failed',
      detail: 'shop-staging-rollback-20260105t092900 is rolling it back',
    });
    const gate = await promotionGate(prod, DIGEST, {
      targets,
      now: () => new Date(NOW),
      store: {
        releasesForTarget: async () => [
          runningRollback,
          staging({ soak: { minutes: 30, startedAt: T0, endsAt: END, status: 'completed' } }),
        ],
      },
    });
    expect(gate && !gate.open && gate.reason).toMatch(
      /is being rolled back there now \(shop-staging-rollback-20260105t092900\)\. This image cannot pass the gate now: release a new build through the upstream target, or release this one with --break-glass/,
    );
  });

  it('a rollback that ended Aborted (it moved nothing) does not count', async () => {
    const [verdict] = await judge([{ ...runningRollback, outcome: 'Aborted', status: 'Aborted' }, staging()]);
    expect(verdict?.status).toBe('completed');
  });

  it('an alarm in ALARM when the soak began, cleared during it, fails the soak', async () => {
    const [verdict] = await judge([staging()], (_, command) =>
      command === 'DescribeAlarmsCommand'
        ? { MetricAlarms: [{ AlarmName: 'shop-staging-5xx', StateValue: 'OK' }] }
        : {
            AlarmHistoryItems: [
              {
                Timestamp: new Date('2026-01-05T09:12:00Z'),
                HistoryItemType: 'StateUpdate',
                HistorySummary: 'Alarm updated from ALARM to OK',
                HistoryData: JSON.stringify({
                  oldState: { stateValue: 'ALARM' },
                  newState: { stateValue: 'OK' },
                }),
              },
            ],
          },
    );
    expect(verdict).toMatchObject({
      status: 'failed',
      detail:
        'alarm "shop-staging-5xx" was in ALARM when the soak began (it cleared at 2026-01-05T09:12:00.000Z)',
    });
  });

  it('an ALARM on the second page of the alarm history fails the soak (every page is read)', async () => {
    const flap = (i: number, to: string) => ({
      Timestamp: new Date(Date.parse(T0) + i * 1000),
      HistoryItemType: 'StateUpdate',
      HistoryData: JSON.stringify({ newState: { stateValue: to } }),
    });
    const [verdict] = await judge([staging()], (input, command) => {
      if (command === 'DescribeAlarmsCommand') return { MetricAlarms: [] };
      if (!input.NextToken)
        return {
          AlarmHistoryItems: Array.from({ length: 100 }, (_, i) =>
            flap(i, i % 2 ? 'OK' : 'INSUFFICIENT_DATA'),
          ),
          NextToken: 'page2',
        };
      return { AlarmHistoryItems: [flap(200, 'ALARM')] };
    });
    expect(verdict).toMatchObject({ status: 'failed', detail: expect.stringMatching(/went to ALARM at /) });
  });

  it('a soaking release behind many newer records is still judged', async () => {
    const refused = Array.from({ length: 40 }, (_, i) =>
      staging({
        releaseId: `shop-staging-refused-${i}`,
        image: { repository: 'shop', tag: `9.${i}.0-rc.1`, digest: `sha256:${String(i).padStart(64, '0')}` },
        outcome: 'Aborted',
        status: 'Aborted',
        soak: undefined,
        createdAt: '2026-01-05T09:10:00.000Z',
      }),
    );
    expect(await judge([...refused, staging()])).toEqual([
      expect.objectContaining({ releaseId: 'shop-staging-abababababab', status: 'completed' }),
    ]);
  });
});

describe('the soak and the analysis', () => {
  it.each([
    [
      "a staging target's analysis thresholds, broken during the soak, fail it",
      [0.5, 0.52, 0.49, 0.51, 0.5, 0.5],
      'analysis check "p95" failed: p95 latency 500 ms is above its max 300 ms',
    ],
    [
      'too little data over the soak fails it too: never a silent pass',
      [],
      expect.stringMatching(/^analysis check "p95" was inconclusive over the soak: 0 of 5 periods with data/),
    ],
  ] as [string, number[], unknown][])('%s', async (_, values, detail) => {
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    doc.targets[0].bakeMinutes = 10;
    doc.targets[0].analysis = { checks: [{ name: 'p95', metric: 'latency-p95', max: 300 }] };
    const verdicts: { status: string; detail: string }[] = [];
    await judgeSoaks({
      targets: parseTargets(doc),
      now: () => new Date(NOW),
      store: {
        releasesSince: async (t: string) => (t === 'shop-staging' ? [staging({ toColour: 'green' })] : []),
        settleSoak: async (__: string, v: { status: string; detail: string }) => {
          verdicts.push(v);
          return true;
        },
        updateRelease: async () => true,
        countNotificationFailures: async () => {},
      } as never,
      cloudwatch: {
        send: async (c: {
          input: { MetricDataQueries?: { Id: string }[] };
          constructor: { name: string };
        }) =>
          c.constructor.name === 'GetMetricDataCommand'
            ? {
                MetricDataResults: (c.input.MetricDataQueries ?? []).map((q) => ({
                  Id: q.Id,
                  Values: values,
                })),
              }
            : c.constructor.name === 'DescribeAlarmsCommand'
              ? { MetricAlarms: [] }
              : { AlarmHistoryItems: [] },
      } as never,
      sns: { send: async () => ({}) } as never,
      secrets: { send: async () => ({}) } as never,
    });
    expect(verdicts[0]).toMatchObject({ status: 'failed', detail });
  });
});

describe('promote', () => {
  it('a SoakCompleted sent twice (two envelopes, one state change) starts one attempt, even after it ended', async () => {
    const started: string[] = [];
    const records = new Map<string, ReleaseRecord>();
    const deps = {
      targets,
      stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:switchyard-release',
      store: {
        getRelease: async (id: string) => records.get(id),
        releasesForTarget: async () => [...records.values()],
      },
      sfn: {
        send: async (command: {
          constructor: { name: string };
          input: { name?: string; input?: string };
        }) => {
          if (command.constructor.name === 'DescribeExecutionCommand') return { status: 'SUCCEEDED' };
          const name = command.input.name as string;
          started.push(name);
          const input = JSON.parse(command.input.input as string);
          // The first attempt ends Aborted (rejected at approval).
          records.set(name, {
            ...staging(),
            releaseId: name,
            target: 'shop-prod',
            trigger: input.trigger,
            outcome: 'Aborted',
            status: 'Aborted',
            soak: undefined,
          });
          return { executionArn: `arn:${name}` };
        },
      },
    } as never;
    const event = (id: string) => ({
      id,
      source: 'switchyard' as const,
      'detail-type': 'Switchyard Release State Change' as const,
      time: NOW,
      detail: {
        state: 'SoakCompleted' as const,
        eventId: 'shop-staging-abababababab:SoakCompleted',
        releaseId: 'shop-staging-abababababab',
        target: 'shop-staging',
        image: { repository: 'shop', tag: '1.0.0-rc.1', digest: DIGEST },
      },
    });
    await promote(event('envelope-1'), deps);
    const second = await promote(event('envelope-2'), deps);
    expect(started).toEqual(['shop-prod-abababababab']);
    expect(second.skipped[0]?.reason).toMatch(/already started shop-prod-abababababab/);
  });
});
