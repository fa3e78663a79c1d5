/** Release groups: what a group may be (config), and what Validate refuses before touching anything. */
import { describe, expect, it } from 'vitest';
import { planGroupRollback } from '../../functions/plan-rollback/group.ts';
import { findTarget, parseTargets } from '../../functions/shared/config.ts';
import type { MemberPlan } from '../../functions/shared/group.ts';
import { ENDED } from '../../functions/shared/halt.ts';
import type { ReleaseRecord } from '../../functions/shared/store.ts';
import { planGroup } from '../../functions/validate/group.ts';
import { configFixture } from '../support/config-fixture.ts';

/** A DescribeRules answer: one rule forwarding to the two colours' target groups with `weights`. */
const forwardRule = (
  groups: { blue: string; green: string } | undefined,
  weights: { blue: number; green: number },
) => ({
  Rules: [
    {
      Actions: [
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: groups?.blue, Weight: weights.blue },
              { TargetGroupArn: groups?.green, Weight: weights.green },
            ],
          },
        },
      ],
    },
  ],
});

const { doc, refusal } = configFixture('targets-group.json');

describe('group config', () => {
  it('accepts web + web + worker + singleton', () => {
    const target = findTarget(parseTargets(doc()), 'bugs');
    expect(target.group.map((m) => [m.name, m.role])).toEqual([
      ['api', 'web'],
      ['worker', 'worker'],
      ['beat', 'singleton'],
    ]);
  });

  it('refuses a singleton with a load balancer', () => {
    expect(
      refusal((d) => {
        d.targets[0].group[2].traffic = d.targets[0].group[0].traffic;
        d.targets[0].group[0].traffic = undefined;
        d.targets[0].group[0].role = 'worker';
      }),
    ).toContain(
      'targets[0].group[2].traffic: a singleton takes no traffic: a load balancer would send requests to it while its colours change over',
    );
  });

  it('refuses two web services sharing a rule, or a target group, and a web member without traffic', () => {
    const shared = refusal((d) => {
      d.targets[0].group[0].traffic.listenerRuleArn = d.targets[0].traffic.listenerRuleArn;
    });
    expect(shared).toContain(
      `targets[0].group[0].traffic.listenerRuleArn: ${doc().targets[0].traffic.listenerRuleArn} is also traffic's: two web services sharing a rule would each overwrite the other's weights`,
    );
    expect(
      refusal((d) => {
        d.targets[0].group[0].traffic.targetGroups.blue = d.targets[0].traffic.targetGroups.green;
      }),
    ).toContain('targets[0].group[0].traffic.targetGroups.blue:');
    expect(
      refusal((d) => {
        delete d.targets[0].group[0].traffic;
      }),
    ).toContain('targets[0].group[0].traffic: a web member needs traffic');
  });

  it('refuses a member named like another, a service used twice, and switch on a non-worker', () => {
    const text = refusal((d) => {
      d.targets[0].group[1].name = 'api';
      d.targets[0].group[1].services.blue = 'bugs-web-green';
      d.targets[0].group[2].switch = 'cutover';
    });
    expect(text).toContain('targets[0].group[1].name: "api" is also group[0]');
    expect(text).toContain('targets[0].group[1].services.blue: bugs-web-green is also ecs.services.green');
    expect(text).toContain('targets[0].group[2].switch: switch applies to workers only');
  });
});

