/** The reconciler's best-effort checking: a throttled batch waits for the next round; the rest go on. */
import { ECSClient } from '@aws-sdk/client-ecs';
import { RDSClient } from '@aws-sdk/client-rds';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import type { WaitRecord } from '../../functions/shared/store.ts';
import { WaitKind } from '../../functions/shared/vocabulary.ts';
import { checkWaits, type WaitAws } from '../../functions/shared/waits.ts';

const wait = (waitId: string, kind: WaitKind, condition: Record<string, unknown>): WaitRecord => ({
  resourceKey: waitId,
  waitId,
  kind,
  releaseId: 'r',
  taskToken: 't',
  status: 'PENDING' as WaitRecord['status'],
  createdAt: '2026-01-05T09:00:00Z',
  condition,
  expiresAt: 0,
});

describe('checkWaits', () => {
  const ecs = mockClient(ECSClient);
  const rds = mockClient(RDSClient);
  const throttled = Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $metadata: { httpStatusCode: 400 },
    $retryable: { throttling: true },
  });
  ecs.rejects(throttled);
  rds.resolves({ DBSnapshots: [{ DBSnapshotIdentifier: 'snap-1', Status: 'available' }] });
  const aws = { ecs, rds, elbv2: {}, cloudwatch: {}, now: () => new Date() } as unknown as WaitAws;
  const waits = [
    wait('service', WaitKind.ServiceStable, { cluster: 'prod', service: 'a-green', taskDefinitionArn: 'td' }),
    wait('snapshot', WaitKind.SnapshotAvailable, { snapshotId: 'snap-1', databaseKind: 'instance' }),
  ];

  it('with onTransientError, skips the throttled batch and still checks the others', async () => {
    const skipped: string[] = [];
    const checks = await checkWaits(waits, aws, { onTransientError: (what) => skipped.push(what) });
    expect(skipped).toEqual(['services a-green']);
    expect(checks.has('service')).toBe(false);
    expect(checks.get('snapshot')).toMatchObject({ state: 'done' });
  });

  it('without it (an event-driven check), the error propagates', async () => {
    await expect(checkWaits(waits, aws)).rejects.toThrow('Rate exceeded');
  });
});
