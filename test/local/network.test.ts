/**
 * Network reach, as in AWS: an internal load balancer answers only inside its VPC. CheckHealth's
 * probes reach a target's test listener only when the stack attaches CheckHealth to that VPC
 * (the target's `network`); otherwise they never connect and the release aborts, saying why.
 */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTargetsFile, parseTargets } from '../../functions/shared/config.ts';
import { SwitchyardStack } from '../../infra/stack.ts';
import { EcrModel } from '../../local/account/ecr-sns.ts';
import { LocalRuntime, writeTargetsFile } from '../../local/runtime.ts';
import { buildWorld, FAST_TARGET_GROUPS, serveTestListener } from '../../local/world.ts';
import { fixtureTargets } from '../support/runtime.ts';

const network = {
  vpcId: 'vpc-0a1b2c3d4e5f60001',
  subnets: ['subnet-0a1b2c3d4e5f60011', 'subnet-0a1b2c3d4e5f60012'],
  securityGroups: ['sg-0a1b2c3d4e5f60021'],
};
/** checkout-api from the fixture, renamed (its ARNs too) and without a database. */
const variant = (name: string, extra: object) => {
  const text = JSON.stringify(JSON.parse(readFileSync(fixtureTargets, 'utf8')).targets[0])
    .replaceAll('checkout', name)
    .replaceAll('prod-alb', `${name}-alb`);
  const { database: _, ...target } = JSON.parse(text);
  return { ...target, ...extra };
};
const targetsFile = writeTargetsFile(
  { targets: [variant('inside', { network }), variant('outside', {})] },
  'targets-network.json',
);

let rt: LocalRuntime;
beforeAll(async () => {
  rt = await LocalRuntime.start({ targetsFile }, async (r) => {
    const [inside, outside] = r.targets.targets;
    if (!inside || !outside) throw new Error('two targets expected');
    buildWorld(r.account, inside, { liveTag: 'v1', targetGroup: FAST_TARGET_GROUPS });
    // Its load balancer is internal too, in a VPC Switchyard's CheckHealth is not attached to.
    buildWorld(r.account, outside, {
      liveTag: 'v1',
      targetGroup: FAST_TARGET_GROUPS,
      loadBalancer: { scheme: 'internal', vpcId: 'vpc-0ffffffffffff0002' },
    });
    await serveTestListener(r.account, inside);
    await serveTestListener(r.account, outside);
  });
});
afterAll(() => rt?.dispose());

const releaseOf = async (repository: string, tag: string) => {
  const digest = EcrModel.digestOf(repository, tag);
  const execution = rt.executions().find((e) => JSON.parse(e.input).image.digest === digest);
  return execution && rt.release(execution.name);
};

describe('network reach', () => {
  it('probes an internal load balancer from inside its VPC: the target that names its network releases', async () => {
    rt.push('inside-api', 'v2');
    await rt.settle();
    const release = await releaseOf('inside-api', 'v2');
    expect(release?.error).toBeUndefined();
    expect(release?.outcome).toBe('Promoted');
  });

  it('never reaches an internal load balancer from outside its VPC: the release aborts before traffic moves', async () => {
    rt.push('outside-api', 'v2');
    await rt.settle();
    const release = await releaseOf('outside-api', 'v2');
    expect(release?.outcome).toBe('Aborted');
    expect(release?.error?.Error).toBe('HealthCheckFailed');
    expect(release?.error?.Cause).toMatch(/no connection/);
    expect(release?.trafficPercent ?? 0).toBe(0);
  });

  it("attaches CheckHealth, and only CheckHealth, to the targets' VPC in the stack", () => {
    // Only the functions' VPC config is read: no CloudFormation schema validation (stack.test.ts has it).
    const app = new App({
      context: { targetsFile, 'aws:cdk:bundling-stacks': [] },
      builtinCloudFormationValidation: false,
    });
    const stack = new SwitchyardStack(app, 'Net', {
      targets: loadTargetsFile(targetsFile),
      env: { account: '123456789012', region: 'us-east-1' },
    });
    const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
    const attached = Object.entries(functions).filter(
      ([, f]) => (f as { Properties: { VpcConfig?: unknown } }).Properties.VpcConfig,
    );
    expect(attached.map(([id]) => id)).toEqual([
      stack.getLogicalId(stack.functions['check-health'].node.defaultChild as never),
    ]);
    const [, checkHealth] = attached[0] ?? [];
    expect((checkHealth as { Properties: { VpcConfig: unknown } }).Properties.VpcConfig).toEqual({
      SubnetIds: network.subnets,
      SecurityGroupIds: network.securityGroups,
    });
  });

  it('refuses targets that name different VPCs, naming the field and what to do', () => {
    const doc = {
      targets: [
        variant('inside', { network }),
        variant('outside', { network: { ...network, vpcId: 'vpc-0ffffffffffff0002' } }),
      ],
    };
    expect(() => parseTargets(doc)).toThrow(
      /targets\[1\]\.network\.vpcId: vpc-0ffffffffffff0002 differs from vpc-0a1b2c3d4e5f60001.*one Switchyard stack per VPC/,
    );
    expect(() =>
      parseTargets({ targets: [variant('inside', { network: { ...network, subnets: ['subnet-nope'] } })] }),
    ).toThrow(/targets\[0\]\.network\.subnets\[0\]: must be a subnet id/);
  });
});
