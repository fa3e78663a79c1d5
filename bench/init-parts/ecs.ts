/** The baseline handler with an ECS client, as functions/shared/clients builds it (bench/cold-start.ts). */
import { DescribeServicesCommand, ECSClient } from '@aws-sdk/client-ecs';
import type { Context } from 'aws-lambda';
import { handler as bare } from '../baseline-handler.ts';

const ecs = new ECSClient({});

export const handler = async (event: { cluster: string }, context: Context) =>
  bare(await ecs.send(new DescribeServicesCommand({ cluster: event.cluster, services: ['web'] })), context);
