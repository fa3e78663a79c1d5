/**
 * Cold-start proxy: each function bundled as deployed (with its source map), then imported in a
 * fresh Node 22 process with the stack's NODE_OPTIONS (module initialisation: its imports, the AWS
 * SDK clients it builds, reading its source map, config parsing), several times; median, min and
 * max in ms, with the bundle size; and what that initialisation is made of (bench/init-parts).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateTableCommand, DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { loadTargetsFile, validatedTargetsDocument } from '../functions/shared/config.ts';
import { bundleEntry, bundleFunction } from '../infra/bundling.ts';
import { FUNCTION_NODE_OPTIONS } from '../infra/function-runtime.ts';
import { startDynalite } from '../local/dynamo.ts';
import { allFunctionFolders } from '../state-machines/definitions.ts';

export interface ColdStart {
  folder: string;
  bundleKb: number;
  initMs: { median: number; min: number; max: number };
  /** The same function loading `@aws-sdk/*` from the runtime's copy instead (median ms), for comparison. */
  runtimeSdkMs?: number;
  /** Median init over the baseline's median (a minimal middy + Powertools-logger handler, bench/baseline-handler.ts). */
  ratio: number;
  /** The baseline only: Node's own start before the first module runs (median over every run, ms). */
  runtimeStartMs?: number;
}

/**
 * What a function's initialisation is made of: the baseline with one more dependency (bench/init-parts),
 * bundled and measured the same way, in the same rounds. `addedMs` is its median over the baseline's.
 */
export interface InitPart {
  part: string;
  bundleKb: number;
  initMs: { median: number; min: number; max: number };
  addedMs: number;
  /**
   * Parts that call DynamoDB: the first invocation after the init (one GetItem against a local
   * DynamoDB, dynalite), and the init and that invocation together, each a median in ms. A cold start
   * is both: work deferred from the init is paid in the first invocation.
   */
  firstCallMs?: number;
  coldMs?: number;
}

/**
 * What functions load at init: zod (every function), the DynamoDB document client (every function,
 * for Switchyard's tables), an ECS client (the functions that manage ECS); and zod's mini API with
 * one string field, a lower bound of what the functions' schemas would cost in it.
 */
const INIT_PARTS: Record<string, string> = {
  'zod, classic API, as imported': 'zod.ts',
  'zod/mini, one field (a lower bound)': 'zod-mini.ts',
  'DynamoDB document client': 'dynamodb.ts',
  'DynamoDB client, deferred to the call': 'dynamodb-deferred.ts',
  'ECS client': 'ecs.ts',
};

/** The parts whose first invocation is timed too (one GetItem each), and the event it gets. */
const FIRST_CALL_EVENTS: Record<string, string> = {
  'dynamodb.ts': JSON.stringify({ key: 'web' }),
  'dynamodb-deferred.ts': JSON.stringify({ key: 'web' }),
};

