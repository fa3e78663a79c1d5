/** Hooks: what the config refuses, what Validate checks against AWS, and how figures are judged. */
import { DescribeTasksCommand, ListTasksCommand, type Service } from '@aws-sdk/client-ecs';
import { describe, expect, it, vi } from 'vitest';
import { run as runHook } from '../../functions/run-hook/run.ts';
import { findTarget, parseTargets } from '../../functions/shared/config.ts';
import { figuresIn, judgeFigures } from '../../functions/shared/hooks.ts';
import { awaitEarlierHooks } from '../../functions/shared/migrations.ts';
import { run as startLambdaHook } from '../../functions/start-lambda-hook/run.ts';
import { planHooks } from '../../functions/validate/hooks.ts';
import { HookFunctions } from '../../local/account/hook-functions.ts';
import { Faults } from '../../local/faults.ts';
import { seededRandom } from '../../local/rng.ts';
import { configFixture } from '../support/config-fixture.ts';

const { doc, refusal } = configFixture('targets-hooks.json');

describe('hooks config', () => {
  it('refuses a breaking migration with a canary: the old version could not serve the canary rest', () => {
    expect(
      refusal((d) => {
        d.targets[2].traffic.strategy = { type: 'canary', percent: 10, bakeMinutes: 5 };
      }),
    ).toContain(
      'targets[2].hooks.preTraffic[0].migration.compatibility: a breaking migration needs traffic.strategy all-at-once (it is canary)',
    );
  });

  it('refuses a load test whose figures it could not read (no ecs.logGroup)', () => {
    expect(
      refusal((d) => {
        delete d.targets[1].ecs.logGroup;
      }),
    ).toContain(
      'targets[1].hooks.preTraffic[0].thresholds: a load test reports its figures in its log: set ecs.logGroup',
    );
  });

  it('refuses a breaking migration that is not the last preTraffic hook', () => {
    expect(
      refusal((d) => {
        d.targets[2].hooks.preTraffic.push({ name: 'smoke', task: { command: ['smoke'] } });
      }),
    ).toContain(
      'targets[2].hooks.preTraffic[0].migration.compatibility: a breaking migration must be the last preTraffic hook',
    );
  });

  it('refuses a migration after traffic moved, two hooks of one name, and overrides ECS would reject', () => {
    expect(
      refusal((d) => {
        d.targets[0].hooks.postTraffic[0].migration = { compatibility: 'expand' };
      }),
    ).toContain(
      'targets[0].hooks.postTraffic[0].migration: a migration runs before traffic moves: put it in hooks.preTraffic',
    );
    expect(
      refusal((d) => {
        d.targets[0].hooks.postTraffic[0].name = 'migrate';
      }),
    ).toContain('targets[0].hooks.postTraffic[0].name: "migrate" is also hooks.preTraffic[0]');
    expect(
      refusal((d) => {
        d.targets[0].hooks.preTraffic[1].task.environment = {
          BIG: 'x'.repeat(4000),
          MORE: 'y'.repeat(4000),
          EVEN: 'z'.repeat(400),
        };
      }),
    ).toContain(
      "targets[0].hooks.preTraffic[1].task: command and environment must fit in ECS's 8192 characters of RunTask overrides",
    );
    expect(
      refusal((d) => {
        d.targets[0].hooks.preTraffic[0].timeoutSeconds = 10;
      }),
    ).toContain('targets[0].hooks.preTraffic[0].timeoutSeconds');
  });
});

