/**
 * `npm run demo`: complete releases on the embedded default (simulated AWS account, virtual time),
 * with live progress. Exit code 0 when every scenario ended as it should.
 */
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { approvalsOf } from './approver.ts';
import { INIT_MS } from './execution-environments.ts';
import { type DemoFault, FAULTS, ownServiceScenario, parseFault, parseIsoTime } from './own-service.ts';
import { clock, formatLine } from './progress.ts';
import type { LocalRuntime, ProgressLine } from './runtime.ts';
import { runRelease, runScenario, type ScenarioName, type ScenarioSummary, scenarios } from './scenarios.ts';
import { FAST_TARGET_GROUPS } from './world.ts';

const defaultTargets = fileURLToPath(new URL('./targets.json', import.meta.url));

const printLine = (line: ProgressLine) => process.stdout.write(`${formatLine(line)}\n`);

const printSummary = (s: ScenarioSummary, expected: string) => {
  const ok = s.outcome === expected;
  const lines = [
    '',
    `${ok ? '✔' : '✘'} ${s.scenario}: ${s.outcome}${ok ? '' : ` (expected ${expected})`}  release ${s.releaseId}`,
    `  traffic        blue ${s.weights.blue}% / green ${s.weights.green}%  (live: ${s.activeColour})`,
    `  running tasks  blue ${s.tasks.blue}, green ${s.tasks.green}`,
    `  snapshot       ${s.snapshotId ?? 'none'}`,
    `  strategy       ${s.strategy}: ${s.trafficSteps.map((p) => `${p}%`).join(' → ') || 'no traffic moved'}`,
    `  new colour     took ${s.newColourSharePercent}% of requests from its first weight change to the end`,
    ...(s.alarms.length
      ? [`  alarms         ${s.alarms.map((a) => `${a.alarm} ${a.state} at +${a.atSeconds} s`).join(', ')}`]
      : []),
    ...(s.rollback
      ? [
          `  ops rollback   ${s.rollback.rollbackId}: ${s.rollback.outcome} (${s.rollback.path ?? '?'} path, of ${s.rollback.rollbackOf ?? 'nothing'}); the release ended ${s.releaseOutcome}`,
        ]
      : []),
    ...(s.timeToRollbackSeconds !== null
      ? [
          `  time to roll back  ${s.timeToRollbackSeconds} s from the ${s.rollback ? 'rollback command' : 'alarm'} to all weight back on the old colour`,
        ]
      : []),
    `  time           ${clock(s.virtualSeconds * 1000).slice(1)} simulated (h:mm:ss), ${s.wallMs} ms wall`,
    `  cost drivers   ${s.stateTransitions} state transitions, ${s.lambdaInvocations} Lambda invocations, ${s.warmUps} of them warm-ups (${s.coldStarts} cold starts, ${INIT_MS} ms init each, most in warm-ups, ahead of the steps)`,
    `  cost           $${s.costUsd.toFixed(5)} at published prices (Step Functions and Lambda, local/prices.ts), of which warm-ups $${s.warmUpCostUsd.toFixed(5)}`,
    `  AWS calls      ${Object.entries(s.awsCalls)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    ...(s.approval
      ? [
          `  approval       ${s.approval.link}`,
          s.approval.pageStatus === null
            ? '                 decided by a person in a browser'
            : `                 page GET ${s.approval.pageStatus}, decision POST ${s.approval.resultStatus} (the page's own form; the link lived only while this ran — --interactive lets you open it)`,
          ...(s.approval.evidence ?? []).map((line) => `                 email: ${line}`),
        ]
      : []),
    ...s.hooks.map((h, i) => `${i === 0 ? '  hooks          ' : '                 '}${h}`),
    ...s.group.map(
      (m, i) =>
        `${i === 0 ? '  group          ' : '                 '}${m.name} (${m.role}): live ${m.live}, tasks blue ${m.blue}, green ${m.green}${m.role === 'singleton' ? `; both colours at once: ${s.singletonOverlaps === 0 ? 'never' : `${s.singletonOverlaps} time(s)`}` : ''}`,
    ),
    ...(s.promotion
      ? [
          `  promoted from  ${s.promotion.from}: ${s.promotion.releaseId ?? 'no upstream release'}${s.promotion.soak ? `, soak ${s.promotion.soak}` : ''}${s.promotion.overridden ? `; gate OVERRIDDEN (${s.promotion.overridden})` : ''}`,
        ]
      : []),
    ...(s.error ? [`  reason         ${s.error.Error}: ${s.error.Cause}`] : []),
    `  notified       ${s.notifications.join(' | ') || 'nothing'}`,
    '  release record phases (from DynamoDB):',
    ...s.phases.map((p) => {
      const start = Date.parse(p.startedAt);
      const offset = clock(start - Date.parse(s.phases[0]?.startedAt ?? p.startedAt));
      const took = ((Date.parse(p.endedAt) - start) / 1000).toFixed(1).padStart(7);
      return `    ${offset}  ${p.name.padEnd(22)} ${took} s${p.detail ? `  ${p.detail}` : ''}`;
    }),
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
};

/** --interactive: the person at the keyboard opens the link and decides; the clock stands still meanwhile. */
const waitForPerson = async (link: string, runtime: LocalRuntime, releaseId: string) => {
  process.stdout.write(
    `\n  ▶ Open this approval link in a browser and press Approve or Reject (waiting up to 30 minutes):\n    ${link}\n\n`,
  );
  const decided = await runtime.waitForPeople(async () =>
    (await approvalsOf(runtime, releaseId)).some((a) => a.status !== 'PENDING'),
  );
  if (!decided)
    process.stdout.write(
      '  nobody decided within 30 minutes; the release now runs into its approval timeout\n',
    );
};