describe('Validate plans each member from AWS', () => {
  const target = findTarget(parseTargets(doc()), 'bugs');
  const service = (name: string, desiredCount: number, extra: object = {}) => ({
    serviceName: name,
    status: 'ACTIVE',
    desiredCount,
    taskDefinition: `arn:aws:ecs:us-east-1:123456789012:task-definition/${name.replace(/-(blue|green)$/, '')}:3`,
    ...extra,
  });
  const aws = (services: object[], containers: Record<string, string> = {}) => {
    const send = async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
      const input = command.input;
      switch (command.constructor.name) {
        case 'DescribeServicesCommand':
          return {
            services: services.filter((s) =>
              (input.services as string[]).includes((s as { serviceName: string }).serviceName),
            ),
          };
        case 'DescribeTaskDefinitionCommand': {
          const family = String(input.taskDefinition).split('/').at(-1)?.split(':')[0] ?? '';
          return {
            taskDefinition: {
              containerDefinitions: [
                { name: containers[family] ?? family.replace(/^bugs-/, ''), image: 'x@sha256:1' },
              ],
              taskRoleArn: target.ecs.roles.task,
              executionRoleArn: target.ecs.roles.execution,
            },
          };
        }
        case 'DescribeRulesCommand':
          return forwardRule(target.group[0]?.traffic?.targetGroups, { blue: 0, green: 100 });
        case 'DescribeRepositoriesCommand':
          return {
            repositories: [
              {
                repositoryUri: `123456789012.dkr.ecr.us-east-1.amazonaws.com/${(input.repositoryNames as string[])[0]}`,
              },
            ],
          };
        case 'DescribeImagesCommand':
          return { imageDetails: [{ imageDigest: `sha256:${'b'.repeat(64)}` }] };
      }
      throw new Error(`unexpected ${command.constructor.name}`);
    };
    return { ecs: { send }, ecr: { send }, elbv2: { send } } as never;
  };
  const image = { tag: 'v2', digest: `sha256:${'a'.repeat(64)}` };
  const healthy = () => [
    service('bugs-api-blue', 0),
    service('bugs-api-green', 3),
    service('bugs-worker-blue', 2),
    service('bugs-worker-green', 0),
    service('bugs-beat-blue', 1),
    service('bugs-beat-green', 0),
  ];

  it('finds each member live colour on its own: a web member from its rule, the others from which colour runs', async () => {
    const plans = await planGroup(target, image, aws(healthy()));
    expect(plans.map((p) => [p.name, p.fromColour, p.toService, p.desiredCount])).toEqual([
      ['api', 'green', 'bugs-api-blue', 3],
      ['worker', 'blue', 'bugs-worker-green', 2],
      ['beat', 'blue', 'bugs-beat-green', 1],
    ]);
    // The worker's image is its own repository's at the release's tag; the others the release's.
    expect(plans[1]?.image).toBe(
      `123456789012.dkr.ecr.us-east-1.amazonaws.com/bugs-worker@sha256:${'b'.repeat(64)}`,
    );
    expect(plans[0]?.image).toBe(`123456789012.dkr.ecr.us-east-1.amazonaws.com/bugs@${image.digest}`);
  });

  it('refuses a singleton running both colours, a singleton behind a load balancer, and a missing container', async () => {
    const both = healthy().map((s) => (s.serviceName === 'bugs-beat-green' ? { ...s, desiredCount: 1 } : s));
    await expect(planGroup(target, image, aws(both))).rejects.toThrow(
      'group member beat runs both colours (bugs-beat-blue desiredCount 1, bugs-beat-green desiredCount 1), which a singleton must never do: scale the one that should not run to 0, then release',
    );
    const balanced = healthy().map((s) =>
      s.serviceName === 'bugs-beat-blue' ? { ...s, loadBalancers: [{ targetGroupArn: 'arn:tg/beat' }] } : s,
    );
    await expect(planGroup(target, image, aws(balanced))).rejects.toThrow(
      'group member beat is a singleton, but bugs-beat-blue is behind a load balancer (arn:tg/beat)',
    );
    await expect(planGroup(target, image, aws(healthy(), { 'bugs-worker': 'celery' }))).rejects.toThrow(
      `group member worker's container "worker" is not in its task definition`,
    );
  });

  // The members are planned side by side: what each reports, and which is reported first, must not
  // depend on which read answers first (found by review).
  type Send = (command: {
    constructor: { name: string };
    input: Record<string, unknown>;
  }) => Promise<unknown>;
  const withRepositoryMissing = (inner: {
    ecs: { send: Send };
    ecr: { send: Send };
    elbv2: { send: Send };
  }) =>
    ({
      ...inner,
      ecr: {
        send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
          const { input } = command;
          if (
            input.repositoryName === 'bugs-worker' ||
            (input.repositoryNames as string[] | undefined)?.[0] === 'bugs-worker'
          )
            throw Object.assign(new Error("The repository with name 'bugs-worker' does not exist"), {
              name: 'RepositoryNotFoundException',
            });
          return inner.ecr.send(command);
        },
      },
    }) as never;

  it('a member whose repository does not exist is ImageNotFound, and a wrong container is still reported before it', async () => {
    await expect(
      planGroup(target, image, withRepositoryMissing(aws(healthy()) as never)),
    ).rejects.toMatchObject({
      name: 'ImageNotFound',
    });
    await expect(
      planGroup(target, image, withRepositoryMissing(aws(healthy(), { 'bugs-worker': 'celery' }) as never)),
    ).rejects.toMatchObject({ name: 'InvalidInput', message: expect.stringContaining('container "worker"') });
  });

  it('reports the first member’s problem when a later member’s fails sooner', async () => {
    const inner = aws(healthy(), { 'bugs-worker': 'celery', 'bugs-beat': 'scheduler' }) as unknown as {
      ecs: { send: Send };
      ecr: { send: Send };
      elbv2: { send: Send };
    };
    // worker's task definition answers last, beat's first: beat's problem is known first.
    const slowWorker: Send = async (command) => {
      const family = String(command.input.taskDefinition ?? '');
      if (family.includes('bugs-worker')) await new Promise((resolve) => setTimeout(resolve, 30));
      return inner.ecs.send(command);
    };
    await expect(planGroup(target, image, { ...inner, ecs: { send: slowWorker } } as never)).rejects.toThrow(
      `group member worker's container "worker" is not in its task definition`,
    );
  });
});

