/**
 * `switchyard`: start releases and rollbacks, see status and history. Against AWS by default
 * (standard credential chain and region; the stack's outputs as environment variables), or with
 * `--local` against the local runtime, whose simulated account is kept in a state directory.
 *
 * Exit codes: 0 done as asked; 1 it ran and ended otherwise (e.g. Aborted); 2 refused (unknown
 * target, bad arguments, nothing to roll back, lock held); 3 an unexpected error.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { controlCharacterProblem } from '../functions/shared/identity.ts';
import { type DemoFault, FAULTS, parseFault, parseIsoTime } from '../local/own-service.ts';
import { awsBackend, type Backend, localBackend } from './backend.ts';
import {
  actingAs,
  decideRelease,
  history,
  release,
  rollback,
  status,
  strategyFor,
  target,
} from './commands.ts';
import { describeRelease } from './describe.ts';
import { planRelease } from './plan.ts';
import { type CommandResult, UsageError } from './results.ts';

const defaultTargets =
  process.env.SWITCHYARD_TARGETS_FILE ?? fileURLToPath(new URL('../local/targets.json', import.meta.url));

interface Globals {
  local?: boolean;
  at?: Date;
  state: string;
  targets: string;
  json?: boolean;
  as: string;
}

/** Text that goes into emails, Slack and the audit trail: refused if it carries control characters. */
const oneLine = (option: string) => (value: string) => {
  const problem = controlCharacterProblem(option, value);
  if (problem) throw new InvalidArgumentError(problem);
  return value;
};

const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command('switchyard')
  .description('Release orchestrator for ECS blue/green services: releases, rollbacks, status and history.')
  .version(version, '--version', 'print the version of switchyard')
  .option('--local', 'use the local runtime (a simulated AWS account) instead of AWS')
  .option(
    '--state <dir>',
    'with --local: where the simulated account is kept between commands',
    '.switchyard/local',
  )
  .option('--targets <file>', 'targets config (env SWITCHYARD_TARGETS_FILE)', defaultTargets)
  .option('--json', 'print one JSON document on stdout (progress goes to stderr)')
  .option(
    '--at <time>',
    "with --local: move the simulated account's clock forward to this time first (ISO 8601), e.g. into a freeze window",
    parseIsoTime,
  )
  .option(
    '--as <name>',
    'who is asking, recorded in the audit trail',
    oneLine('--as'),
    process.env.USER ?? 'unknown',
  )
  .showHelpAfterError()
  // Commander exits 1 on a bad option or argument; the README promises 2 for every refusal.
  .exitOverride()
  .addHelpText(
    'after',
    `
AWS: set SWITCHYARD_RELEASE_STATE_MACHINE_ARN, SWITCHYARD_ROLLBACK_STATE_MACHINE_ARN,
SWITCHYARD_LOCKS_TABLE, SWITCHYARD_RELEASES_TABLE, SWITCHYARD_WAITS_TABLE and
SWITCHYARD_APPROVALS_TABLE from the stack's outputs.
Locally, commands run in virtual time until the world is quiet, so they always wait. A local
release that needs approval waits (in real time, up to SWITCHYARD_LOCAL_APPROVAL_WAIT_SECONDS,
default 1800) for its link to be used or for \`switchyard --local approve\` in another terminal.

Exit codes: 0 done as asked, 1 ended otherwise, 2 refused, 3 unexpected error.

Examples:
  switchyard --local release --target checkout-api --tag v2
  switchyard --local rollback --target checkout-api --reason "5xx spike"
  switchyard --local release --target orders-api --tag v2      # waits for approval
  switchyard --local approve --release orders-api-<digest> --as bob@example.com
  switchyard --local status
  switchyard history --target checkout-api --limit 5 --json`,
  );

const positive = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100) throw new InvalidArgumentError('must be an integer 1-100');
  return n;
};

let result: CommandResult | undefined;
const run =
  (action: (backend: Backend, globals: Globals, say: (text: string) => void) => Promise<CommandResult>) =>
  async () => {
    const globals = program.opts<Globals>();
    // With --json, stdout carries only the document.
    const say = (text: string) => (globals.json ? process.stderr : process.stdout).write(`${text}\n`);
    const backend = globals.local
      ? await localBackend(globals.targets, globals.state, say, { at: globals.at })
      : awsBackend(globals.targets);
    try {
      result = await action(backend, globals, say);
    } finally {
      await backend.close();
    }
  };

