/**
 * Which function each ASL placeholder stands for. The local runtime and the CDK construct both
 * substitute through this table, so a placeholder cannot be left without a function (a test checks
 * that every `${...}` in the files is a key here, and every key is used).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Placeholder → function folder under `functions/`. */
export const releaseFunctions = {
  AcquireLockFunctionArn: 'acquire-lock',
  ValidateFunctionArn: 'validate',
  RecheckPromotionGateFunctionArn: 'recheck-promotion-gate',
  AnalyseBakeFunctionArn: 'analyse-bake',
  AnalyseTestTrafficFunctionArn: 'analyse-test-traffic',
  BackupDatabaseFunctionArn: 'backup-database',
  RegisterWaitFunctionArn: 'register-wait',
  RegisterRevisionFunctionArn: 'register-revision',
  DeployInactiveColourFunctionArn: 'deploy-inactive-colour',
  CheckHealthFunctionArn: 'check-health',
  RequestApprovalFunctionArn: 'request-approval',
  RunHookFunctionArn: 'run-hook',
  RecordHookFunctionArn: 'record-hook',
  RecordLambdaHookFunctionArn: 'record-lambda-hook',
  StartLambdaHookFunctionArn: 'start-lambda-hook',
  ShiftTrafficFunctionArn: 'shift-traffic',
  ScaleDownOldColourFunctionArn: 'scale-down-old-colour',
  CleanUpInactiveColourFunctionArn: 'clean-up-inactive-colour',
  RollBackTrafficFunctionArn: 'roll-back-traffic',
  DeployMemberFunctionArn: 'deploy-member',
  StopMemberFunctionArn: 'stop-member',
  StartMemberFunctionArn: 'start-member',
  PruneSnapshotsFunctionArn: 'prune-snapshots',
  RecordOutcomeFunctionArn: 'record-outcome',
  ReleaseLockFunctionArn: 'release-lock',
  NotifyFunctionArn: 'notify',
} as const;

/** Placeholder → function folder for `rollback.asl.json` (mostly the release's own steps). */
export const rollbackFunctions = {
  AcquireLockFunctionArn: 'acquire-lock',
  PlanRollbackFunctionArn: 'plan-rollback',
  DeployInactiveColourFunctionArn: 'deploy-inactive-colour',
  RegisterWaitFunctionArn: 'register-wait',
  CheckHealthFunctionArn: 'check-health',
  ShiftTrafficFunctionArn: 'shift-traffic',
  ScaleDownOldColourFunctionArn: 'scale-down-old-colour',
  CleanUpInactiveColourFunctionArn: 'clean-up-inactive-colour',
  // A promoted group goes back as one: its members' steps are the release's own.
  DeployMemberFunctionArn: 'deploy-member',
  StopMemberFunctionArn: 'stop-member',
  StartMemberFunctionArn: 'start-member',
  RecordOutcomeFunctionArn: 'record-outcome',
  ReleaseLockFunctionArn: 'release-lock',
  NotifyFunctionArn: 'notify',
} as const;

/** Functions invoked by EventBridge rules and schedules rather than by a state machine. */
export const eventFunctions = [
  'start-release',
  'wait-resume',
  'reconciler',
  'recover-execution',
  'record-pusher',
  'promote',
  'request-release',
] as const;

/** Functions behind the approval API (API Gateway routes). */
export const httpFunctions = ['approvals', 'slack-interactions'] as const;

/** Functions another function invokes asynchronously (Lambda's event queue, with its retries). */
export const asyncFunctions = ['slack-decisions'] as const;

/** Their events' maximum age in Lambda's queue: a Slack click older than this is stale. */
export const ASYNC_MAX_EVENT_AGE_SECONDS = 600;

export type FunctionFolder =
  | (typeof releaseFunctions)[keyof typeof releaseFunctions]
  | (typeof rollbackFunctions)[keyof typeof rollbackFunctions]
  | (typeof eventFunctions)[number]
  | (typeof httpFunctions)[number]
  | (typeof asyncFunctions)[number];