describe('preDeploy hooks config', () => {
  // targets[6] is boot-api: a Lambda precheck, then an expand migration, before the deploy.
  it('accepts expand migrations and Lambda functions before the deploy', () => {
    const boot = findTarget(parseTargets(doc()), 'boot-api');
    expect(boot.hooks.preDeploy.map((h) => [h.name, h.migration?.compatibility ?? '-'])).toEqual([
      ['precheck', '-'],
      ['migrate', 'expand'],
    ]);
  });

  it('refuses a breaking migration before the deploy: the old version serves every request meanwhile', () => {
    expect(
      refusal((d) => {
        d.targets[6].hooks.preDeploy[1].migration.compatibility = 'breaking';
        d.targets[6].traffic.strategy = { type: 'all-at-once' };
      }),
    ).toContain(
      'targets[6].hooks.preDeploy[1].migration.compatibility: a preDeploy hook runs while the old version still serves every request',
    );
  });

  it('refuses a preDeploy migration on a target whose approval comes after the deploy (the DBA would approve a schema already changed), but not a check that migrates nothing', () => {
    const approval = {
      required: true,
      emailFrom: 'switchyard@example.com',
      approvers: [{ id: 'dba@example.com' }],
    };
    expect(
      refusal((d) => {
        d.targets[6].approval = approval;
      }),
    ).toContain(
      "targets[6].hooks.preDeploy[1].migration: this target's approval is asked after the deploy and its health check, but a preDeploy migration runs before the deploy",
    );
    const checkOnly = doc();
    checkOnly.targets[6].approval = approval;
    checkOnly.targets[6].hooks.preTraffic.unshift(checkOnly.targets[6].hooks.preDeploy.pop());
    expect(findTarget(parseTargets(checkOnly), 'boot-api').hooks.preDeploy).toHaveLength(1);
  });

  it('refuses a load test before the deploy: nothing of the new version serves yet (found by review)', () => {
    expect(
      refusal((d) => {
        d.targets[6].hooks.preDeploy[0].thresholds = { p95Ms: 2000 };
      }),
    ).toContain(
      'targets[6].hooks.preDeploy[0].thresholds: a preDeploy hook runs before any task of the new version exists, so a load test there would measure the live version',
    );
  });

  it('the approval page says which hooks already ran, not that the approver lets them run (found by review)', async () => {
    const { hookDetails } = await import('../../functions/request-approval/run.ts');
    const lambda = (name: string, point: 'preDeploy' | 'preTraffic') => ({
      kind: 'lambda' as const,
      name,
      point,
      functionName: `fn-${name}`,
      payload: {},
      timeoutSeconds: 60,
    });
    expect(
      hookDetails({
        hooks: {
          preDeploy: [lambda('precheck', 'preDeploy')],
          preTraffic: [lambda('smoke', 'preTraffic')],
          postTraffic: [],
        },
      }),
    ).toEqual({
      Hooks: 'smoke (preTraffic): Lambda function fn-smoke',
      'Hooks already run': 'precheck (preDeploy): Lambda function fn-precheck',
    });
  });

  it('names a hook whose name another point already uses', () => {
    expect(
      refusal((d) => {
        d.targets[6].hooks.preTraffic[0].name = 'migrate';
      }),
    ).toContain('targets[6].hooks.preTraffic[0].name: "migrate" is also hooks.preDeploy[1]');
  });
});

describe('hooks and test-traffic analysis', () => {
  it('refuses judging test traffic after a breaking migration (found by review: a failed check aborted onto a schema the old version cannot use)', () => {
    expect(
      refusal((d) => {
        d.targets[2].analysis = {
          checks: [{ name: 'load-p95', metric: 'latency-p95', max: 2000, when: ['test-traffic'] }],
        };
        d.targets[2].traffic.testListenerArn =
          'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/prod-alb/50dc6c495c0c9188/0467ef3c8400b111';
      }),
    ).toContain(
      "targets[2].analysis.checks[0].when: test traffic is judged after the preTraffic hooks, so after this target's breaking migration",
    );
  });
});

