/**
 * Where the CLI's commands run: AWS (the standard credential chain, the deployed stack's state
 * machines and tables) or the local runtime (a simulated account kept in a state directory).
 * Commands see the same interface and the same AWS SDK clients either way.
 */

import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECRClient } from '@aws-sdk/client-ecr';
import { ECSClient } from '@aws-sdk/client-ecs';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type ApprovalStore, approvalStore } from '../functions/shared/approvals.ts';
import { loadTargetsFile, type TargetsFile } from '../functions/shared/config.ts';
import { createStore, type Store } from '../functions/shared/store.ts';
import type { DemoFault } from '../local/own-service.ts';
import { UsageError } from './results.ts';

export interface Clients {
  sfn: SFNClient;
  cloudwatch: CloudWatchClient;
  ecr: ECRClient;
  ecs: ECSClient;
  elbv2: ElasticLoadBalancingV2Client;
}

export interface Ended {
  status: string;
  error?: string;
  cause?: string;
}

export interface Backend {
  kind: 'aws' | 'local';
  targets: TargetsFile;
  clients: Clients;
  store: Store;
  approvals: ApprovalStore;
  releaseStateMachineArn: string;
  rollbackStateMachineArn: string;
  now(): Date;
  /**
   * Against AWS: who the caller is, as IAM says (STS GetCallerIdentity's ARN). Approvals are decided
   * as this identity, never as `--as`, so one terminal cannot act as two approvers.
   */
  callerArn?(): Promise<string>;
  /** Local only: makes `repository:tag` exist in the simulated ECR, as a `docker push` would. */
  pushImage?(repository: string, tag: string, fault?: DemoFault): void;
  /** Follows an execution until it ends, writing progress lines to `onLine`. */
  follow(executionArn: string, releaseId: string, onLine: (line: string) => void): Promise<Ended>;
  /** Saves what must outlive the command (local state) and releases resources. */
  close(): Promise<void>;
}

/** Names of the environment variables the AWS backend reads (the stack prints them as outputs). */
export const awsVariables = [
  'SWITCHYARD_RELEASE_STATE_MACHINE_ARN',
  'SWITCHYARD_ROLLBACK_STATE_MACHINE_ARN',
  'SWITCHYARD_LOCKS_TABLE',
  'SWITCHYARD_RELEASES_TABLE',
  'SWITCHYARD_WAITS_TABLE',
  'SWITCHYARD_APPROVALS_TABLE',
] as const;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export const awsBackend = (targetsFile: string, env = process.env): Backend => {
  const missing = awsVariables.filter((v) => !env[v]);
  if (missing.length > 0) {
    throw new UsageError(
      `set ${missing.join(', ')} (the Switchyard stack's outputs: npx cdk deploy prints them), or use --local`,
    );
  }
  const dynamo = new DynamoDBClient({});
  const doc = DynamoDBDocumentClient.from(dynamo, { marshallOptions: { removeUndefinedValues: true } });
  /** Asked once per command. */
  let caller: Promise<string> | undefined;
  const clients: Clients = {
    sfn: new SFNClient({}),
    cloudwatch: new CloudWatchClient({}),
    ecr: new ECRClient({}),
    ecs: new ECSClient({}),
    elbv2: new ElasticLoadBalancingV2Client({}),
  };
  return {
    kind: 'aws',
    targets: loadTargetsFile(targetsFile),
    clients,
    store: createStore(doc, {
      locks: env.SWITCHYARD_LOCKS_TABLE as string,
      releases: env.SWITCHYARD_RELEASES_TABLE as string,
      waits: env.SWITCHYARD_WAITS_TABLE as string,
      approvals: env.SWITCHYARD_APPROVALS_TABLE as string,
    }),
    approvals: approvalStore(doc, env.SWITCHYARD_APPROVALS_TABLE as string),
    releaseStateMachineArn: env.SWITCHYARD_RELEASE_STATE_MACHINE_ARN as string,
    rollbackStateMachineArn: env.SWITCHYARD_ROLLBACK_STATE_MACHINE_ARN as string,
    now: () => new Date(),
    callerArn() {
      caller ??= (async () => {
        // Loaded only here: the CLI's other commands never need STS.
        const { GetCallerIdentityCommand, STSClient } = await import('@aws-sdk/client-sts');
        const out = await new STSClient({}).send(new GetCallerIdentityCommand({}));
        if (!out.Arn) throw new Error('STS GetCallerIdentity returned no ARN');
        return out.Arn;
      })();
      return caller;
    },
    async follow(executionArn, releaseId, onLine) {
      const printed = new Set<string>();
      for (;;) {
        const record = await this.store.getRelease(releaseId);
        for (const phase of record?.phases ?? []) {
          const key = `${phase.name}@${phase.startedAt}`;
          if (printed.has(key)) continue;
          printed.add(key);
          onLine(`${phase.endedAt}  ${phase.name} ${phase.status}${phase.detail ? `: ${phase.detail}` : ''}`);
        }
        const out = await clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
        if (out.status !== 'RUNNING') {
          return { status: out.status ?? 'UNKNOWN', error: out.error, cause: out.cause };
        }
        await sleep(5000);
      }
    },
    async close() {
      for (const client of [...Object.values(clients), dynamo]) client.destroy();
    },
  };
};

