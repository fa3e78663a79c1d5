/**
 * drainedCheck (functions/shared/waits.ts): a service is drained when none of its tasks runs and
 * every one it stopped within the hour has STOPPED. ECS pages ListTasks (100 a page) in no promised
 * order, so a task still stopping can be on a later page (found by review: only the first was read).
 */
import { DescribeTasksCommand, ECSClient, ListTasksCommand } from '@aws-sdk/client-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { drainedCheck } from '../../functions/shared/waits.ts';

describe('drainedCheck', () => {
  const ecs = mockClient(ECSClient);
  beforeEach(() => ecs.reset());
  afterAll(() => ecs.restore());
  const arn = (i: number) => `arn:aws:ecs:us-east-1:123456789012:task/c/${i.toString(16).padStart(32, '0')}`;
  const aws = { ecs: new ECSClient({ region: 'us-east-1' }), now: () => new Date('2026-12-04T10:00:00Z') };

  it('reads every page of stopped tasks, and every hundred of them: one still stopping on page two keeps it pending', async () => {
    ecs.on(ListTasksCommand, { desiredStatus: 'RUNNING' }).resolves({ taskArns: [] });
    ecs
      .on(ListTasksCommand, { desiredStatus: 'STOPPED' })
      .resolves({ taskArns: Array.from({ length: 100 }, (_, i) => arn(i)), nextToken: 'page-2' });
    ecs
      .on(ListTasksCommand, { desiredStatus: 'STOPPED', nextToken: 'page-2' })
      .resolves({ taskArns: [arn(100), arn(101)] });
    ecs.on(DescribeTasksCommand).callsFake((input: { tasks: string[] }) => ({
      tasks: input.tasks.map((taskArn) => ({
        taskArn,
        lastStatus: taskArn === arn(101) ? 'DEACTIVATING' : 'STOPPED',
      })),
    }));
    const check = await drainedCheck(aws, 'c', 'beat-green');
    expect(check.state).toBe('pending');
    // Two pages listed; described a hundred at a time.
    expect(ecs.commandCalls(ListTasksCommand, { desiredStatus: 'STOPPED' })).toHaveLength(2);
    expect(ecs.commandCalls(DescribeTasksCommand).map((c) => c.args[0].input.tasks?.length)).toEqual([
      100, 2,
    ]);
  });

  it('is drained when every page shows only STOPPED tasks', async () => {
    ecs.on(ListTasksCommand, { desiredStatus: 'RUNNING' }).resolves({ taskArns: [] });
    ecs.on(ListTasksCommand, { desiredStatus: 'STOPPED' }).resolves({ taskArns: [arn(1)], nextToken: 'n' });
    ecs.on(ListTasksCommand, { desiredStatus: 'STOPPED', nextToken: 'n' }).resolves({ taskArns: [arn(2)] });
    ecs.on(DescribeTasksCommand).callsFake((input: { tasks: string[] }) => ({
      tasks: input.tasks.map((taskArn) => ({ taskArn, lastStatus: 'STOPPED' })),
    }));
    expect((await drainedCheck(aws, 'c', 'beat-green')).state).toBe('done');
  });
});
