/**
 * The baseline handler with zod's tree-shakeable mini API, one string field (bench/cold-start.ts): the
 * least the functions' schemas could cost in it, not what they would, since mini bundles only what is used.
 */
import type { Context } from 'aws-lambda';
import * as z from 'zod/mini';
import { handler as bare } from '../baseline-handler.ts';

const input = z.object({ target: z.string().check(z.minLength(1)) });

export const handler = (event: unknown, context: Context) => bare(input.parse(event), context);