describe('Lambda hooks config', () => {
  // targets[4] is edge-web, whose hooks are Lambda functions.
  it.each<[string, (d: ReturnType<typeof doc>) => void, string]>([
    [
      'a hook with both a task and a function',
      (d) => {
        d.targets[4].hooks.preTraffic[0].task = { command: ['smoke'] };
      },
      'targets[4].hooks.preTraffic[0].task: a hook is either an ECS task (task: { command, … }) or a Lambda function (lambda: { functionName }): give exactly one',
    ],
    [
      'a hook with neither',
      (d) => {
        delete d.targets[4].hooks.preTraffic[0].lambda;
      },
      'targets[4].hooks.preTraffic[0].task: a hook is either an ECS task',
    ],
    [
      'a timeout Lambda could never reach',
      (d) => {
        d.targets[4].hooks.preTraffic[0].timeoutSeconds = 1200;
      },
      'targets[4].hooks.preTraffic[0].timeoutSeconds: a Lambda function runs at most 900 s (Lambda quotas): 1200 could never be reached. Use an ECS task hook for longer work',
    ],
    [
      'a function name Lambda would refuse',
      (d) => {
        d.targets[4].hooks.preTraffic[0].lambda.functionName = 'arn:aws:s3:::bucket';
      },
      'targets[4].hooks.preTraffic[0].lambda.functionName: must be a Lambda function name, name:alias or function ARN',
    ],
  ])('refuses %s, naming the field', (_, edit, message) => {
    expect(refusal(edit)).toContain(message);
  });

  it('a Lambda load test needs no log group: its figures are its answer', () => {
    const d = doc();
    delete d.targets[4].ecs.logGroup;
    expect(findTarget(parseTargets(d), 'edge-web').hooks.preTraffic[1]?.thresholds?.p95Ms).toBe(2000);
  });
});

describe('Validate checks hooks against the task definition', () => {
  const target = findTarget(parseTargets(doc()), 'ledger-api');
  const live: Service = {
    serviceName: 'ledger-api-blue',
    launchType: 'FARGATE',
    networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-1'] } },
  };
  const definition = {
    taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/ledger-api:7',
    containerDefinitions: [
      {
        name: 'app',
        logConfiguration: {
          logDriver: 'awslogs' as const,
          options: { 'awslogs-group': '/ecs/ledger-api', 'awslogs-stream-prefix': 'ecs' },
        },
      },
    ],
  };
  const ecs = { send: async () => ({}) } as never;

  it('plans each hook where the live service runs, with its log', async () => {
    const plans = await planHooks(target, ecs, live, definition, 'canary');
    expect(plans.preTraffic.map((h) => h.name)).toEqual(['migrate', 'smoke']);
    expect(plans.preTraffic[0]).toMatchObject({
      container: 'app',
      cluster: 'prod',
      launch: { launchType: 'FARGATE', networkConfiguration: live.networkConfiguration },
      log: { group: '/ecs/ledger-api', streamPrefix: 'ecs' },
      migration: { compatibility: 'expand', undo: 'alembic downgrade -1' },
      environment: [{ name: 'ALEMBIC_CONFIG', value: '/app/alembic.ini' }],
    });
  });

  it('refuses a hook naming a container the task definition does not have, naming the field and the choices', async () => {
    const other = {
      ...target,
      hooks: {
        ...target.hooks,
        preTraffic: [
          {
            ...target.hooks.preTraffic[0],
            task: { ...target.hooks.preTraffic[0]?.task, container: 'migrator' },
          },
        ],
      },
    } as never;
    await expect(planHooks(other, ecs, live, definition, 'canary')).rejects.toThrow(
      'ledger-api: hooks.preTraffic[0] (migrate).task.container: "migrator" is not a container of task definition arn:aws:ecs:us-east-1:123456789012:task-definition/ledger-api:7 (it has: app); name one of those',
    );
  });

  it('refuses a hook container that is not essential, and a load test whose log stream cannot be named', async () => {
    const sidecar = {
      ...definition,
      containerDefinitions: [
        ...definition.containerDefinitions.map((c) => ({ ...c, essential: false })),
        { name: 'proxy' },
      ],
    };
    await expect(planHooks(target, ecs, live, sidecar, 'canary')).rejects.toThrow(
      /hooks.preTraffic\[0\] \(migrate\).task.container: "app" is not essential/,
    );
    const tiu = findTarget(parseTargets(doc()), 'tiu-web');
    const noPrefix = {
      ...definition,
      containerDefinitions: [
        {
          name: 'app',
          logConfiguration: { logDriver: 'awslogs' as const, options: { 'awslogs-group': '/ecs/tiu-web' } },
        },
      ],
    };
    await expect(planHooks(tiu, ecs, live, noPrefix, 'all-at-once')).rejects.toThrow(
      /thresholds: container "app" .* logs without awslogs-stream-prefix/,
    );
  });

  it('refuses a breaking migration when a manual release asks for a canary', async () => {
    const billing = findTarget(parseTargets(doc()), 'billing-api');
    await expect(planHooks(billing, ecs, live, definition, 'canary')).rejects.toThrow(
      /billing-api: hooks.preTraffic\[0\] \(migrate\) is a breaking migration, which needs the all-at-once strategy/,
    );
  });
});

