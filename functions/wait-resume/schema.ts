import * as z from 'zod';

const envelope = { id: z.string(), time: z.string(), resources: z.array(z.string()) };

/**
 * The AWS events that may end a wait: ECS deployment state changes, RDS snapshot events, and
 * CloudWatch alarm state changes (which end a bake).
 */
export const inputSchema = z.discriminatedUnion('detail-type', [
  z.object({
    ...envelope,
    'detail-type': z.literal('ECS Deployment State Change'),
    source: z.literal('aws.ecs'),
    resources: z.array(z.string().regex(/^arn:aws[a-z-]*:ecs:[^:]+:\d{12}:service\/[^/]+\/[^/]+$/)).min(1),
    detail: z.object({ eventName: z.string(), deploymentId: z.string().optional() }),
  }),
  z.object({
    ...envelope,
    'detail-type': z.literal('ECS Task State Change'),
    source: z.literal('aws.ecs'),
    detail: z.object({
      lastStatus: z.string(),
      group: z.string().optional(),
      taskArn: z.string(),
      clusterArn: z.string().optional(),
    }),
  }),
  z.object({
    ...envelope,
    'detail-type': z.enum(['RDS DB Snapshot Event', 'RDS DB Cluster Snapshot Event']),
    source: z.literal('aws.rds'),
    detail: z.object({ EventID: z.string(), SourceIdentifier: z.string().min(1) }),
  }),
  z.object({
    ...envelope,
    'detail-type': z.literal('CloudWatch Alarm State Change'),
    source: z.literal('aws.cloudwatch'),
    detail: z.object({
      alarmName: z.string().min(1),
      state: z.object({ value: z.string(), reason: z.string().optional() }),
    }),
  }),
]);
export type Input = z.infer<typeof inputSchema>;
export interface Output {
  resourceKeys: string[];
  pending: number;
  resumed: number;
}
