/** The simulated ELBv2 refuses what ELBv2 refuses, and setWeights sends back what it accepts. */
import { describe, expect, it } from 'vitest';
import { setWeights } from '../../functions/shared/traffic.ts';
import { Elbv2Model } from '../../local/account/elbv2.ts';

const blue = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/blue/1111111111111111';
const green = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/green/2222222222222222';
const rule = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/lb/1/2/3';
const oidc = {
  Type: 'authenticate-oidc' as const,
  Order: 1,
  AuthenticateOidcConfig: {
    Issuer: 'https://idp.example.com',
    AuthorizationEndpoint: 'https://idp.example.com/auth',
    TokenEndpoint: 'https://idp.example.com/token',
    UserInfoEndpoint: 'https://idp.example.com/userinfo',
    ClientId: 'switchyard',
    ClientSecret: 'kept-by-elb',
  },
};
const forward = (b: number, g: number) => ({
  Type: 'forward' as const,
  Order: 2,
  ForwardConfig: {
    TargetGroups: [
      { TargetGroupArn: blue, Weight: b },
      { TargetGroupArn: green, Weight: g },
    ],
  },
});

const model = (actions: unknown[]) => {
  const elb = new Elbv2Model();
  elb.addTargetGroup(blue, 'blue');
  elb.addTargetGroup(green, 'green');
  elb.addRule(rule, 'listener', '10', actions as never);
  return elb;
};
/** The model behind a client-shaped `send`, as the simulated account answers SDK commands. */
const client = (elb: Elbv2Model) => ({
  send: async (command: { constructor: { name: string }; input: unknown }) =>
    (elb as unknown as Record<string, (i: unknown) => unknown>)[
      command.constructor.name.replace(/Command$/, '')
    ]?.call(elb, structuredClone(command.input)),
});

describe('simulated ModifyRule', () => {
  it('refuses a forward action whose weights are all 0', () => {
    const elb = model([forward(100, 0)]);
    expect(() => elb.ModifyRule({ RuleArn: rule, Actions: [forward(0, 0)] })).toThrow(
      /At least one target group in a forward action must have a weight above 0/,
    );
  });

  it('refuses weights above 999 and more than 5 target groups', () => {
    const elb = model([forward(100, 0)]);
    expect(() => elb.ModifyRule({ RuleArn: rule, Actions: [forward(1000, 0)] })).toThrow(/between 0 and 999/);
    const six = {
      Type: 'forward' as const,
      ForwardConfig: { TargetGroups: Array(6).fill({ TargetGroupArn: blue, Weight: 1 }) },
    };
    expect(() => elb.ModifyRule({ RuleArn: rule, Actions: [six] })).toThrow(/at most 5 target groups/);
  });

  it('never returns an OIDC client secret, and refuses the action sent back without one', () => {
    const elb = model([oidc, forward(100, 0)]);
    const [read] = elb.DescribeRules({ RuleArns: [rule] }).Rules;
    expect(read?.Actions?.[0]?.AuthenticateOidcConfig).not.toHaveProperty('ClientSecret');
    expect(() => elb.ModifyRule({ RuleArn: rule, Actions: read?.Actions })).toThrow(
      /UseExistingClientSecret/,
    );
  });
});

describe('setWeights', () => {
  it('keeps an authenticate-oidc action valid (UseExistingClientSecret) while it moves the weights', async () => {
    const elb = model([oidc, forward(100, 0)]);
    const state = await setWeights(
      client(elb) as never,
      { listenerRuleArn: rule, targetGroups: { blue, green } },
      { blue: 90, green: 10 },
    );
    expect(state.weights).toEqual({ blue: 90, green: 10 });
    const [read] = elb.DescribeRules({ RuleArns: [rule] }).Rules;
    expect(read?.Actions?.map((a) => a.Type)).toEqual(['authenticate-oidc', 'forward']);
    expect(read?.Actions?.[0]?.AuthenticateOidcConfig?.ClientId).toBe('switchyard');
  });
});