describe('load-test figures', () => {
  it('reads the last SWITCHYARD_RESULT line and judges each threshold; a missing figure fails', () => {
    const found = figuresIn([
      'SWITCHYARD_RESULT {"p95Ms": 9999}',
      'noise',
      'SWITCHYARD_RESULT {"p95Ms": 1800, "errorRate": 0.01}',
    ]);
    expect(found).toEqual({ figures: { p95Ms: 1800, errorRate: 0.01 } });
    const judged = judgeFigures((found as { figures: object }).figures, {
      p95Ms: 2000,
      errorRate: 0.05,
      minRps: 10,
    });
    expect(judged.map((j) => [j.figure, j.passed])).toEqual([
      ['p95Ms', true],
      ['errorRate', true],
      ['rps', false],
    ]);
    // At the limit is not below it.
    expect(judgeFigures({ p95Ms: 2000 }, { p95Ms: 2000 })[0]?.passed).toBe(false);
    expect(judgeFigures({ rps: 10 }, { minRps: 10 })[0]?.passed).toBe(true);
  });

  it('says what is wrong with a bad result line', () => {
    expect(figuresIn(['done'])).toEqual({ missing: "no SWITCHYARD_RESULT line in the task's log" });
    expect(figuresIn(['SWITCHYARD_RESULT p95=3'])).toEqual({
      missing: 'SWITCHYARD_RESULT line is not JSON: p95=3',
    });
    expect(figuresIn(['SWITCHYARD_RESULT {"p95Ms":"fast"}'])).toMatchObject({
      missing: expect.stringContaining('is not {"p95Ms","errorRate","rps"} numbers'),
    });
  });
});

describe("the simulated account's hook functions", () => {
  it('finds a function by name or ARN, and an alias only if it was published (found by review: any alias "existed")', async () => {
    const fns = new HookFunctions(
      { region: 'us-east-1', account: '123456789012' },
      seededRandom(1),
      new Faults({ lambdaHooks: { smoke: { runSeconds: 0 } } }),
      { p95Ms: () => 180, errorRate: () => 0, imageOf: () => undefined },
    );
    fns.add('checkout-smoke');
    fns.add('checkout-smoke-live:live');
    const invoke = (name: string) =>
      fns.invoke(name, {}).then(
        (r) => r.Payload,
        (e: Error) => e.name,
      );
    expect(await invoke('checkout-smoke')).toEqual({ status: 'Succeeded' });
    expect(await invoke('arn:aws:lambda:us-east-1:123456789012:function:checkout-smoke')).toEqual({
      status: 'Succeeded',
    });
    expect(await invoke('checkout-smoke-live:live')).toEqual({ status: 'Succeeded' });
    expect(await invoke('checkout-smoke:live')).toBe('Lambda.ResourceNotFoundException');
    expect(await invoke('arn:aws:lambda:eu-west-1:123456789012:function:checkout-smoke')).toBe(
      'Lambda.ResourceNotFoundException',
    );
  });
});

