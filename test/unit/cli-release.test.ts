/**
 * `switchyard release --json` against AWS without --wait: it reports what the execution is doing,
 * not a hard-coded RUNNING (an image released before names an execution that may long have ended).
 */
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../cli/backend.ts';
import { release } from '../../cli/commands.ts';
import { loadTargetsFile } from '../../functions/shared/config.ts';
import { fixtureTargets } from '../support/runtime.ts';

const digest = `sha256:${'a'.repeat(64)}`;
const machine = 'arn:aws:states:us-east-1:123456789012:stateMachine:switchyard-release';

const backend = (records: Record<string, unknown>): Backend => {
  const sfn = new SFNClient({ region: 'us-east-1' });
  const ecr = new ECRClient({ region: 'us-east-1' });
  mockClient(ecr)
    .on(DescribeImagesCommand)
    .resolves({ imageDetails: [{ imageDigest: digest }] });
  const sfnMock = mockClient(sfn);
  sfnMock
    .on(StartExecutionCommand)
    .rejects(Object.assign(new Error('exists'), { name: 'ExecutionAlreadyExists' }));
  sfnMock.on(DescribeExecutionCommand).resolves({ status: 'FAILED' });
  return {
    kind: 'aws',
    targets: loadTargetsFile(fixtureTargets),
    clients: { sfn, ecr } as never,
    store: { getRelease: async (id: string) => records[id] } as never,
    approvals: {} as never,
    releaseStateMachineArn: machine,
    rollbackStateMachineArn: machine.replace('release', 'rollback'),
    now: () => new Date('2026-01-05T09:00:00Z'),
    follow: async () => ({ status: 'RUNNING' }),
    close: async () => {},
  };
};

describe('switchyard release without --wait (AWS)', () => {
  it("reports the execution's real status and outcome, and exits 1 when it ended otherwise", async () => {
    const lines: string[] = [];
    const releaseId = `checkout-api-${'a'.repeat(12)}`;
    const result = await release(
      backend({ [releaseId]: { outcome: 'Aborted' } }),
      { line: (l) => lines.push(l) },
      { target: 'checkout-api', tag: 'v2', by: 'alice' },
    );
    expect(result.json).toMatchObject({ releaseId, status: 'FAILED', outcome: 'Aborted' });
    expect(result.exitCode).toBe(1);
    expect(lines.join('\n')).toContain('is FAILED (Aborted)');
  });
});
