/**
 * Handler smoke test: the real middy chain (input schema, error classification, audit phase)
 * around one step, with the AWS clients mocked.
 */

import {
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WARM_UP_EVENT } from '../../functions/shared/warm-up.ts';
import { fixtureTargets } from '../support/runtime.ts';

Object.assign(process.env, {
  AWS_REGION: 'us-east-1',
  SWITCHYARD_TARGETS_FILE: fixtureTargets,
  LOCKS_TABLE: 'locks',
  RELEASES_TABLE: 'releases',
  WAITS_TABLE: 'waits',
  APPROVALS_TABLE: 'approvals',
});

const elbv2 = mockClient(ElasticLoadBalancingV2Client);
const doc = mockClient(DynamoDBDocumentClient);
let handler: (event: unknown, context: Context) => Promise<unknown>;
const context = {
  functionName: 'switchyard-shift-traffic',
  awsRequestId: 'r-1',
  getRemainingTimeInMillis: () => 30_000,
} as Context;

const plan = {
  fromColour: 'blue',
  toColour: 'green',
  cluster: 'prod',
  fromService: 'checkout-api-blue',
  toService: 'checkout-api-green',
  container: 'app',
  desiredCount: 4,
  fromTaskDefinitionArn: 'arn:td:1',
  hasDatabase: true,
  graceSeconds: 0,
  strategy: 'all-at-once',
  steps: [{ percent: 100, bakeSeconds: 60 }],
};

beforeAll(async () => {
  handler = (await import('../../functions/shift-traffic/handler.ts')).handler as unknown as typeof handler;
});
beforeEach(() => {
  elbv2.reset();
  doc.reset();
  doc.on(UpdateCommand).resolves({});
  doc.on(GetCommand).resolves({});
});

describe('shift-traffic handler', () => {
  it('answers a warm-up at once: no input validation, no AWS call, no audit phase', async () => {
    await expect(handler(WARM_UP_EVENT, context)).resolves.toEqual({ warmedUp: true });
    expect(elbv2.calls()).toHaveLength(0);
    expect(doc.calls()).toHaveLength(0);
    // The same chain still refuses an event that only looks like one.
    await expect(handler({ switchyardWarmUp: 'yes' }, context)).rejects.toMatchObject({
      name: 'InvalidInput',
    });
  });

  it('rejects invalid input with InvalidInput naming the field, before any AWS call', async () => {
    await expect(
      handler(
        {
          releaseId: 'checkout-api-1',
          target: 'checkout-api',
          step: 0,
          plan: { ...plan, toColour: 'purple' },
        },
        context,
      ),
    ).rejects.toMatchObject({
      name: 'InvalidInput',
      message: expect.stringContaining('plan.toColour'),
    });
    expect(elbv2.calls()).toHaveLength(0);
  });

  it('turns throttling that outlived the SDK retries into Throttled and records a failed phase', async () => {
    elbv2
      .on(DescribeRulesCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} }));
    await expect(
      handler({ releaseId: 'checkout-api-1', target: 'checkout-api', step: 0, plan }, context),
    ).rejects.toMatchObject({
      name: 'Throttled',
      message: expect.stringContaining('ThrottlingException: Rate exceeded'),
    });
    expect(doc).toHaveReceivedCommandWith(UpdateCommand, {
      TableName: 'releases',
      Key: { releaseId: 'checkout-api-1' },
      ExpressionAttributeValues: expect.objectContaining({
        ':phase': [expect.objectContaining({ name: 'ShiftTraffic', status: 'failed' })],
      }),
    });
  });
});