describe('a member step fenced against a halt', () => {
  const member = {
    name: 'beat',
    role: 'singleton' as const,
    cluster: 'prod',
    fromColour: 'blue' as const,
    toColour: 'green' as const,
    fromService: 'bugs-beat-blue',
    toService: 'bugs-beat-green',
    container: 'beat',
    desiredCount: 1,
    fromTaskDefinitionArn: 'td',
    image: 'x@sha256:1',
  };

  /**
   * A member step's deps: its record, a granted service claim, and an ECS whose DescribeServices
   * answers `described` (after `onRead`) and which records each count set in `scaled`.
   */
  const memberDeps = (
    record: Record<string, unknown>,
    described: Record<string, unknown>,
    scaled: number[],
    onRead = () => {},
  ) => ({
    store: {
      getRelease: async () => ({ ...record }),
      claimService: async () => undefined,
      releaseService: async () => undefined,
    },
    now: () => new Date(),
    elbv2: { send: async () => ({}) },
    ecs: {
      send: async (command: { constructor: { name: string }; input: Record<string, unknown> }) => {
        if (command.constructor.name === 'DescribeServicesCommand') {
          onRead();
          return { services: [{ status: 'ACTIVE', taskDefinition: 'td', ...described }] };
        }
        // A singleton's colour has no tasks of its own stopping.
        if (command.constructor.name === 'ListTasksCommand') return { taskArns: [] };
        scaled.push(command.input.desiredCount as number);
        return {};
      },
    },
  });

  it('stop-member scales the old colour back when a halt landed while it stopped it (the recovery may have read it running)', async () => {
    const { run } = await import('../../functions/stop-member/run.ts');
    const record: Record<string, unknown> = { releaseId: 'r1' };
    const scaled: number[] = [];
    // The execution is stopped as the step reads the beat: the recovery writes its halt, reads it running.
    const deps = memberDeps(record, { serviceName: 'bugs-beat-blue', desiredCount: 1 }, scaled, () => {
      record.haltedBy = 'ABORTED';
    });
    await expect(
      run({ releaseId: 'r1', target: 'bugs', side: 'from', forward: true, member }, deps as never),
    ).rejects.toThrow('as bugs-beat-blue was scaled down; scaled back to 1');
    expect(scaled).toEqual([0, 1]);
  });

  it.each([
    ['stop-member', 'from'],
    ['start-member', 'to'],
  ])(
    '%s reads the halt under its claim: halted between its first reads and its claim, it changes nothing (found by review)',
    async (step, side) => {
      const { run } = await import(`../../functions/${step}/run.ts`);
      const record: Record<string, unknown> = { releaseId: 'r1' };
      const scaled: number[] = [];
      const deps = memberDeps(
        record,
        {
          serviceName: side === 'from' ? 'bugs-beat-blue' : 'bugs-beat-green',
          desiredCount: side === 'from' ? 1 : 0,
        },
        scaled,
      );
      // The recovery writes its halt, then reads the claims: it found none, because this step had
      // not claimed yet. The step claims now; it must see the halt before it changes anything.
      deps.store.claimService = async () => {
        record.haltedBy = 'ABORTED';
        return undefined;
      };
      await expect(
        run({ releaseId: 'r1', target: 'bugs', side, forward: true, member } as never, deps as never),
      ).rejects.toMatchObject({ name: 'RollbackRequested' });
      expect(scaled).toEqual([]);
    },
  );

  it.each([
    ['stop-member', 'to'],
    ['start-member', 'from'],
  ])(
    'a late %s on the way back, once the release has its outcome, changes nothing: the colour may be the next release’s (found by review)',
    async (step, side) => {
      const { run } = await import(`../../functions/${step}/run.ts`);
      const scaled: number[] = [];
      const service = side === 'from' ? 'bugs-beat-blue' : 'bugs-beat-green';
      const deps = memberDeps(
        { releaseId: 'r1', outcome: 'Aborted', haltedBy: 'ABORTED' },
        { serviceName: service, desiredCount: side === 'from' ? 0 : 1 },
        scaled,
      );
      const out = await run(
        { releaseId: 'r1', target: 'bugs', side, forward: false, member } as never,
        deps as never,
      );
      expect(out.summary).toBe(`beat (singleton): ${service} left as it is: ${ENDED}`);
      expect(scaled).toEqual([]);
    },
  );

  it('start-member scales the colour up even while ECS still shows it at its size (a StopMember a moment ago)', async () => {
    const { run } = await import('../../functions/start-member/run.ts');
    const worker = {
      ...member,
      name: 'worker',
      role: 'worker',
      fromService: 'bugs-worker-blue',
      desiredCount: 2,
    };
    const scaled: number[] = [];
    // Stale: blue was scaled to 0 a moment ago, but this read still shows it at 2.
    const deps = memberDeps(
      { releaseId: 'r1' },
      { serviceName: 'bugs-worker-blue', desiredCount: 2 },
      scaled,
    );
    await run(
      { releaseId: 'r1', target: 'bugs', side: 'from', forward: false, member: worker } as never,
      deps as never,
    );
    // Before: nothing sent ("already at 2"), and the worker ran on neither colour.
    expect(scaled).toEqual([2]);
  });
});

