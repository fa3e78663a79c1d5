/**
 * A release carrying its own task definition: environment, CPU/memory, with the live image or a new
 * one, validated before anything starts, diffed against the live definition, pinned by digest.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseTaskDefinition } from '../../functions/shared/task-definition.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import { liveWeights } from '../../local/scenarios.ts';
import { startWorld, type TestWorld } from '../support/runtime.ts';

let w: TestWorld | undefined;
afterEach(async () => {
  await w?.rt.dispose();
  w = undefined;
});

const world = async () => {
  w = await startWorld();
  return w;
};

/** Releases checkout-api at `tag` with `td` until it ends; its id and record. */
const releaseWith = async (t: TestWorld, td: ReturnType<typeof parseTaskDefinition>, tag: string) => {
  const id = t.rt.startRelease({ target: 'checkout-api', tag, by: 'ops@example.com', taskDefinition: td });
  await t.rt.settle();
  return { id, record: await t.rt.release(id) };
};

/** The live definition of checkout-api as `aws ecs describe-task-definition` prints it, edited. */
const edited = (t: TestWorld, edit: (td: Record<string, unknown>) => void) => {
  const [arn] = [...t.rt.account.ecs.taskDefinitions.keys()].filter((k) => k.includes('/checkout-api:'));
  const described = t.rt.account.ecs.DescribeTaskDefinition({ taskDefinition: arn as string });
  const document = structuredClone(described) as unknown as { taskDefinition: Record<string, unknown> };
  edit(document.taskDefinition);
  return parseTaskDefinition(document, 'app', 'test file');
};

