/** Static checks of the release state machine file: the reviewable artifact is valid and complete. */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { EXTEND_SECONDS, SETTLE_SECONDS } from '../../functions/shared/analysis/index.ts';
import { errorNames } from '../../functions/shared/errors.ts';
import { LAMBDA_HOOK_START_SECONDS } from '../../functions/shared/hooks.ts';
import {
  eventFunctions,
  functionTimeoutSeconds,
  placeholdersIn,
  releaseDefinitionText,
  releaseFunctions,
  rollbackDefinitionText,
  substitute,
} from '../../state-machines/definitions.ts';

type AslValidator = (
  definition: unknown,
  options?: { checkPaths: boolean; checkArn: boolean },
) => { isValid: boolean; errors: unknown[] };
const validate = createRequire(import.meta.url)('asl-validator') as AslValidator;

interface State {
  Type: string;
  Resource?: string;
  Parameters?: { FunctionName?: string };
  TimeoutSeconds?: number;
  TimeoutSecondsPath?: string;
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[]; ResultPath?: string; Next?: string }[];
  Choices?: Record<string, unknown>[];
  Branches?: { States: Record<string, State> }[];
  ItemProcessor?: { States: Record<string, State> };
  Next?: string;
}

const text = releaseDefinitionText();
const definition = JSON.parse(text) as { States: Record<string, State> };

/**
 * Every state with its name and the nearest enclosing Parallel or Map that catches, if any (a Map
 * without a Catch fails its own enclosing state, which catches for it).
 */
const allStates = (
  states: Record<string, State>,
  parent?: State,
): { name: string; state: State; parent?: State }[] =>
  Object.entries(states).flatMap(([name, state]) => [
    { name, state, parent },
    ...(state.Branches ?? []).flatMap((b) => allStates(b.States, state.Catch ? state : parent)),
    ...(state.ItemProcessor ? allStates(state.ItemProcessor.States, state.Catch ? state : parent) : []),
  ]);
const tasks = allStates(definition.States).filter((s) => s.state.Type === 'Task');

const lambdaRetry = ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException'];
const builtIn = (name: string) => name.startsWith('States.') || name.startsWith('Lambda.');

