/**
 * Listener weights are the only truth about which colour is live: read them every time, write the
 * whole forward action (both target groups), and read back until the weights landed.
 */
import {
  type Action,
  DescribeListenersCommand,
  DescribeRulesCommand,
  type ElasticLoadBalancingV2Client,
  ModifyListenerCommand,
  ModifyRuleCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Target } from './config.ts';
import { ResourceNotFound, TrafficSplit, WeightsNotApplied } from './errors.ts';
import { type Colour, Colour as Colours } from './vocabulary.ts';

export type Weights = Record<Colour, number>;

export interface ForwardState {
  actions: Action[];
  weights: Weights;
}

/** Where a target's traffic is split: its listener rule, or its listener's default actions. */
export type TrafficConfig = Pick<Target['traffic'], 'listenerRuleArn' | 'listenerArn' | 'targetGroups'>;

type Elbv2 = Pick<ElasticLoadBalancingV2Client, 'send'>;

const readActions = async (elbv2: Elbv2, traffic: TrafficConfig): Promise<Action[]> => {
  if (traffic.listenerRuleArn) {
    const out = await elbv2.send(new DescribeRulesCommand({ RuleArns: [traffic.listenerRuleArn] }));
    const rule = out.Rules?.[0];
    if (!rule) throw new ResourceNotFound(`listener rule ${traffic.listenerRuleArn} not found`);
    return rule.Actions ?? [];
  }
  const listenerArn = traffic.listenerArn as string;
  const out = await elbv2.send(new DescribeListenersCommand({ ListenerArns: [listenerArn] }));
  const listener = out.Listeners?.[0];
  if (!listener) throw new ResourceNotFound(`listener ${listenerArn} not found`);
  return listener.DefaultActions ?? [];
};

/** Reads the forward action and returns each colour's weight (a plain forward to one group = 1/0). */
export const readWeights = async (elbv2: Elbv2, traffic: TrafficConfig): Promise<ForwardState> => {
  const actions = await readActions(elbv2, traffic);
  const forward = actions.find((a) => a.Type === 'forward');
  const where = traffic.listenerRuleArn ?? traffic.listenerArn;
  if (!forward) throw new TrafficSplit(`${where} has no forward action`);
  const groups = forward.ForwardConfig?.TargetGroups?.length
    ? forward.ForwardConfig.TargetGroups.map((g) => ({ arn: g.TargetGroupArn, weight: g.Weight ?? 1 }))
    : [{ arn: forward.TargetGroupArn, weight: 1 }];
  const weights: Weights = { blue: 0, green: 0 };
  for (const group of groups) {
    if (group.arn === traffic.targetGroups.blue) weights.blue = group.weight;
    else if (group.arn === traffic.targetGroups.green) weights.green = group.weight;
    else if (group.weight > 0) {
      throw new TrafficSplit(
        `${where} forwards to ${group.arn}, which is neither the blue nor the green target group`,
      );
    }
  }
  return { actions, weights };
};

/** The colour that takes all traffic; anything but 100/0 is a `TrafficSplit` error. */
export const liveColour = (weights: Weights, where: string): Colour => {
  if (weights.blue > 0 && weights.green === 0) return Colours.blue;
  if (weights.green > 0 && weights.blue === 0) return Colours.green;
  throw new TrafficSplit(
    `${where} splits traffic blue=${weights.blue} green=${weights.green}; a release needs one colour at 100% and the other at 0. ` +
      'Finish or roll back the release that moved it, or set the weights by hand.',
  );
};

/** Percent of traffic per colour, from ALB weights (0–999 each). */
export const percentages = (weights: Weights): Weights => {
  const total = weights.blue + weights.green;
  if (total === 0) return { blue: 0, green: 0 };
  return { blue: Math.round((weights.blue * 100) / total), green: Math.round((weights.green * 100) / total) };
};

/**
 * Sends the whole forward action with both target groups at `weights`, keeping the other actions
 * and the stickiness config, then reads it back. Throws `WeightsNotApplied` if the read-back differs.
 * Returns the rule as read back.
 */
export const setWeights = async (
  elbv2: Elbv2,
  traffic: TrafficConfig,
  weights: Weights,
  /**
   * The rule's actions when the caller has them: read alongside another check, or (a bake's fast
   * rollback) as verified when the bake began. Without them the rule is read first.
   */
  current?: Pick<ForwardState, 'actions'>,
): Promise<ForwardState> => {
  const { actions } = current ?? (await readWeights(elbv2, traffic));
  const next = actions.map((action): Action => {
    // AWS never returns an OIDC client secret: sent back as read, the action needs
    // UseExistingClientSecret or ModifyRule refuses it.
    if (action.Type === 'authenticate-oidc' && action.AuthenticateOidcConfig) {
      const { ClientSecret: _, ...config } = action.AuthenticateOidcConfig;
      return { ...action, AuthenticateOidcConfig: { ...config, UseExistingClientSecret: true } };
    }
    if (action.Type !== 'forward') return action;
    return {
      Type: 'forward',
      Order: action.Order,
      ForwardConfig: {
        TargetGroups: [
          { TargetGroupArn: traffic.targetGroups.blue, Weight: weights.blue },
          { TargetGroupArn: traffic.targetGroups.green, Weight: weights.green },
        ],
        TargetGroupStickinessConfig: action.ForwardConfig?.TargetGroupStickinessConfig,
      },
    };
  });
  if (traffic.listenerRuleArn) {
    await elbv2.send(new ModifyRuleCommand({ RuleArn: traffic.listenerRuleArn, Actions: next }));
  } else {
    await elbv2.send(new ModifyListenerCommand({ ListenerArn: traffic.listenerArn, DefaultActions: next }));
  }
  const readBack = await readWeights(elbv2, traffic);
  if (readBack.weights.blue !== weights.blue || readBack.weights.green !== weights.green) {
    throw new WeightsNotApplied(
      `asked for blue=${weights.blue} green=${weights.green}, read back blue=${readBack.weights.blue} green=${readBack.weights.green}`,
    );
  }
  return readBack;
};

/** Weights that send everything to `colour`. */
export const allTo = (colour: Colour): Weights =>
  colour === Colours.blue ? { blue: 100, green: 0 } : { blue: 0, green: 100 };
