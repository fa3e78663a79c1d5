/** The simulated ECS refuses task definitions ECS refuses (it must never be kinder than AWS). */
import { describe, expect, it } from 'vitest';
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
