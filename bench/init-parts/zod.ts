/** The baseline handler with zod's classic API, as every function imports it (bench/cold-start.ts). */
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { handler as bare } from '../baseline-handler.ts';

const input = z.object({ target: z.string().min(1) });

export const handler = (event: unknown, context: Context) => bare(input.parse(event), context);