describe('StartLambdaHook', () => {
  const hook = {
    kind: 'lambda' as const,
    name: 'migrate',
    point: 'preTraffic' as const,
    functionName: 'billing-lam-migrate',
    payload: {},
    timeoutSeconds: 600,
    migration: { compatibility: 'breaking' as const },
  };
  /** `held`: the claim another release holds (claimLambdaMigration answers it instead of claiming). */
  const storeWith = (record: Record<string, unknown>, held?: Record<string, string>) => {
    const updates: unknown[] = [];
    const claims: unknown[] = [];
    return {
      updates,
      claims,
      deps: {
        now: () => new Date('2026-01-05T09:00:00Z'),
        targets: { targets: [{ name: 'billing-lam', ecs: { cluster: 'prod' } }] },
        // No hook task of another release runs in the cluster.
        ecs: { send: async () => ({ taskArns: [], tasks: [], failures: [] }) },
        store: {
          getRelease: async () => record,
          updateRelease: async (_id: string, fields: unknown) => {
            updates.push(fields);
          },
          lambdaMigration: async () => undefined,
          claimLambdaMigration: async (claim: unknown) => {
            claims.push(claim);
            return held;
          },
        },
      } as never,
    };
  };

  it('invokes nothing for a release a rollback asked to stop, or one the recovery took over (found by mutation: no test failed without the check)', async () => {
    for (const record of [{ abortRequestedBy: 'checkout-rb-1' }, { haltedBy: 'recovery' }]) {
      const { deps, updates } = storeWith(record);
      await expect(
        startLambdaHook({ releaseId: 'billing-lam-1', target: 'billing-lam', hook }, deps),
      ).rejects.toMatchObject({
        name: 'RollbackRequested',
        message: expect.stringMatching(/; hook migrate not invoked$/),
      });
      expect(updates).toEqual([]);
    }
  });

  it('records a migration before the function is invoked, never downgrading a breaking one', async () => {
    const fresh = storeWith({});
    await expect(
      startLambdaHook({ releaseId: 'billing-lam-1', target: 'billing-lam', hook }, fresh.deps),
    ).resolves.toMatchObject({ at: '2026-01-05T09:00:00.000Z' });
    expect(fresh.updates).toEqual([{ migrated: 'breaking' }]);
    const breaking = storeWith({ migrated: 'breaking' });
    await startLambdaHook(
      {
        releaseId: 'billing-lam-1',
        target: 'billing-lam',
        hook: { ...hook, migration: { compatibility: 'expand' as const } },
      },
      breaking.deps,
    );
    expect(breaking.updates).toEqual([]);
  });

  it("claims the target's Lambda migration until Lambda would have ended the function, before recording it", async () => {
    const fresh = storeWith({});
    await startLambdaHook({ releaseId: 'billing-lam-1', target: 'billing-lam', hook }, fresh.deps);
    expect(fresh.claims).toEqual([
      {
        target: 'billing-lam',
        owner: 'billing-lam-1',
        hook: 'migrate',
        functionName: 'billing-lam-migrate',
        startedAt: '2026-01-05T09:00:00.000Z',
        // Lambda's 900 s, after the Invoke state's retries (186 s).
        runsUntil: '2026-01-05T09:18:06.000Z',
      },
    ]);
    // A hook that is no migration claims nothing.
    const smoke = storeWith({});
    const { migration: _m, ...plain } = hook;
    await startLambdaHook({ releaseId: 'billing-lam-1', target: 'billing-lam', hook: plain }, smoke.deps);
    expect(smoke.claims).toEqual([]);
  });

  it('waits (EarlierHookRunning, retried by the ASL) while another release holds the claim, recording nothing', async () => {
    const held = storeWith(
      {},
      {
        target: 'billing-lam',
        owner: 'billing-lam-0',
        hook: 'migrate',
        functionName: 'billing-lam-migrate',
        startedAt: '2026-01-05T08:50:00.000Z',
        runsUntil: '2026-01-05T09:05:00.000Z',
      },
    );
    await expect(
      startLambdaHook({ releaseId: 'billing-lam-1', target: 'billing-lam', hook }, held.deps),
    ).rejects.toMatchObject({
      name: 'EarlierHookRunning',
      message: expect.stringContaining(
        'release billing-lam-0, claimed 2026-01-05T08:50:00.000Z, just before the invoke): that release ended before the function answered',
      ),
    });
    // What the operator can do: read the function's log; it cannot be stopped, only waited for.
    await expect(
      startLambdaHook({ releaseId: 'billing-lam-1', target: 'billing-lam', hook }, held.deps),
    ).rejects.toMatchObject({
      message: expect.stringMatching(
        /Lambda cannot stop an invocation: see whether it ended in its log \(https:\/\/us-east-1\.console\.aws\.amazon\.com\/cloudwatch\/.*billing-lam-migrate\); this release goes on by itself once that time has passed$/,
      ),
    });
    expect(held.updates).toEqual([]);
  });
});