describe('release.asl.json', () => {
  /** `${Name}`, as the ASL files write a placeholder. */
  const placeholder = (name: string) => ['${', name, '}'].join('');

  it('gives CheckHealth the execution’s start, and the rollback’s too: stopped tasks from before it are not its doing', () => {
    const rollback = JSON.parse(rollbackDefinitionText()) as { States: Record<string, State> };
    const checks = [...tasks, ...allStates(rollback.States).filter((s) => s.state.Type === 'Task')].filter(
      (s) => s.state.Resource === placeholder('CheckHealthFunctionArn'),
    );
    expect(checks).toHaveLength(2);
    for (const { state } of checks)
      expect((state.Parameters as Record<string, unknown>)['executionStartedAt.$']).toBe(
        '$$.Execution.StartTime',
      );
  });

  it('is valid JSON before substitution, with placeholders only as whole string values', () => {
    const strings: string[] = [];
    JSON.parse(text, (_key, value) => {
      if (typeof value === 'string' && value.includes('${')) strings.push(value);
      return value;
    });
    expect(strings.length).toBeGreaterThan(0);
    for (const value of strings) expect(value).toMatch(/^\$\{[A-Z]\w+FunctionArn\}$/);
  });

  it('is valid ASL with real ARNs substituted', () => {
    const arns = Object.fromEntries(
      Object.entries(releaseFunctions).map(([key, folder]) => [
        key,
        `arn:aws:lambda:us-east-1:123456789012:function:switchyard-${folder}`,
      ]),
    );
    expect(validate(JSON.parse(substitute(text, arns)), { checkPaths: true, checkArn: true }).errors).toEqual(
      [],
    );
  });

  it('uses exactly the placeholders the loading code provides', () => {
    expect(placeholdersIn(text).sort()).toEqual(Object.keys(releaseFunctions).sort());
  });

  it('names a function folder with a handler for every placeholder and event function', () => {
    for (const folder of [...Object.values(releaseFunctions), ...eventFunctions]) {
      expect(existsSync(new URL(`../../functions/${folder}/handler.ts`, import.meta.url)), folder).toBe(true);
    }
  });

  it('gives every Task a timeout, the standard Lambda retry block, and a retry of a crashed or timed-out invocation', () => {
    for (const { name, state } of tasks) {
      // Only a bake's length comes from the plan; the Choice before it enters only when it is > 0.
      if (name === 'Bake') expect(state.TimeoutSecondsPath).toBe('$.traffic.bakeSeconds');
      // A freeze hold lasts until its window ends (ShiftTraffic computes the seconds).
      else if (name === 'FrozenWatch') expect(state.TimeoutSecondsPath).toBe('$.traffic.watch.bakeSeconds');
      else if (name === 'WaitForApproval') expect(state.TimeoutSecondsPath).toBe('$.plan.approvalSeconds');
      // Each hook has its own timeout (hooks[].timeoutSeconds, 60 s to 12 h).
      else if (/^WaitFor(PreDeploy|PreTraffic|PostTraffic)Hook$/.test(name))
        expect(state.TimeoutSecondsPath).toBe('$.hook.timeoutSeconds');
      // A Lambda hook invokes the user's function: its timeout is the hook's, and a crash or timeout
      // of that function is the hook failing, not retried (see the Lambda hook test below).
      else if (/^Invoke(PreDeploy|PreTraffic|PostTraffic)(Hook|Migration)$/.test(name)) {
        expect(state.TimeoutSecondsPath).toBe('$.hook.timeoutSeconds');
        continue;
      } else expect(state.TimeoutSeconds, name).toBeGreaterThan(0);
      const retried = (state.Retry ?? []).flatMap((r) => r.ErrorEquals);
      // Lambda.Unknown (a crash or a function timeout) is retried: every step is idempotent.
      expect(retried, name).toEqual(
        expect.arrayContaining([...lambdaRetry, 'Lambda.Unknown', 'TransientError']),
      );
    }
  });

  it("outlasts each function's own timeout, so a hung invocation is retried as Lambda.Unknown", () => {
    for (const { name, state } of tasks) {
      // A Lambda hook's function is the user's, bounded by the hook's own timeout.
      if (state.Resource === 'arn:aws:states:::lambda:invoke') continue;
      const placeholder = (state.Parameters?.FunctionName ?? state.Resource ?? '').match(
        /^\$\{(\w+)\}$/,
      )?.[1];
      const folder = releaseFunctions[placeholder as keyof typeof releaseFunctions];
      expect(folder, name).toBeDefined();
      if (state.TimeoutSeconds !== undefined) {
        expect(state.TimeoutSeconds, name).toBeGreaterThan(functionTimeoutSeconds(folder));
      }
    }
  });

  it('catches every failure of every Task (or of its enclosing Parallel) and keeps the error', () => {
    for (const { name, state, parent } of tasks) {
      // A branch state's own catches first (a timeout named), then its Parallel's.
      const catches = [...(state.Catch ?? []), ...(parent?.Catch ?? [])];
      const all = catches.find((c) => c.ErrorEquals.includes('States.ALL'));
      expect(all, name).toBeDefined();
      expect(all?.ResultPath, name).toMatch(/^\$\.\w+$/);
    }
  });

  it('does not call a release Promoted when scale-down finds the old colour live again, an alarm firing or a rollback requested', () => {
    const catches = (
      definition.States.ScaleDownOldColour as { Catch: { ErrorEquals: string[]; Next: string }[] }
    ).Catch;
    expect(catches[0]).toMatchObject({
      ErrorEquals: ['TrafficSplit', 'AlarmTriggered', 'RollbackRequested'],
      Next: 'RollBackOrHold',
    });
    expect(catches.at(-1)).toMatchObject({ ErrorEquals: ['States.ALL'], Next: 'MarkPromoted' });
  });

  it('after traffic moved, a failure puts it back unless a breaking migration ran: then it holds', () => {
    const choice = definition.States.RollBackOrHold as unknown as { Choices: unknown[]; Default: string };
    expect(choice.Choices).toEqual([
      { Variable: '$.plan.holdOnFailure', BooleanEquals: true, Next: 'HoldTraffic' },
    ]);
    expect(choice.Default).toBe('RollBackTraffic');
    expect((definition.States.HoldTraffic as { Next: string }).Next).toBe('MarkRollbackFailed');
    // Nothing reaches RollBackTraffic except through the choice.
    const into = allStates(definition.States).filter(
      ({ name, state }) =>
        name !== 'RollBackOrHold' &&
        (state.Next === 'RollBackTraffic' || (state.Catch ?? []).some((c) => c.Next === 'RollBackTraffic')),
    );
    expect(into.map((s) => s.name)).toEqual([]);
  });

  it('runs preTraffic hooks after the approval and before any weight moves; a failed one aborts', () => {
    const pre = definition.States.PreTrafficHooks as State & { MaxConcurrency: number; Next: string };
    expect(pre.MaxConcurrency).toBe(1);
    expect(pre.Next).toBe('HasTestTrafficAnalysis');
    expect(pre.Catch?.map((c) => [c.ErrorEquals, c.Next])).toEqual([
      [['States.ALL'], 'CleanUpInactiveColour'],
    ]);
    // After the approval, a promoted release checks its gate again (an approval may wait for days),
    // then its hooks; a gate that closed meanwhile aborts before anything ran against the new version.
    expect((definition.States.WaitForApproval as { Next: string }).Next).toBe('IsPromotion');
    expect((definition.States.NeedsApproval as unknown as { Default: string }).Default).toBe('IsPromotion');
    const recheck = definition.States.RecheckPromotionGate as State & { Next: string };
    expect(recheck.Next).toBe('HasPreTrafficHooks');
    expect(recheck.Catch?.map((c) => [c.ErrorEquals, c.Next])).toEqual([
      [['States.ALL'], 'CleanUpInactiveColour'],
    ]);
    expect((definition.States.IsPromotion as unknown as { Default: string }).Default).toBe(
      'HasPreTrafficHooks',
    );
    const analyse = definition.States.AnalyseBake as State & { Next: string };
    expect(analyse.Next).toBe('NextStep');
    // inconclusive: extend — judged again each minute, up to 10 minutes, then it fails.
    // AnalyseBake gives up (a clear AnalysisFailed) at EXTEND_SECONDS: the Retry must last as long.
    expect(analyse.Retry).toContainEqual({
      ErrorEquals: ['AnalysisInconclusive'],
      IntervalSeconds: 60,
      MaxAttempts: EXTEND_SECONDS / 60,
      BackoffRate: 1,
    });
    expect(analyse.Catch?.map((c) => [c.ErrorEquals, c.Next])).toEqual([[['States.ALL'], 'RollBackOrHold']]);
    // Test traffic (the hooks' load tests included) is judged after the hooks, before any weight
    // moves, once CloudWatch has its last minutes; a failure aborts as a failed hook does.
    expect((definition.States.HasPreTrafficHooks as unknown as { Default: string }).Default).toBe(
      'HasTestTrafficAnalysis',
    );
    expect(definition.States.HasTestTrafficAnalysis).toMatchObject({
      Choices: [{ Variable: '$.plan.testTrafficChecks[0]', IsPresent: true, Next: 'SettleTestTraffic' }],
      Default: 'BeginShifting',
    });
    expect(definition.States.SettleTestTraffic).toMatchObject({
      Type: 'Wait',
      Seconds: SETTLE_SECONDS,
      Next: 'AnalyseTestTraffic',
    });
    const test = definition.States.AnalyseTestTraffic as State & { Next: string };
    expect(test.Next).toBe('BeginShifting');
    expect(test.Retry).toContainEqual({
      ErrorEquals: ['AnalysisInconclusive'],
      IntervalSeconds: 60,
      MaxAttempts: EXTEND_SECONDS / 60,
      BackoffRate: 1,
    });
    expect(test.Catch?.map((c) => [c.ErrorEquals, c.Next])).toEqual([
      [['States.ALL'], 'CleanUpInactiveColour'],
    ]);
    const post = definition.States.PostTrafficHooks as State & { Next: string };
    expect(post.Next).toBe('ScaleDownOldColour');
    expect(post.Catch?.map((c) => [c.ErrorEquals, c.Next])).toEqual([[['States.ALL'], 'RollBackOrHold']]);
  });

  it('a Lambda hook is invoked by the state machine itself, bounded by its timeout, and every failure goes to its record', () => {
    for (const point of ['PreDeploy', 'PreTraffic', 'PostTraffic']) {
      const map = definition.States[`${point}Hooks`] as State & {
        ItemProcessor: { StartAt: string; States: Record<string, State & Record<string, unknown>> };
      };
      const states = map.ItemProcessor.States;
      expect(map.ItemProcessor.StartAt).toBe(`Is${point}LambdaHook`);
      expect(states[`Is${point}LambdaHook`]).toMatchObject({
        Choices: [{ Variable: '$.hook.kind', IsPresent: true, Next: `Start${point}LambdaHook` }],
        Default: `Run${point}Hook`,
      });
      const invoke = states[`Invoke${point}Hook`] as State & Record<string, unknown>;
      expect(invoke).toMatchObject({
        Resource: 'arn:aws:states:::lambda:invoke',
        TimeoutSecondsPath: '$.hook.timeoutSeconds',
        Parameters: { 'FunctionName.$': '$.hook.functionName' },
        Next: `Record${point}LambdaHook`,
      });
      // Lambda's own transient errors are retried; the function's errors (Lambda.Unknown, its own
      // errorType) and the timeout are the hook failing: judged by the record, never retried.
      const retried = (invoke.Retry ?? []).flatMap((r) => r.ErrorEquals);
      expect(retried).not.toContain('Lambda.Unknown');
      expect(retried).not.toContain('States.ALL');
      expect(invoke.Catch?.map((c) => [c.ErrorEquals, c.Next])).toEqual([
        [['States.ALL'], `Record${point}LambdaHook`],
      ]);
      expect(states[`Record${point}LambdaHook`]).toMatchObject({
        Resource: ['$', '{RecordLambdaHookFunctionArn}'].join(''),
      });
    }
  });

  it('matches only error names the functions export', () => {
    const custom = allStates(definition.States)
      .flatMap(({ state }) => [...(state.Retry ?? []), ...(state.Catch ?? [])])
      .flatMap((r) => r.ErrorEquals)
      .filter((name) => !builtIn(name));
    expect(custom.length).toBeGreaterThan(0);
    for (const name of custom) expect(errorNames, name).toContain(name);
  });

  it('waits only through task tokens with hard timeouts, never a polling loop', () => {
    const waits = tasks.filter((t) => t.state.Resource === 'arn:aws:states:::lambda:invoke.waitForTaskToken');
    expect(waits.map((w) => w.name).sort()).toEqual([
      'AcquireLock',
      'Bake',
      'FrozenWatch',
      'WaitForApproval',
      'WaitForMemberStable',
      'WaitForNewMemberStable',
      'WaitForNewMemberStopped',
      'WaitForNewSingletonDrained',
      'WaitForOldMemberDrained',
      'WaitForOldMemberStable',
      'WaitForOldSingletonStable',
      'WaitForOldSingletonStopped',
      'WaitForPostTrafficHook',
      'WaitForPreDeployHook',
      'WaitForPreTrafficHook',
      'WaitForServiceStable',
      'WaitForSnapshot',
      'WaitForSnapshotBeforeHooks',
    ]);
    for (const { name, state } of waits) {
      if (state.TimeoutSecondsPath) continue;
      expect(state.TimeoutSeconds, name).toBeLessThanOrEqual(86_400);
    }
  });

  it('ends a bake well only by its timeout, and rolls back on anything else', () => {
    const bake = definition.States.Bake;
    expect(bake?.Catch?.map((c) => [c.ErrorEquals, c.Next])).toEqual([
      // The timeout goes on to the next step, through the bake's analysis where there is one.
      [['States.Timeout'], 'HasAnalysis'],
      [['States.ALL'], 'RollBackOrHold'],
    ]);
    expect((definition.States.HasAnalysis as unknown as { Default: string }).Default).toBe('NextStep');
    const enter = definition.States.AfterSetWeight?.Choices;
    expect(enter).toContainEqual({
      Variable: '$.traffic.bakeSeconds',
      NumericGreaterThan: 0,
      Next: 'Bake',
    });
  });

  it('keeps watching a step held by a freeze window while traffic is split: the hold ends well only when the window ends', () => {
    const hold = definition.States.FrozenWatch;
    expect(hold?.Catch?.map((c) => [c.ErrorEquals, c.Next])).toEqual([
      [['States.Timeout'], 'ShiftTraffic'],
      [['States.ALL'], 'RollBackOrHold'],
    ]);
    const choices = definition.States.AfterSetWeight?.Choices ?? [];
    // Checked before the plain FreezeWait, which is only for a hold with no traffic on the new colour.
    expect(choices[0]).toMatchObject({ Next: 'FrozenWatch' });
    expect(JSON.stringify(choices[0])).toContain('$.traffic.watch');
  });

  it('bounds every execution with a top-level timeout longer than the longest legitimate release', () => {
    const top = JSON.parse(text) as { TimeoutSeconds?: number };
    // A day queued for the lock, a week waiting for approval (the longest approval.timeoutMinutes),
    // and room for freeze windows and bakes: still bounded, so nothing waits for ever.
    const longest = 24 * 3600 + 7 * 24 * 3600;
    expect(top.TimeoutSeconds).toBeGreaterThan(longest);
    expect(top.TimeoutSeconds).toBeLessThanOrEqual(30 * 24 * 3600);
  });

  it('ends routine outcomes as succeeded executions, and only a failed rollback as a failed one', () => {
    const ends = allStates(definition.States).filter((s) => ['Succeed', 'Fail'].includes(s.state.Type));
    expect(Object.fromEntries(ends.map((s) => [s.name, s.state.Type]))).toEqual({
      Released: 'Succeed',
      ReleaseAborted: 'Succeed',
      ReleaseRolledBack: 'Succeed',
      ReleaseSuperseded: 'Succeed',
      ReleaseRollbackFailed: 'Fail',
      // Inside the Parallel: they fail Prepare with the wait named, and Prepare's Catch cleans up.
      SnapshotTimedOut: 'Fail',
      SnapshotBeforeHooksTimedOut: 'Fail',
      ServiceStableTimedOut: 'Fail',
      // Inside the group's Maps: they fail the Map with the wait named, and its Catch (or its
      // Parallel's) takes the release to clean-up, rollback or RollbackFailed. A member that
      // changes over without a drain ends its iteration well.
      MemberStableTimedOut: 'Fail',
      CutOverDone: 'Succeed',
      OldMemberDrainTimedOut: 'Fail',
      NewMemberStableTimedOut: 'Fail',
      NewMemberStopTimedOut: 'Fail',
    });
  });

  it('names the wait and its limit when one times out (States.Timeout alone says neither)', () => {
    const timeoutCatch = (state: { Catch?: { ErrorEquals: string[]; Next?: string }[] } | undefined) =>
      state?.Catch?.find((c) => c.ErrorEquals.includes('States.Timeout'))?.Next;
    expect(timeoutCatch(definition.States.AcquireLock)).toBe('LockWaitTimedOut');
    expect(timeoutCatch(definition.States.WaitForApproval)).toBe('ApprovalTimedOut');
    const [snapshot, deploy] = definition.States.Prepare?.Branches ?? [];
    expect(timeoutCatch(snapshot?.States.WaitForSnapshot)).toBe('SnapshotTimedOut');
    expect(timeoutCatch(deploy?.States.WaitForServiceStable)).toBe('ServiceStableTimedOut');
    expect(deploy?.States.ServiceStableTimedOut).toMatchObject({
      Error: 'States.Timeout',
      Cause: 'WaitForServiceStable: the ECS deployment did not complete within 1800 s',
    });
  });

  it('runs the snapshot and the deployment in one Parallel', () => {
    const prepare = definition.States.Prepare;
    const branchStates = prepare?.Branches?.map((b) => Object.keys(b.States));
    expect(branchStates).toEqual([
      [
        'HasDatabase',
        'NoDatabase',
        'BackupDatabase',
        'WaitForSnapshot',
        'SnapshotTimedOut',
        'BackedUpBeforeHooks',
      ],
      [
        'DeployInactiveColour',
        'IsDeployed',
        'WaitForRegistrationTurn',
        'WaitForServiceStable',
        'ServiceStableTimedOut',
      ],
      ['HasGroup', 'NoGroup', 'DeployGroup'],
    ]);
  });

  it("waits for the release's turn to register before Validate reads anything, in a Wait state", () => {
    expect(definition.States.Validate?.Next).toBe('IsPlanned');
    expect(definition.States.IsPlanned).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.plan.waitUntil', IsPresent: true, Next: 'WaitForReleaseTurn' }],
      Default: 'HasPreDeployHooks',
    });
    expect(definition.States.WaitForReleaseTurn).toMatchObject({
      Type: 'Wait',
      TimestampPath: '$.plan.waitUntil',
      Next: 'Validate',
    });
  });

  it('waits for the turn to register in a Wait state, then deploys again', () => {
    const deploy = definition.States.Prepare?.Branches?.[1]?.States ?? {};
    expect(deploy.DeployInactiveColour?.Next).toBe('IsDeployed');
    expect(deploy.IsDeployed).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.deployment.waitUntil', IsPresent: true, Next: 'WaitForRegistrationTurn' }],
      Default: 'WaitForServiceStable',
    });
    expect(deploy.WaitForRegistrationTurn).toMatchObject({
      Type: 'Wait',
      TimestampPath: '$.deployment.waitUntil',
      Next: 'DeployInactiveColour',
    });
  });

  it("invokes a migration's function once (only Lambda's throttling is retried), and its claim covers those retries", () => {
    const invokes = tasks.filter(({ name }) => /^Invoke\w+(Hook|Migration)$/.test(name));
    expect(invokes.map(({ name }) => name)).toEqual([
      'InvokePreDeployHook',
      'InvokePreDeployMigration',
      'InvokePreTrafficHook',
      'InvokePreTrafficMigration',
      'InvokePostTrafficHook',
    ]);
    for (const { name, state } of invokes) {
      const retriers = (state.Retry ?? []) as {
        ErrorEquals: string[];
        MaxAttempts?: number;
        IntervalSeconds?: number;
        BackoffRate?: number;
      }[];
      // After a service or client error the function may have started and run on: a second
      // invocation of a migration would run it twice at once (found by review).
      if (name.endsWith('Migration'))
        expect(retriers.map((r) => r.ErrorEquals)).toEqual([['Lambda.TooManyRequestsException']]);
      // Every wait before Lambda tries again.
      const waits = retriers.flatMap((r) =>
        Array.from(
          { length: r.MaxAttempts ?? 3 },
          (_, k) => (r.IntervalSeconds ?? 1) * (r.BackoffRate ?? 2) ** k,
        ),
      );
      expect(
        waits.reduce((a, b) => a + b, 0),
        name,
      ).toBe(126);
      expect(LAMBDA_HOOK_START_SECONDS).toBeGreaterThanOrEqual(126 + 60);
    }
    // Which one a hook takes: a migration's, by the Choice after StartLambdaHook.
    for (const point of ['PreDeploy', 'PreTraffic']) {
      const choice = allStates(definition.States).find((s) => s.name === `Is${point}LambdaMigration`)
        ?.state as unknown as {
        Choices: { Variable: string; IsPresent: boolean; Next: string }[];
        Default: string;
      };
      expect(choice.Choices).toEqual([
        { Variable: '$.hook.migration', IsPresent: true, Next: `Invoke${point}Migration` },
      ]);
      expect(choice.Default).toBe(`Invoke${point}Hook`);
    }
  });

  it('waits a minute at a time, for an hour, where an earlier migration could be running: before the snapshot and before each migration (task or Lambda)', () => {
    const waiting = tasks
      .filter(({ state }) => (state.Retry ?? []).some((r) => r.ErrorEquals.includes('EarlierHookRunning')))
      .map(({ name, state }) => [
        name,
        (state.Retry ?? []).find((r) => r.ErrorEquals.includes('EarlierHookRunning')),
      ]);
    const minuteForAnHour = {
      ErrorEquals: ['EarlierHookRunning'],
      IntervalSeconds: 60,
      MaxAttempts: 60,
      BackoffRate: 1,
    };
    // postTraffic hooks cannot be migrations (the config refuses them), so they never wait.
    expect(waiting).toEqual([
      ['Validate', minuteForAnHour],
      ['StartPreDeployLambdaHook', minuteForAnHour],
      ['RunPreDeployHook', minuteForAnHour],
      ['StartPreTrafficLambdaHook', minuteForAnHour],
      ['RunPreTrafficHook', minuteForAnHour],
    ]);
  });

  it('runs preDeploy hooks after the snapshot and the revision, before anything is deployed; a failed one aborts', () => {
    const S = definition.States as Record<string, State & Record<string, unknown>>;
    expect((S.Validate as unknown as { Next: string }).Next).toBe('IsPlanned');
    expect((S.IsPlanned as unknown as { Default: string }).Default).toBe('HasPreDeployHooks');
    expect(S.HasPreDeployHooks).toMatchObject({
      Choices: [{ Variable: '$.plan.hooks.preDeploy[0]', IsPresent: true, Next: 'PrepareForPreDeploy' }],
      Default: 'Prepare',
    });
    const before = S.PrepareForPreDeploy as unknown as State & { Next: string; ResultPath: string };
    expect(before.Branches?.map((b) => Object.keys(b.States))).toEqual([
      [
        'HasDatabaseBeforeHooks',
        'NoDatabaseBeforeHooks',
        'BackUpBeforeHooks',
        'WaitForSnapshotBeforeHooks',
        'SnapshotBeforeHooksTimedOut',
      ],
      ['RegisterRevision', 'IsRevisionRegistered', 'WaitForRevisionTurn', 'RevisionRegistered'],
    ]);
    // Its turn to register not yet due, RegisterRevision runs again after a Wait; the branch's
    // result is the revision alone, as before.
    const revision = before.Branches?.[1]?.States ?? {};
    expect(revision.IsRevisionRegistered).toMatchObject({
      Choices: [{ Variable: '$.revision.waitUntil', IsPresent: true, Next: 'WaitForRevisionTurn' }],
      Default: 'RevisionRegistered',
    });
    expect(revision.WaitForRevisionTurn).toMatchObject({
      TimestampPath: '$.revision.waitUntil',
      Next: 'RegisterRevision',
    });
    expect(revision.RevisionRegistered).toMatchObject({ Type: 'Pass', OutputPath: '$.revision', End: true });
    expect(before.Next).toBe('PreDeployHooks');
    expect(before.Catch?.map((c) => [c.ErrorEquals, c.Next])).toEqual([
      [['States.ALL'], 'CleanUpInactiveColour'],
    ]);
    const hooks = S.PreDeployHooks as unknown as State & {
      Next: string;
      ItemSelector: Record<string, string>;
    };
    // The hooks run the registered revision, one at a time, then the deploy.
    expect(hooks.ItemSelector['taskDefinitionArn.$']).toBe('$.preDeploy.revision.taskDefinitionArn');
    expect(hooks).toMatchObject({ ItemsPath: '$.plan.hooks.preDeploy', MaxConcurrency: 1, Next: 'Prepare' });
    expect(hooks.Catch?.map((c) => [c.ErrorEquals, c.Next])).toEqual([
      [['States.ALL'], 'CleanUpInactiveColour'],
    ]);
    // Prepare does not take a second snapshot for such a target.
    const hasDatabase = S.Prepare?.Branches?.[0]?.States.HasDatabase as unknown as { Choices: unknown[] };
    expect(hasDatabase.Choices[0]).toEqual({
      Variable: '$.plan.hooks.preDeploy[0]',
      IsPresent: true,
      Next: 'BackedUpBeforeHooks',
    });
  });

  it('runs a release group as Maps over its members: deploy, cut-over at 100%, scale-down, clean-up, rollback', () => {
    const map = (name: string) =>
      definition.States[name] as State & {
        ItemsPath: string;
        Next: string;
        ItemProcessor: { States: Record<string, State> };
      };
    const deploy = (definition.States.Prepare?.Branches?.[2]?.States.DeployGroup ?? {}) as State & {
      ItemsPath?: string;
    };
    expect(deploy.ItemsPath).toBe('$.plan.members');
    // The cut-over comes after the last SetWeight and before its bake; a failure rolls the group back.
    const cutover = map('CutOverGroup');
    expect(cutover.ItemsPath).toBe('$.plan.cutovers');
    expect(cutover.Next).toBe('AfterSetWeight');
    expect(cutover.Catch?.map((c) => [c.ErrorEquals, c.Next])).toEqual([[['States.ALL'], 'RollBackOrHold']]);
    // A singleton's old colour drains before its new one starts.
    expect(Object.keys(cutover.ItemProcessor.States)).toEqual([
      'StopOldMember',
      'IsSingleton',
      'CutOverDone',
      'AwaitSingletonCutOver',
      'StartNewMember',
      'WaitForNewMemberStable',
      'NewMemberStableTimedOut',
    ]);
    // Both conditions are awaited at once (they are independent), each wait with its own timeout; the
    // new colour starts only once both hold, and the iteration keeps its member (ResultPath null).
    const awaitBoth = cutover.ItemProcessor.States.AwaitSingletonCutOver as Omit<State, 'Branches'> & {
      Branches: { StartAt: string; States: Record<string, State> }[];
      ResultPath: null;
      Next: string;
    };
    expect(awaitBoth.Type).toBe('Parallel');
    expect(awaitBoth.Branches.map((b) => [b.StartAt, ...Object.keys(b.States)])).toEqual([
      ['WaitForOldMemberDrained', 'WaitForOldMemberDrained', 'OldMemberDrainTimedOut'],
      ['WaitForNewMemberStopped', 'WaitForNewMemberStopped', 'NewMemberStopTimedOut'],
    ]);
    expect(awaitBoth.ResultPath).toBeNull();
    expect(awaitBoth.Next).toBe('StartNewMember');
    // AfterSetWeight enters the cut-over only while $.cutover is absent: the Map must set it.
    expect((cutover as { ResultPath?: string }).ResultPath).toBe('$.cutover');
    expect((definition.States.RollBackTraffic as { Next: string }).Next).toBe('HasGroupToRollBack');
    // Going back, a member that fails is caught in its own iteration: the others still go back.
    const back = map('RollBackGroup');
    expect(back.Next).toBe('CountGroupRolledBack');
    for (const [name, state] of Object.entries(back.ItemProcessor.States).filter(
      ([, s]) => s.Type === 'Task',
    ))
      expect(
        state.Catch?.map((c) => [c.ErrorEquals, c.Next]),
        name,
      ).toEqual([[['States.ALL'], 'MemberRollbackFailed']]);
    expect(back.Catch?.[0]?.Next).toBe('MarkRollbackFailed');
    // Each iteration gets the member, not the whole plan (the state stays small: 256 KiB is AWS's limit).
    for (const name of ['CutOverGroup', 'ScaleDownGroup', 'CleanUpGroup', 'RollBackGroup'])
      expect(
        Object.keys((definition.States[name] as unknown as { ItemSelector: object }).ItemSelector),
        name,
      ).toEqual(['releaseId.$', 'target.$', 'member.$']);
    expect(map('ScaleDownGroup').Next).toBe('MarkPromoted');
    expect(map('CleanUpGroup').Next).toBe('MarkAborted');
  });
});