/**
 * Each function's Lambda timeout in seconds (the stack sets it; the local runtime enforces it).
 * A Task's `TimeoutSeconds` must exceed its function's, so a hung invocation surfaces as
 * `Lambda.Unknown` (retried: every step is idempotent) rather than `States.Timeout` (a test checks).
 */
const longerTimeouts: Partial<Record<string, number>> = {
  'check-health': 240,
  reconciler: 120,
  'deploy-inactive-colour': 90,
};
export const functionTimeoutSeconds = (folder: FunctionFolder): number => longerTimeouts[folder] ?? 30;

/**
 * The functions a release runs in its first second, from its push to its first wait: start-release,
 * AcquireLock, Validate, then the deployment and the snapshot (or, before hooks, the revision's
 * registration) and the wait on them. The reconciler keeps one environment of each warm, releases
 * running or not (functions/shared/keep-warm.ts, reconcilerWarmUps). Cold, they were a second of a
 * release's lead from an idle account, and nothing sent at the push can warm them in time: the
 * push's own function is the first of them, and start-release's warm-ups start their inits as
 * the steps after Validate start theirs. Between releases, eight warm-ups every fourth minute (and
 * deploy-member and register-wait once per member of the largest group and once more, held 100 ms,
 * as they run for each member): about 86,000
 * invocations a month with no group, $0.02 of requests; while releases wait they go with every
 * tick's round.
 */
export const startChainFunctions: readonly FunctionFolder[] = [
  'start-release',
  'acquire-lock',
  'validate',
  'backup-database',
  'register-revision',
  'deploy-inactive-colour',
  'deploy-member',
  'register-wait',
];

/** `WARM_ALWAYS_FUNCTIONS` (the reconciler's): startChainFunctions, in the form of warmList. */
export const warmAlwaysList = (largestGroup: number, nameOf: (folder: FunctionFolder) => string): string =>
  warmList(startChainFunctions, largestGroup, nameOf);

/**
 * The functions the reconciler and start-release keep warm while releases run (functions/shared/
 * keep-warm.ts): every step of both state machines, and wait-resume, which ends the waits that
 * events answer. Walking the release machine from each of its waits to the next finds 21 of its
 * 26 functions on the way; the others run first, so all are kept. Except acquire-lock: both
 * machines invoke it within 50 ms of their start, too soon for start-release's warm-up to have
 * started an environment, and soon enough for it to take the warm one the step needed (found in an
 * idle account's release: AcquireLock started cold). The reconciler's ticks keep it warm instead
 * (startChainFunctions).
 */
export const keptWarmFunctions = (): FunctionFolder[] =>
  [
    ...new Set<FunctionFolder>([
      ...Object.values(releaseFunctions),
      ...Object.values(rollbackFunctions),
      'wait-resume',
    ]),
  ].filter((folder) => folder !== 'acquire-lock');

/**
 * The functions a release runs for every member of its group side by side (the Map and Parallel
 * states over the members): a group of two needs three environments of each at once, the primary's
 * and its members'. One warm environment would leave the others to start cold.
 */
const perMemberFunctions: readonly FunctionFolder[] = [
  'deploy-member',
  'stop-member',
  'start-member',
  'register-wait',
  'wait-resume',
];

/** `WARM_UP_FUNCTIONS` (keep-warm.ts): keptWarmFunctions, in the form of warmList. */
export const warmUpList = (largestGroup: number, nameOf: (folder: FunctionFolder) => string): string =>
  warmList(keptWarmFunctions(), largestGroup, nameOf);

/**
 * A warm-up list (keep-warm.ts warmUpFunctionsFrom): each function by `nameOf`, with `*N` where N
 * environments are to be kept: the per-member functions, one per member of the largest group and
 * one more, when it has members.
 */
const warmList = (
  folders: readonly FunctionFolder[],
  largestGroup: number,
  nameOf: (folder: FunctionFolder) => string,
): string =>
  folders
    .map((folder) =>
      largestGroup > 0 && perMemberFunctions.includes(folder)
        ? `${nameOf(folder)}*${largestGroup + 1}`
        : nameOf(folder),
    )
    .join(',');

