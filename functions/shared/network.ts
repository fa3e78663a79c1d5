/**
 * Which VPC Switchyard's functions attach to. A target may name its network (subnets and security
 * groups in one VPC): the functions that talk to the target's own network, not only to AWS APIs,
 * attach to it in the stack, and the local runtime gives them the same reach. Today that is
 * CheckHealth, whose HTTP probes go to the test listener (often an internal load balancer).
 */
import type { FunctionFolder } from '../../state-machines/definitions.ts';
import type { Target, TargetsFile } from './config.ts';

/** Functions whose requests go to the targets' networks (the rest call AWS APIs only). */
export const networkFunctions: readonly FunctionFolder[] = ['check-health'];

export interface Attachment {
  vpcId: string;
  subnets: string[];
  securityGroups: string[];
}

/**
 * The VPC the network functions attach to, from the targets that name one. A Lambda function sits
 * in one VPC, so every target that names a network must name the same VPC (config validation says
 * so); `undefined` when none does.
 */
export const attachmentOf = (targets: TargetsFile): Attachment | undefined => {
  const withNetwork = targets.targets.filter(
    (t): t is Target & { network: NonNullable<Target['network']> } => !!t.network,
  );
  const first = withNetwork[0]?.network;
  if (!first) return undefined;
  return {
    vpcId: first.vpcId,
    subnets: [...new Set(withNetwork.flatMap((t) => t.network.subnets))],
    securityGroups: [...new Set(withNetwork.flatMap((t) => t.network.securityGroups))],
  };
};