/** A local DynamoDB (the local runtime's dynalite, on loopback) with the table the parts read. */
const startDynamo = async () => {
  const { endpoint, close } = await startDynalite();
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  await client.send(
    new CreateTableCommand({
      TableName: 'locks',
      AttributeDefinitions: [{ AttributeName: 'target', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'target', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  await client.send(new PutItemCommand({ TableName: 'locks', Item: { target: { S: 'web' } } }));
  client.destroy();
  return { endpoint, close };
};

/** Issue 19's goal: every function within 1.5x the baseline's initialisation. */
export const COLD_START_RATIO_GOAL = 1.5;

const root = fileURLToPath(new URL('../', import.meta.url));

export const measureColdStarts = async (runs = 5): Promise<{ functions: ColdStart[]; parts: InitPart[] }> => {
  // Inside the project, so the bundles resolve @aws-sdk/* from node_modules as Lambda's runtime would.
  const out = join(root, 'node_modules', '.cache', 'switchyard-cold-start');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const deployedTargets = join(out, 'targets.json');
  writeFileSync(
    deployedTargets,
    validatedTargetsDocument(loadTargetsFile(join(root, 'local', 'targets.json'))),
  );
  // Nothing this process was given that Lambda would not give: Node's compile cache (npm test sets
  // one) would make every import look faster than a cold start is.
  const { NODE_COMPILE_CACHE: _cache, ...inherited } = process.env;
  const dynamo = await startDynamo();
  const env = {
    ...inherited,
    // Only the init parts read it (their first invocation); the functions never call here.
    BENCH_DYNAMODB_ENDPOINT: dynamo.endpoint,
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench',
    AWS_REGION: 'us-east-1',
    // As deployed: the targets the stack validated and bundled (validatedTargetsDocument).
    SWITCHYARD_TARGETS_FILE: deployedTargets,
    LOCKS_TABLE: 'locks',
    RELEASES_TABLE: 'releases',
    WAITS_TABLE: 'waits',
    APPROVALS_TABLE: 'approvals',
    RELEASE_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:switchyard-release',
    APPROVAL_KEY_SECRET: 'switchyard/approval-signing-key',
    APPROVAL_BASE_URL: 'https://example.invalid',
    SLACK_SIGNING_SECRET_SECRET: 'switchyard/slack-signing-secret',
    SLACK_DECISIONS_FUNCTION: 'switchyard-slack-decisions',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    // As deployed: the stack's NODE_OPTIONS (source maps on), none of this process's.
    NODE_OPTIONS: FUNCTION_NODE_OPTIONS,
  };
  const runtimeStarts: number[] = [];
  const firstCalls = new Map<string, { firstCallMs: number[]; coldMs: number[] }>();
  // Not execFileSync: the local DynamoDB the first calls go to is served by this process.
  const initOnce = async (file: string, event?: string) => {
    const args = [join(root, 'bench', 'measure-init.mjs'), file, ...(event === undefined ? [] : [event])];
    const { stdout } = await promisify(execFile)(process.execPath, args, { env });
    const { startMs, initMs, firstCallMs } = JSON.parse(stdout) as {
      startMs: number;
      initMs: number;
      firstCallMs?: number;
    };
    runtimeStarts.push(startMs);
    if (firstCallMs !== undefined) {
      const times = firstCalls.get(file) ?? { firstCallMs: [], coldMs: [] };
      times.firstCallMs.push(firstCallMs);
      times.coldMs.push(initMs + firstCallMs);
      firstCalls.set(file, times);
    }
    return initMs;
  };
  const baselineFile = join(out, 'baseline', 'index.mjs');
  await bundleEntry(join(root, 'bench', 'baseline-handler.ts'), baselineFile);
  const parts = new Map<string, string>();
  const partEvents = new Map<string, string | undefined>();
  for (const [part, entry] of Object.entries(INIT_PARTS)) {
    parts.set(part, join(out, 'parts', entry.replace(/\.ts$/, ''), 'index.mjs'));
    partEvents.set(part, FIRST_CALL_EVENTS[entry]);
    await bundleEntry(join(root, 'bench', 'init-parts', entry), parts.get(part) as string);
  }
  const folders = allFunctionFolders();
  const files = new Map<string, string>();
  const runtimeSdk = new Map<string, string>();
  for (const folder of folders) {
    files.set(folder, join(out, folder, 'index.mjs'));
    await bundleFunction(folder, files.get(folder) as string);
    runtimeSdk.set(folder, join(out, folder, 'runtime-sdk.mjs'));
    await bundleFunction(folder, runtimeSdk.get(folder) as string, false);
  }
  // Interleaved rounds (every function, then the baseline, each round), so a noisy stretch of the
  // shared machine falls on functions and baseline alike and cancels in the ratio.
  const times = new Map<string, number[]>([
    ['baseline', []],
    ...folders.flatMap((f) => [
      [f, []] as [string, number[]],
      [`${f}/runtime-sdk`, []] as [string, number[]],
    ]),
    ...[...parts.keys()].map((part) => [`part: ${part}`, []] as [string, number[]]),
  ]);
  for (let round = 0; round < runs; round++) {
    for (const folder of folders) {
      times.get(folder)?.push(await initOnce(files.get(folder) as string));
      times.get(`${folder}/runtime-sdk`)?.push(await initOnce(runtimeSdk.get(folder) as string));
    }
    times.get('baseline')?.push(await initOnce(baselineFile));
    for (const [part, file] of parts)
      times.get(`part: ${part}`)?.push(await initOnce(file, partEvents.get(part)));
  }
  const stats = (values: number[]) => {
    const sorted = [...values].sort((a, b) => a - b);
    const round1 = (n: number) => Math.round(n * 10) / 10;
    return {
      median: round1(sorted[Math.floor(sorted.length / 2)] as number),
      min: round1(sorted[0] as number),
      max: round1(sorted.at(-1) as number),
    };
  };
  const baseline = stats(times.get('baseline') as number[]);
  const results: ColdStart[] = ['baseline', ...folders].map((folder) => {
    const initMs = stats(times.get(folder) as number[]);
    const file = folder === 'baseline' ? baselineFile : (files.get(folder) as string);
    return {
      folder,
      bundleKb: Math.round((statSync(file).size / 1024) * 10) / 10,
      initMs,
      ...(folder === 'baseline'
        ? { runtimeStartMs: stats(runtimeStarts).median }
        : { runtimeSdkMs: stats(times.get(`${folder}/runtime-sdk`) as number[]).median }),
      ratio: Math.round((initMs.median / baseline.median) * 100) / 100,
    };
  });
  const partResults = [...parts].map(([part, file]): InitPart => {
    const initMs = stats(times.get(`part: ${part}`) as number[]);
    const called = firstCalls.get(file);
    return {
      part,
      bundleKb: Math.round((statSync(file).size / 1024) * 10) / 10,
      initMs,
      addedMs: Math.round((initMs.median - baseline.median) * 10) / 10,
      ...(called && { firstCallMs: stats(called.firstCallMs).median, coldMs: stats(called.coldMs).median }),
    };
  });
  await dynamo.close();
  rmSync(out, { recursive: true, force: true });
  return { functions: results, parts: partResults };
};