const program = new Command('demo')
  .description('Run complete Switchyard releases locally, against a simulated AWS account in virtual time.')
  .option(
    '-s, --scenario <name>',
    `run one scenario: ${Object.keys(scenarios).join(', ')} (default: all, one after another)`,
    (value: string) => {
      if (!(value in scenarios)) {
        throw new InvalidArgumentError(
          `unknown scenario "${value}"; known: ${Object.keys(scenarios).join(', ')}`,
        );
      }
      return value as ScenarioName;
    },
  )
  .option(
    '--json',
    'make the last line of output a JSON summary (an object for one scenario, an array for several)',
  )
  .option(
    '--targets <file>',
    'your own targets config: one release of its first target (or --target) instead of the scenarios',
    defaultTargets,
  )
  .option('--target <name>', 'with --targets (or the shipped file): the target to release')
  .option(
    '--fault <kind>',
    `with --target/--targets: a failure to watch (${Object.keys(FAULTS).join(', ')})`,
    parseFault,
  )
  .option(
    '--at <time>',
    'with --target/--targets: start the simulated world at this time (ISO 8601), e.g. inside a freeze window',
    parseIsoTime,
  )
  .option(
    '--seed <n>',
    'seed of the simulated account',
    (v) => {
      const n = Number(v);
      if (!Number.isInteger(n)) throw new InvalidArgumentError('seed must be an integer');
      return n;
    },
    1,
  )
  .option('--verbose', "also print the functions' JSON logs (Powertools, level INFO)")
  .option(
    '--interactive',
    'approval scenarios: print the approval link and wait for you to open it and decide (otherwise the demo posts the form itself)',
  )
  .option('--list', 'list the scenarios and exit')
  .addHelpText(
    'after',
    '\nExamples:\n  npm run demo\n  npm run demo -- --scenario bad-image\n  npm run demo -- --scenario approval --interactive\n  npm run demo -- --scenario happy --json | tail -n 1 | jq .outcome\n  npm run demo -- --targets my-targets.json --target my-api --fault error-rate\n  npm run demo -- --target billing-api --at 2026-01-09T15:59:00Z   # into a freeze window',
  );

const main = async () => {
  program.exitOverride();
  program.parse();
  const options = program.opts<{
    scenario?: ScenarioName;
    json?: boolean;
    targets: string;
    target?: string;
    fault?: DemoFault;
    at?: Date;
    seed: number;
    verbose?: boolean;
    list?: boolean;
    interactive?: boolean;
  }>();
  const runOptions = {
    targetsFile: options.targets,
    seed: options.seed,
    onProgress: printLine,
    logLevel: options.verbose ? 'INFO' : 'SILENT',
    // The demo's target groups are tuned for fast deployments, as a user could tune theirs.
    targetGroup: FAST_TARGET_GROUPS,
    ...(options.interactive ? { interactive: waitForPerson } : {}),
  };
  const own = options.target !== undefined || options.targets !== defaultTargets;
  if (own && options.scenario)
    throw new Error('--scenario runs the shipped scenarios; with --targets or --target, leave it out');
  if (!own && (options.fault || options.at))
    throw new Error('--fault and --at go with --targets <file> or --target <name>');
  if (own) {
    const { scenario, target, note } = ownServiceScenario(
      options.targets,
      options.target,
      options.fault,
      options.at,
    );
    process.stdout.write(`\n── ${target.name}: ${scenario.description}\n`);
    const summary = await runRelease(target.name, scenario, runOptions);
    printSummary(summary, scenario.expect);
    if (note) process.stdout.write(`  note           ${note}\n`);
    if (options.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    return summary.outcome === scenario.expect ? 0 : 1;
  }
  if (options.list) {
    for (const [name, s] of Object.entries(scenarios))
      process.stdout.write(`${name.padEnd(12)} ${s.description}\n`);
    return 0;
  }
  const names = options.scenario ? [options.scenario] : (Object.keys(scenarios) as ScenarioName[]);
  const summaries: ScenarioSummary[] = [];
  let failed = 0;
  for (const name of names) {
    process.stdout.write(`\n── ${name}: ${scenarios[name].description}\n`);
    const summary = await runScenario(name, runOptions);
    printSummary(summary, scenarios[name].expect);
    if (summary.outcome !== scenarios[name].expect) failed++;
    summaries.push(summary);
  }
  if (options.json) process.stdout.write(`${JSON.stringify(options.scenario ? summaries[0] : summaries)}\n`);
  else if (!options.scenario) {
    // After the whole tour: where a new user goes next (README, "Try it with your own service").
    process.stdout.write(
      [
        `${names.length - failed}/${names.length} scenarios ended as they should.`,
        'Next: your own service, a failure of your choosing, and the operator view:',
        '  npm run demo -- --targets my-targets.json --target my-api --fault error-rate',
        '  npm run demo -- --targets examples/reconciliation.json --fault hook-fails   # a real system: its migration fails',
        '  npx switchyard --local plan --target checkout-api --tag v2',
        '  npx switchyard --local release --target checkout-api --tag v2 && npx switchyard --local dashboard',
        '',
      ].join('\n'),
    );
  }
  return failed === 0 ? 0 : 1;
};

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    // Commander has printed its own message (and exits 0 for --help).
    if (error instanceof CommanderError) process.exit(error.exitCode === 0 ? 0 : 2);
    process.stderr.write(`demo: ${error.message}\n`);
    process.exit(2);
  },
);