/**
 * How Lambda's asynchronous queue treats a function's events (the stack sets it; the local runtime
 * models it). Events and Slack decisions keep Lambda's two retries, then go to the dead-letter queue;
 * a Slack click is stale after ASYNC_MAX_EVENT_AGE_SECONDS, an event after Lambda's default 6 hours.
 * The steps get asynchronous events only as warm-ups (keep-warm.ts): one that is a minute old, or
 * failed, is worth nothing, since the next tick sends another. Retries, a dead-letter queue: none.
 */
export const asyncInvokeConfig = (
  folder: FunctionFolder,
): { maxEventAgeSeconds: number; retryAttempts: number; deadLetters: boolean } => {
  if ((asyncFunctions as readonly string[]).includes(folder))
    return {
      maxEventAgeSeconds: ASYNC_MAX_EVENT_AGE_SECONDS,
      retryAttempts: LAMBDA_ASYNC_RETRIES,
      deadLetters: true,
    };
  if ((eventFunctions as readonly string[]).includes(folder))
    return {
      maxEventAgeSeconds: LAMBDA_MAX_EVENT_AGE_SECONDS,
      retryAttempts: LAMBDA_ASYNC_RETRIES,
      deadLetters: true,
    };
  return { maxEventAgeSeconds: 60, retryAttempts: 0, deadLetters: false };
};

/**
 * Lambda's defaults for asynchronous invocation: two retries, events kept 6 hours
 * (docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html, read 2026-12-03).
 */
const LAMBDA_ASYNC_RETRIES = 2;
const LAMBDA_MAX_EVENT_AGE_SECONDS = 6 * 3600;

/** Every function folder, once. */
export const allFunctionFolders = (): FunctionFolder[] => [
  ...new Set<FunctionFolder>([
    ...Object.values(releaseFunctions),
    ...Object.values(rollbackFunctions),
    ...eventFunctions,
    ...httpFunctions,
    ...asyncFunctions,
  ]),
];

export const releaseDefinitionPath = fileURLToPath(new URL('./release.asl.json', import.meta.url));

/** The ASL file's text, exactly as CDK reads it. */
export const releaseDefinitionText = (): string => readFileSync(releaseDefinitionPath, 'utf8');

export const rollbackDefinitionPath = fileURLToPath(new URL('./rollback.asl.json', import.meta.url));
export const rollbackDefinitionText = (): string => readFileSync(rollbackDefinitionPath, 'utf8');

/** Placeholders used in an ASL text. */
export const placeholdersIn = (text: string): string[] => [
  ...new Set([...text.matchAll(/\$\{(\w+)\}/g)].map((m) => m[1] as string)),
];

/** Replaces every `${Name}`; a placeholder without a value is an error, never left in place. */
export const substitute = (text: string, values: Record<string, string>): string =>
  text.replace(/\$\{(\w+)\}/g, (_, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`no value for placeholder \${${name}}`);
    return value;
  });

interface AslState {
  Type: string;
  Branches?: { States: Record<string, AslState> }[];
  ItemProcessor?: { States: Record<string, AslState> };
}

/**
 * The Task states of a definition (`releaseDefinitionText()` or `rollbackDefinitionText()`), those
 * inside Parallel branches and Map processors included, in file order, without `skip`.
 */
export const taskStatesOf = (definitionText: string, skip: readonly string[] = []): string[] => {
  const walk = (states: Record<string, AslState>): string[] =>
    Object.entries(states).flatMap(([name, s]) => [
      ...(s.Type === 'Task' ? [name] : []),
      ...(s.Branches ?? []).flatMap((b) => walk(b.States)),
      ...(s.ItemProcessor ? walk(s.ItemProcessor.States) : []),
    ]);
  const { States } = JSON.parse(definitionText) as { States: Record<string, AslState> };
  return walk(States).filter((s) => !skip.includes(s));
};