program
  .command('release')
  .description("release an image tag to a target (blue/green, with the target's or the given strategy)")
  .requiredOption('--target <name>', 'target name from the targets config')
  .option('--tag <tag>', "image tag in the target's ECR repository", oneLine('--tag'))
  .option(
    '--task-definition <file>',
    'deploy this task definition (register-task-definition JSON: environment, secrets, CPU/memory, sidecars) instead of a copy of the live one; with --tag its image too, else the live image',
  )
  .addOption(
    new Option('--strategy <strategy>', 'override the traffic strategy for this release').choices([
      'all-at-once',
      'canary',
      'linear',
    ]),
  )
  .option(
    '--break-glass <reason>',
    'move traffic even inside a freeze window; the reason is recorded',
    oneLine('--break-glass'),
  )
  .option('--wait', 'follow the release until it ends (always, with --local)')
  .option(
    '--fault <kind>',
    `with --local: the released image misbehaves in the simulated account (${Object.keys(FAULTS).join(', ')})`,
    parseFault,
  )
  .action(
    async (options: {
      target: string;
      tag?: string;
      taskDefinition?: string;
      strategy?: string;
      breakGlass?: string;
      wait?: boolean;
      fault?: DemoFault;
    }) => {
      if (!options.tag && !options.taskDefinition) {
        throw new UsageError(
          "required option '--tag <tag>' not specified (or --task-definition <file>, to change the task definition and keep the live image)",
        );
      }
      if (options.fault && !program.opts<Globals>().local) {
        throw new UsageError('--fault simulates a failure in the local runtime: use it with --local');
      }
      return run(async (backend, g, say) =>
        release(backend, { line: say }, { ...options, by: await actingAs(backend, g.as) }),
      )();
    },
  );

program
  .command('rollback')
  .description('put the previous version of a target back (one weight change while the old colour is warm)')
  .requiredOption('--target <name>', 'target name from the targets config')
  .requiredOption(
    '--reason <text>',
    'why, recorded in the audit trail and the notification',
    oneLine('--reason'),
  )
  .addOption(
    new Option('--if-running <what>', 'a release holds the target: stop it, or wait for it to end')
      .choices(['abort', 'wait'])
      .default('abort'),
  )
  .option('--wait', 'follow the rollback until it ends (always, with --local)')
  .option(
    '--force',
    'roll back past a breaking migration, once you have restored the database from the release snapshot',
  )
  .action(
    async (options: {
      target: string;
      reason: string;
      ifRunning: 'abort' | 'wait';
      wait?: boolean;
      force?: boolean;
    }) =>
      run(async (backend, g, say) =>
        rollback(backend, { line: say }, { ...options, by: await actingAs(backend, g.as) }),
      )(),
  );

program
  .command('status')
  .description('live colour, weights, tasks, lock and last release of each target (or one)')
  .option('--target <name>', 'only this target')
  .action(async (options: { target?: string }) =>
    run((backend, _g, say) => status(backend, { line: say }, options))(),
  );

program
  .command('history')
  .description("a target's releases and rollbacks, newest first")
  .requiredOption('--target <name>', 'target name from the targets config')
  .option('--limit <n>', 'how many', positive, 20)
  .action(async (options: { target: string; limit: number }) =>
    run((backend, _g, say) => history(backend, { line: say }, options))(),
  );