describe('PlanRollback of a group release whose rollback failed with its web rules split', () => {
  const traffic = {
    listenerRuleArn: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/1/2/3',
    targetGroups: {
      blue: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-blue/1',
      green: 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/api-green/2',
    },
  };
  const member: MemberPlan = {
    name: 'api',
    role: 'web',
    cluster: 'prod',
    fromColour: 'blue',
    toColour: 'green',
    fromService: 'bugs-api-blue',
    toService: 'bugs-api-green',
    container: 'api',
    desiredCount: 3,
    fromTaskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/bugs-api:1',
    image: `x@sha256:${'a'.repeat(64)}`,
    traffic: traffic as MemberPlan['traffic'],
  };
  const aws = (weights: { blue: number; green: number }) => {
    const send = async (command: { constructor: { name: string } }) => {
      switch (command.constructor.name) {
        case 'DescribeServicesCommand':
          return { services: [{ serviceName: 'bugs-api-green', desiredCount: 3, runningCount: 3 }] };
        case 'DescribeTaskDefinitionCommand':
          return { taskDefinition: { containerDefinitions: [{ name: 'api', image: 'x@sha256:1' }] } };
        case 'DescribeRulesCommand':
          return forwardRule(traffic.targetGroups, weights);
      }
      throw new Error(`unexpected ${command.constructor.name}`);
    };
    return { ecs: { send }, elbv2: { send } } as never;
  };
  const release = { releaseId: 'bugs-r2', members: [member] } as ReleaseRecord;

  it('a rule left split (90% on the release’s colour) is planned back to the old colour (before: TrafficSplit, and the rollback ended Aborted)', async () => {
    const {
      members: [plan],
    } = await planGroupRollback({ name: 'bugs' }, release, aws({ blue: 10, green: 90 }));
    expect(plan).toMatchObject({ fromColour: 'green', toColour: 'blue', toService: 'bugs-api-blue' });
  });

  it('of a release whose rollback failed, a web member already back (its rule all on the old colour) is left out of the plan and named, with its release colour still running', async () => {
    expect(
      await planGroupRollback(
        { name: 'bugs' },
        { ...release, outcome: 'RollbackFailed' },
        aws({ blue: 100, green: 0 }),
      ),
    ).toEqual({
      members: [],
      alreadyBack: [
        'api (its rule back on blue; bugs-api-green still runs 3 task(s) with no traffic: scale it to 0 by hand)',
      ],
    });
  });

  it('of a promoted release, a rule all on the old colour is still nothing of it to roll back', async () => {
    await expect(
      planGroupRollback({ name: 'bugs' }, release, aws({ blue: 100, green: 0 })),
    ).rejects.toMatchObject({
      name: 'NothingToRollBack',
    });
  });
});
