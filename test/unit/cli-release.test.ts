/**
 * `switchyard release --json` against AWS without --wait: it reports what the execution is doing,
 * not a hard-coded RUNNING, and which attempt of the image it started (attempts.ts).
 */
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../cli/backend.ts';
import { release, rollback } from '../../cli/commands.ts';
import { loadTargetsFile } from '../../functions/shared/config.ts';
import { fixtureTargets } from '../support/runtime.ts';

const digest = `sha256:${'a'.repeat(64)}`;
const machine = 'arn:aws:states:us-east-1:123456789012:stateMachine:switchyard-release';

const backend = (records: Record<string, unknown>, history: unknown[] = []): Backend => {
  const sfn = new SFNClient({ region: 'us-east-1' });
  const ecr = new ECRClient({ region: 'us-east-1' });
  mockClient(ecr)
    .on(DescribeImagesCommand)
    .resolves({ imageDetails: [{ imageDigest: digest }] });
  const sfnMock = mockClient(sfn);
  const started = new Map<string, string>();
  sfnMock.on(StartExecutionCommand).callsFake((input: { name: string }) => {
    started.set(input.name, 'RUNNING');
    return { executionArn: `${machine.replace(':stateMachine:', ':execution:')}:${input.name}` };
  });
  // Attempts that ran end as their records say; the others do not exist (or were just started).
  sfnMock.on(DescribeExecutionCommand).callsFake((input: { executionArn: string }) => {
    const name = input.executionArn.split(':').at(-1) ?? '';
    if (started.has(name)) return { status: started.get(name) };
    if (name in records) return { status: 'SUCCEEDED' };
    throw Object.assign(new Error('no such execution'), { name: 'ExecutionDoesNotExist' });
  });
  return {
    kind: 'aws',
    targets: loadTargetsFile(fixtureTargets),
    clients: { sfn, ecr } as never,
    store: {
      getRelease: async (id: string) => records[id],
      releasesForTarget: async () => history,
      getLock: async () => undefined,
    } as never,
    approvals: {} as never,
    releaseStateMachineArn: machine,
    rollbackStateMachineArn: machine.replace('release', 'rollback'),
    now: () => new Date('2026-01-05T09:00:00Z'),
    follow: async () => ({ status: 'RUNNING' }),
    close: async () => {},
  };
};

const releaseId = `checkout-api-${'a'.repeat(12)}`;
const aborted = { target: 'checkout-api', outcome: 'Aborted', trigger: { source: 'manual', at: '' } };

describe('switchyard release without --wait (AWS)', () => {
  it('after an attempt ended Aborted, starts attempt 2 (a new id, the old record kept) and says so', async () => {
    const lines: string[] = [];
    const result = await release(
      backend({ [releaseId]: aborted }),
      { line: (l) => lines.push(l) },
      { target: 'checkout-api', tag: 'v2', by: 'alice' },
    );
    // Before: "its outcome stands (push a new tag to release it again)", exit 0, and nothing started.
    expect(result.json).toMatchObject({ releaseId: `${releaseId}-r2`, status: 'RUNNING', outcome: null });
    expect(result.exitCode).toBe(0);
    expect(lines.join('\n')).toContain(`${releaseId} ended Aborted; starting attempt 2 (its record is kept)`);
    expect(lines.join('\n')).toContain(`started ${releaseId}-r2`);
  });

  it('an image that is live starts nothing and reports the release that promoted it', async () => {
    const lines: string[] = [];
    const result = await release(
      backend({ [releaseId]: { ...aborted, outcome: 'Promoted' } }),
      { line: (l) => lines.push(l) },
      { target: 'checkout-api', tag: 'v2', by: 'alice' },
    );
    expect(result.json).toMatchObject({ releaseId, status: 'SUCCEEDED', outcome: 'Promoted' });
    expect(result.exitCode).toBe(0);
    expect(lines.join('\n')).toContain(
      `checkout-api v2: ${releaseId} promoted this image; it is live; nothing to do`,
    );
  });
});

describe('switchyard rollback (AWS): what it refuses before it starts', () => {
  const release = (releaseId: string, outcome: string, extra: object = {}) => ({
    releaseId,
    kind: 'release',
    target: 'checkout-api',
    outcome,
    fromColour: 'blue',
    toColour: 'green',
    trigger: { source: 'ecr-push', at: '' },
    ...extra,
  });
  const ask = (history: unknown[]) =>
    rollback(
      backend({}, history),
      { line: () => {} },
      { target: 'checkout-api', reason: 'v2 must go', by: 'alice', ifRunning: 'abort' },
    );

  it('starts a rollback of a release that ended RollbackFailed after a Promoted one', async () => {
    const result = await ask([
      release('checkout-api-v2', 'RollbackFailed'),
      release('checkout-api-v1', 'Promoted'),
    ]);
    expect(result.json).toMatchObject({ status: 'RUNNING' });
  });

  it('starts a rollback of the first release, which ended RollbackFailed (before: "no previous release … to roll back to")', async () => {
    const result = await ask([release('checkout-api-v2', 'RollbackFailed')]);
    expect(result.json).toMatchObject({ status: 'RUNNING' });
  });

  it('refuses when a rollback already undid the RollbackFailed release, rather than undo v1', async () => {
    await expect(
      ask([
        {
          releaseId: 'checkout-api-rollback-1',
          kind: 'rollback',
          outcome: 'RolledBack',
          rollbackOf: 'checkout-api-v2',
        },
        release('checkout-api-v2', 'RollbackFailed'),
        release('checkout-api-v1', 'Promoted'),
      ]),
    ).rejects.toThrow(
      'checkout-api-v2, the last release (it ended RollbackFailed), was already rolled back by checkout-api-rollback-1',
    );
  });

  it('after a breaking migration that ended RollbackFailed, asks for the restore and --force first', async () => {
    await expect(
      ask([release('checkout-api-v2', 'RollbackFailed', { migrated: 'breaking', snapshotId: 'snap-1' })]),
    ).rejects.toThrow(
      'checkout-api-v2 ran a breaking migration: the previous version cannot run on the new schema. Restore the database from snapshot snap-1 first, then rerun with --force',
    );
  });
});
