/** The simulated ECS refuses task definitions ECS refuses (it must never be kinder than AWS). */
import { describe, expect, it, vi } from 'vitest';
import { EcsModel } from '../../local/account/ecs.ts';
import { Elbv2Model } from '../../local/account/elbv2.ts';
import { EventBus } from '../../local/bus.ts';
import { Faults } from '../../local/faults.ts';
import { seededRandom } from '../../local/rng.ts';

const ecs = () =>
  new EcsModel(
    { region: 'us-east-1', account: '123456789012', startSeconds: [25, 45] },
    new Elbv2Model(),
    new EventBus(seededRandom(1), new Faults(), { region: 'us-east-1', account: '123456789012' }),
    seededRandom(1),
    () => true,
  );
const fargate = (extra: Record<string, unknown> = {}) => ({
  family: 'api',
  requiresCompatibilities: ['FARGATE'],
  networkMode: 'awsvpc',
  cpu: '512',
  memory: '1024',
  containerDefinitions: [{ name: 'app', image: 'x' }],
  ...extra,
});

describe('simulated ECS RegisterTaskDefinition', () => {
  it('takes a valid Fargate definition', () => {
    expect(ecs().RegisterTaskDefinition(fargate()).taskDefinition.revision).toBe(1);
  });

  it.each([
    [{ memory: '512' }, 'No Fargate configuration exists for given values: 512 CPU, 512 memory'],
    [{ cpu: '300' }, 'No Fargate configuration exists'],
    [{ cpu: '256', memory: '1536' }, 'No Fargate configuration exists'],
    [{ networkMode: 'bridge' }, "Fargate only supports network mode 'awsvpc'"],
    [{ containerDefinitions: [{ name: 'app' }] }, 'Container.image should not be null or empty'],
    [
      { containerDefinitions: Array.from({ length: 11 }, (_, i) => ({ name: `c${i}`, image: 'x' })) },
      'at most 10',
    ],
    [
      { containerDefinitions: [{ name: 'app', image: 'x', command: ['y'.repeat(70_000)] }] },
      'exceeds the maximum of 65536 bytes',
    ],
  ])('refuses %j', (extra, message) => {
    expect(() => ecs().RegisterTaskDefinition(fargate(extra) as never)).toThrow(message);
  });
});

describe('simulated ECS reads right after a write (eventual consistency)', () => {
  it('answers DescribeServices through the API as the service was before its UpdateService, for 0.5-3 s', () => {
    vi.useFakeTimers({ now: Date.parse('2026-12-04T10:00:00Z') });
    try {
      const model = ecs();
      model.addCluster('prod');
      const v1 = model.RegisterTaskDefinition(fargate()).taskDefinition.taskDefinitionArn as string;
      const v2 = model.RegisterTaskDefinition(fargate()).taskDefinition.taskDefinitionArn as string;
      model.addService({
        cluster: 'prod',
        name: 'api',
        taskDefinition: v1,
        desiredCount: 0,
        containerName: 'app',
        containerPort: 80,
      });
      const read = (caller?: { api: boolean }) =>
        model.DescribeServices({ cluster: 'prod', services: ['api'] }, caller).services[0];
      // UpdateService's own answer is current.
      expect(
        model.UpdateService({ cluster: 'prod', service: 'api', taskDefinition: v2, desiredCount: 2 }).service
          ?.taskDefinition,
      ).toBe(v2);
      // Through the API a moment later: the service before the update.
      expect(read({ api: true })).toMatchObject({ taskDefinition: v1, desiredCount: 0 });
      // A test's direct read of the model is current.
      expect(read()).toMatchObject({ taskDefinition: v2, desiredCount: 2 });
      vi.advanceTimersByTime(3_001);
      expect(read({ api: true })).toMatchObject({ taskDefinition: v2, desiredCount: 2 });
    } finally {
      vi.useRealTimers();
    }
  });
});