/**
 * The local runtime with the account kept in `stateDir` between commands. Virtual time runs only
 * while a command runs, so every command runs the world until it is quiet before it saves.
 */
export const localBackend = async (
  targetsFile: string,
  stateDir: string,
  onLine: (line: string) => void,
  options: {
    /** Reads the saved account and never writes it back (the dashboard: another process may be saving). */
    readOnly?: boolean;
    /** Moves the account's clock forward to this time before the command (`--at`). */
    at?: Date;
  } = {},
): Promise<Backend> => {
  const { LocalRuntime } = await import('../local/runtime.ts');
  const { readState, restoreAccount, restoreTables, saveState } = await import('../local/persist.ts');
  const { buildWorld, serveTestListener } = await import('../local/world.ts');
  const { formatLine } = await import('../local/progress.ts');
  const { FAULTS, faultPlan } = await import('../local/own-service.ts');
  const saved = readState(stateDir, targetsFile, { view: options.readOnly });
  if (options.at && saved && options.at.getTime() < Date.parse(saved.now)) {
    throw new UsageError(
      `the local account in ${stateDir} is already at ${saved.now}: --at can only move its clock forward (or use another --state)`,
    );
  }
  const startTime = options.at ?? (saved ? new Date(saved.now) : undefined);
  let print = false;
  const runtime = await LocalRuntime.start(
    {
      targetsFile,
      ...(startTime ? { startTime } : {}),
      onProgress: (line) => {
        if (print) onLine(formatLine(line));
      },
    },
    async (rt) => {
      if (saved) {
        restoreAccount(rt, saved);
        await restoreTables(rt, saved);
      } else {
        for (const target of rt.targets.targets) buildWorld(rt.account, target, { liveTag: 'v1' });
      }
      for (const target of rt.targets.targets) await serveTestListener(rt.account, target);
    },
  );
  const { parkedForApproval, waitForApproval } = await import('./local-approval.ts');
  // A release waiting for approval waits for a person in real time, here, while this command runs.
  const approvalWaitMs = Number(process.env.SWITCHYARD_LOCAL_APPROVAL_WAIT_SECONDS ?? 1800) * 1000;
  const asked = new Set<string>();
  const runToEnd = async () => {
    for (;;) {
      let parked: string | undefined;
      await runtime.runUntil(
        () => {
          parked = parkedForApproval(runtime, asked);
          return parked !== undefined || (!runtime.sfn.anyRunning() && runtime.bus.inFlight === 0);
        },
        30 * 24 * 3600,
      );
      if (!parked) break;
      asked.add(parked);
      await waitForApproval(runtime, stateDir, parked, onLine, approvalWaitMs, () =>
        options.readOnly ? Promise.resolve() : saveState(runtime, stateDir, { view: true }),
      );
    }
    await runtime.settle();
  };
  const clients = await import('../functions/shared/clients.ts');
  // Calls into the simulated account take virtual time: each one runs the clock until it settles.
  const timed = <T extends object>(target: T): T => runtime.timed(target);
  return {
    kind: 'local',
    targets: runtime.targets,
    clients: {
      sfn: timed(clients.sfn),
      cloudwatch: timed(clients.cloudwatch),
      ecr: timed(clients.ecr),
      ecs: timed(clients.ecs),
      elbv2: timed(clients.elbv2),
    },
    store: timed(runtime.store),
    approvals: timed(approvalStore(clients.doc, runtime.tables.approvals)),
    releaseStateMachineArn: runtime.releaseStateMachineArn,
    rollbackStateMachineArn: runtime.rollbackStateMachineArn,
    now: () => new Date(),
    pushImage(repository, tag, fault) {
      // --fault: how this image misbehaves in the simulated account (local/own-service.ts).
      if (fault) {
        runtime.faults.arm(faultPlan(fault, tag));
        onLine(`local: ${repository}:${tag} ${FAULTS[fault].replace(/^v2 /, '')} (--fault ${fault})`);
      }
      const repo = runtime.account.ecr.repositories.get(repository);
      if (repo?.images.some((i) => i.tags.includes(tag))) return;
      runtime.account.ecr.push(repository, tag, { silent: true });
      onLine(`local: pushed ${repository}:${tag} to the simulated ECR`);
    },
    async follow(executionArn) {
      print = true;
      await runToEnd();
      print = false;
      const execution = runtime.sfn.executions.get(executionArn);
      return { status: execution?.status ?? 'UNKNOWN', error: execution?.error, cause: execution?.cause };
    },
    async close() {
      if (options.readOnly) {
        await runtime.dispose();
        return;
      }
      // Whatever was started runs to its end, then the account is saved for the next command.
      await runToEnd();
      // Timers do not survive the process: let tasks stop and targets drain before saving.
      await runtime.drainUntilQuiet();
      await saveState(runtime, stateDir);
      await runtime.dispose();
    },
  };
};