program
  .command('plan')
  .description(
    'what a release would do, in order, without doing any of it: steps with times, new tasks, snapshot, approvers, freeze windows, and the checks that would stop it now (exit 1 if any)',
  )
  .requiredOption('--target <name>', 'target name from the targets config')
  .requiredOption('--tag <tag>', 'image tag it would release')
  .addOption(
    new Option('--strategy <name>', 'override the target strategy').choices([
      'all-at-once',
      'canary',
      'linear',
    ]),
  )
  .option(
    '--at <time>',
    'plan as if starting at this time (ISO 8601, e.g. 2026-12-04T16:59:00Z)',
    parseIsoTime,
  )
  .action(async (options: { target: string; tag: string; strategy?: string; at?: Date }) =>
    run((backend, globals, say) => {
      const t = target(backend, options.target);
      return planRelease(
        backend,
        { line: say },
        {
          target: t,
          tag: options.tag,
          strategy: strategyFor(t, options.strategy) ?? t.traffic.strategy,
          by: globals.as,
          at: options.at,
        },
      );
    })(),
  );

program
  .command('dashboard')
  .description(
    'a web page on localhost: each target live colour, weights and versions, releases as timelines, history, and approvals waiting (decided as you)',
  )
  .option('--port <n>', 'port on 127.0.0.1 (default: any free one)', (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 65535)
      throw new InvalidArgumentError('must be a port number 0-65535');
    return n;
  })
  .action(async (options: { port?: number }) => {
    const globals = program.opts<Globals>();
    const say = (text: string) => process.stderr.write(`${text}\n`);
    const { dashboardSource } = await import('./dashboard-source.ts');
    const { startDashboard } = await import('./dashboard.ts');
    const source = await dashboardSource(globals, say);
    const { url } = await startDashboard(source, {
      port: options.port,
      title: globals.local ? 'Switchyard (local)' : 'Switchyard',
    });
    process.stdout.write(`${url}\n`);
    say(`dashboard on ${url} (Ctrl-C to stop)`);
    await new Promise(() => {});
  });

program
  .command('describe')
  .description(
    "one release's (or rollback's) whole record: phases with times, health against its limits, the approval, what was sent, the snapshot and the rollback plan",
  )
  .requiredOption('--release <id>', 'release id (switchyard history shows them)')
  .action(async (options: { release: string }) =>
    run((backend, _g, say) => describeRelease(backend, { line: say }, { releaseId: options.release }))(),
  );

for (const action of ['approve', 'reject'] as const) {
  program
    .command(action)
    .description(
      action === 'approve'
        ? 'approve a release waiting for approval, as your IAM identity (--as with --local): an approver of its target, not its requester'
        : 'reject a release waiting for approval: it ends Aborted and its new colour is cleaned up',
    )
    .requiredOption('--release <id>', 'release id (switchyard history shows them)')
    [action === 'reject' ? 'requiredOption' : 'option'](
      '--reason <text>',
      'why, recorded in the audit trail',
      oneLine('--reason'),
    )
    .action(async (options: { release: string; reason?: string }) => {
      const globals = program.opts<Globals>();
      const request = { releaseId: options.release, action, reason: options.reason, by: globals.as };
      if (globals.local) {
        // Locally the waiting release lives in the process running it: decide through its page.
        const { decideLocally } = await import('./local-approval.ts');
        const say = (text: string) => (globals.json ? process.stderr : process.stdout).write(`${text}\n`);
        result = await decideLocally(globals.state, { line: say }, request);
        return;
      }
      await run((backend, _g, say) => decideRelease(backend, { line: say }, request))();
    });
}

const main = async (): Promise<number> => {
  await program.parseAsync();
  if (!result) return 0;
  if (program.opts<Globals>().json) process.stdout.write(`${JSON.stringify(result.json)}\n`);
  return result.exitCode;
};

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    // Commander has already said what was wrong (and shown the usage); help and --version exit 0.
    const code =
      error instanceof CommanderError
        ? error.exitCode === 0
          ? 0
          : 2
        : error instanceof UsageError || ['InvalidInput', 'StateMismatch'].includes(error.name)
          ? 2
          : 3;
    if (!(error instanceof CommanderError)) process.stderr.write(`switchyard: ${error.message}\n`);
    // With --json, a refusal is a document too: what went wrong, and the exit code it ends with.
    if (code !== 0 && process.argv.includes('--json')) {
      const message = error.message.replace(/^error: /, '');
      const name = error instanceof CommanderError ? 'UsageError' : error.name;
      process.stdout.write(`${JSON.stringify({ error: { name, message, exitCode: code } })}\n`);
    }
    process.exit(code);
  },
);