describe('releases with their own task definition', () => {
  it('an environment and memory change with the live image: deployed, diffed, Promoted', async () => {
    const t = await world();
    const td = edited(t, (d) => {
      d.memory = '2048';
      const [app] = d.containerDefinitions as { environment?: { name: string; value: string }[] }[];
      if (app) app.environment = [{ name: 'FEATURE_X', value: 'on' }];
    });
    const { id, record } = await releaseWith(t, td, 'v1');

    expect(id).toMatch(/^checkout-api-[0-9a-f]{12}-c[0-9a-f]{8}$/);
    expect(record?.outcome).toBe('Promoted');
    expect(record?.changes).toEqual(['memory: 1024 → 2048', 'container app: env FEATURE_X=on added']);
    expect(liveWeights(t.rt, t.checkout)).toEqual({ blue: 0, green: 100 });
    // Green runs the new definition, its image still the live digest, pinned.
    const green = t.rt.account.ecs.DescribeServices({ cluster: 'prod', services: ['checkout-api-green'] })
      .services[0];
    const deployed = t.rt.account.ecs.taskDefinitions.get(green?.taskDefinition ?? '');
    expect(deployed?.memory).toBe('2048');
    expect(deployed?.containerDefinitions?.[0]?.environment).toEqual([{ name: 'FEATURE_X', value: 'on' }]);
    expect(deployed?.containerDefinitions?.[0]?.image).toBe(
      `123456789012.dkr.ecr.us-east-1.amazonaws.com/checkout-api@${EcrModel.digestOf('checkout-api', 'v1')}`,
    );
    const started = t.rt.account.sns.published.find((m) => m.subject?.endsWith('started'));
    expect(started?.message).toContain(
      'Task definition changes: memory: 1024 → 2048; container app: env FEATURE_X=on added.',
    );
  });

  it('a definition identical to the live one with the live image has nothing to release', async () => {
    const t = await world();
    const td = edited(t, () => {});
    const { record } = await releaseWith(t, td, 'v1');
    expect(record?.outcome).toBe('Aborted');
    expect(record?.error?.Error).toBe('DigestAlreadyActive');
    expect(record?.error?.Cause).toContain('with this task definition (nothing in it differs)');
  });

  it('a definition that names a role the stack may not pass is refused before anything is deployed', async () => {
    const t = await world();
    const td = edited(t, (d) => {
      d.taskRoleArn = 'arn:aws:iam::123456789012:role/admin';
    });
    const { record } = await releaseWith(t, td, 'v2');
    expect(record?.outcome).toBe('Aborted');
    expect(record?.error?.Cause).toContain(
      "names task role arn:aws:iam::123456789012:role/admin, but checkout-api's ecs.roles.task is arn:aws:iam::123456789012:role/checkout-api-task",
    );
    expect(record?.phases.some((p) => p.name === 'DeployInactiveColour')).toBe(false);
  });

  it('a definition the live service could not run is refused before anything is deployed, saying why', async () => {
    const t = await world();
    const td = edited(t, (d) => {
      const [app] = d.containerDefinitions as Record<string, unknown>[];
      if (app) app.portMappings = [{ containerPort: 9090 }];
      d.requiresCompatibilities = ['EC2'];
    });
    const { record } = await releaseWith(t, td, 'v1');
    expect(record?.outcome).toBe('Aborted');
    expect(record?.error?.Cause).toContain(
      'lacks requiresCompatibilities ["FARGATE"]: checkout-api-blue runs on Fargate',
    );
    expect(record?.phases.some((p) => p.name === 'DeployInactiveColour')).toBe(false);
  });

  it('any field counts as a change (a health check), and a sidecar image is diffed; the diff names them', async () => {
    const t = await world();
    const td = edited(t, (d) => {
      const [app] = d.containerDefinitions as Record<string, unknown>[];
      if (app) app.healthCheck = { command: ['CMD-SHELL', 'curl -f localhost:8080/health'], interval: 10 };
      (d.containerDefinitions as Record<string, unknown>[]).push({
        name: 'envoy',
        image: 'envoyproxy/envoy:v1.31',
        essential: false,
      });
    });
    const { record } = await releaseWith(t, td, 'v1');
    expect(record?.outcome).toBe('Promoted');
    expect(record?.changes).toEqual([
      'container app: healthCheck none → {"command":["CMD-SHELL","curl -f localhost:8080/health"],"interval":"10"}',
      'container envoy: added (envoyproxy/envoy:v1.31)',
    ]);
  });

  it('the same definition again after another one was promoted is a new release, not "live"', async () => {
    const t = await world();
    const on = edited(t, (d) => {
      const [app] = d.containerDefinitions as { environment?: { name: string; value: string }[] }[];
      if (app) app.environment = [{ name: 'FEATURE_X', value: 'on' }];
    });
    const { id: first, record: firstRecord } = await releaseWith(t, on, 'v1');
    expect(firstRecord?.outcome).toBe('Promoted');
    const off = edited(t, () => {});
    const { id: second, record: secondRecord } = await releaseWith(t, off, 'v1');
    expect(secondRecord?.outcome).toBe('Promoted');
    const { nextAttempt } = await import('../../functions/shared/attempts.ts');
    const { taskDefinitionKey } = await import('../../functions/shared/task-definition.ts');
    // Driven by the virtual clock, as the CLI's own call is in its process.
    const again = await t.rt.until(
      nextAttempt(t.deps, {
        stateMachineArn: t.rt.releaseStateMachineArn,
        target: 'checkout-api',
        digest: EcrModel.digestOf('checkout-api', 'v1'),
        variant: taskDefinitionKey(on),
      }),
    );
    expect(again).toMatchObject({
      start: true,
      attempt: 2,
      retryOf: { releaseId: first, outcome: `Promoted, then replaced by ${second}` },
    });
  });
});

describe('task definition files', () => {
  const base = {
    family: 'checkout-api',
    requiresCompatibilities: ['FARGATE'],
    networkMode: 'awsvpc',
    cpu: 512,
    memory: '1024',
    containerDefinitions: [{ name: 'app', image: 'x', environment: [{ name: 'A', value: '1' }] }],
  };
  it('refuses unknown keys (a typo would vanish) and a container without an image, naming each', () => {
    expect(() =>
      parseTaskDefinition(
        { ...base, containerDefinitions: [{ name: 'app', image: 'x', enviroment: [] }] },
        'app',
        'td.json',
      ),
    ).toThrow('containerDefinitions[0]: Unrecognized key: "enviroment"');
    expect(() =>
      parseTaskDefinition({ ...base, containerDefinitions: [{ name: 'app' }] }, 'app', 'td.json'),
    ).toThrow('containerDefinitions[0].image');
    expect(() => parseTaskDefinition({ ...base, cpus: 1 }, 'app', 'td.json')).toThrow(
      'Unrecognized key: "cpus"',
    );
  });

  it('takes the task size as ECS does (strings), and DescribeTaskDefinition output as it is printed', () => {
    const parsed = parseTaskDefinition(
      { taskDefinition: { ...base, revision: 3, status: 'ACTIVE', taskDefinitionArn: 'arn:…' } },
      'app',
      'td.json',
    );
    expect(parsed.cpu).toBe('512');
    expect(parsed).not.toHaveProperty('revision');
  });
});