describe('never two migrations at once: the earlier-hooks check, read beside other reads', () => {
  const earlierTask = 'arn:aws:ecs:us-east-1:123456789012:task/prod/0ld';
  /** ECS with an earlier release's migration task still running (or failing every call). */
  const ecsWith = (sent: string[], fail = false) => ({
    send: async (command: object) => {
      sent.push(command.constructor.name);
      if (fail) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
      if (command instanceof ListTasksCommand) return { taskArns: [earlierTask] };
      if (command instanceof DescribeTasksCommand)
        return {
          tasks: [
            {
              taskArn: earlierTask,
              group: 'switchyard:boot-api',
              lastStatus: 'RUNNING',
              overrides: {
                containerOverrides: [
                  {
                    name: 'app',
                    command: ['python', 'manage.py', 'migrate'],
                    environment: [{ name: 'SWITCHYARD_RELEASE_ID', value: 'boot-api-000000000000' }],
                  },
                ],
              },
            },
          ],
        };
      throw new Error(`unexpected ${command.constructor.name}`);
    },
  });

  it('an open Lambda migration claim of another release is the verdict, even when ECS fails (found by review)', async () => {
    const sent: string[] = [];
    const deps = {
      ecs: ecsWith(sent, true),
      store: {
        lambdaMigration: async () => ({
          target: 'boot-api',
          owner: 'boot-api-000000000001',
          hook: 'migrate',
          functionName: 'boot-api-migrate',
          startedAt: '2026-01-05T09:00:00Z',
          runsUntil: '2026-01-05T09:20:00Z',
        }),
        getRelease: async () => ({ releaseId: 'boot-api-000000000002' }),
        updateRelease: async () => true,
      },
      now: () => new Date('2026-01-05T09:05:00Z'),
    };
    const where = { cluster: 'prod', target: 'boot-api', releaseId: 'boot-api-000000000002' };
    await expect(awaitEarlierHooks(deps as never, where, 'nothing was started')).rejects.toMatchObject({
      name: 'EarlierHookRunning',
      message: expect.stringMatching(/Lambda migration of an earlier release of boot-api/),
    });
  });

  it('RunHook of a halted release: RollbackRequested, no task started, nothing written for the earlier migration (found by review)', async () => {
    const sent: string[] = [];
    const updateRelease = vi.fn(async () => true);
    const store = {
      getRelease: async () => ({
        releaseId: 'boot-api-111111111111',
        abortRequestedBy: 'boot-api-rollback-1',
      }),
      lambdaMigration: async () => undefined,
      updateRelease,
    };
    const input = {
      releaseId: 'boot-api-111111111111',
      target: 'boot-api',
      taskDefinitionArn: 'arn:aws:ecs:us-east-1:123456789012:task-definition/boot-api:2',
      hook: {
        name: 'migrate',
        point: 'preDeploy',
        cluster: 'prod',
        container: 'app',
        command: ['python', 'manage.py', 'migrate'],
        environment: [],
        launch: {},
        migration: { compatibility: 'expand' },
      },
    };
    const deps = { ecs: ecsWith(sent), store, now: () => new Date('2026-01-05T09:05:00Z') };
    await expect(runHook(input as never, deps as never)).rejects.toMatchObject({ name: 'RollbackRequested' });
    expect(sent).not.toContain('RunTaskCommand');
    expect(updateRelease).not.toHaveBeenCalled();
    // Not halted: the same earlier migration stops it, and is remembered for the next try.
    store.getRelease = async () => ({ releaseId: 'boot-api-111111111111' }) as never;
    await expect(runHook(input as never, deps as never)).rejects.toMatchObject({
      name: 'EarlierHookRunning',
    });
    expect(updateRelease).toHaveBeenCalledWith('boot-api-111111111111', { awaitedHookTasks: [earlierTask] });
    expect(sent).not.toContain('RunTaskCommand');
  });
});
