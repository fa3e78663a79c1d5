/**
 * Saves and restores a local account between `switchyard --local` invocations: the simulated AWS
 * resources, the executions' records, the DynamoDB tables and the virtual clock. A command runs
 * until the world is quiet, so nothing in flight (timers, parked tasks) needs saving.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { LocalRuntime } from './runtime.ts';

const VERSION = 1;
/** Which fields of each model are data (the rest are wiring: the bus, other models, timers). */
const fields = {
  ecr: ['repositories'],
  sns: ['topics', 'published', 'counter'],
  ses: ['identities', 'sandbox', 'sent', 'counter'],
  ecs: [
    'clusters',
    'services',
    'taskDefinitions',
    'taskDefinitionTags',
    'revisions',
    'taskCount',
    'deploymentCount',
  ],
  elbv2: ['loadBalancers', 'listeners', 'rules', 'targetGroups', 'weightHistory'],
  rds: ['instances', 'clusters', 'snapshots'],
  cloudwatch: ['alarms', 'history'],
  // Real traffic on the targets with analysis: which listeners are served, and their metrics.
  traffic: ['served', 'datapoints', 'listenerP95'],
  secrets: ['secrets'],
  // The users' own functions that Lambda hooks name.
  hookFunctions: ['functions'],
} as const;
type Model = keyof typeof fields;

// Dates are tagged from the raw value (`this[key]`): by the time a replacer sees a Date's value,
// toJSON has made it a string, and table items keep their ISO strings as strings.
function replacer(this: Record<string, unknown>, key: string, value: unknown) {
  if (key === 'server' || key === 'done') return undefined; // live HTTP servers, promises
  const raw = this[key];
  if (raw instanceof Date) return { $date: raw.toISOString() };
  if (value instanceof Map) return { $map: [...value.entries()] };
  if (value instanceof Set) return { $set: [...value.values()] };
  return value;
}
const reviver = (_key: string, value: unknown) => {
  if (value && typeof value === 'object') {
    if ('$map' in value) return new Map((value as { $map: [unknown, unknown][] }).$map);
    if ('$set' in value) return new Set((value as { $set: unknown[] }).$set);
    if ('$date' in value) return new Date((value as { $date: string }).$date);
  }
  return value;
};

export interface SavedState {
  version: number;
  /** Virtual time when saved: the next command starts its clock here. */
  now: string;
  targetsFile: string;
  /** The targets the account was built for (name → its config, as JSON): a changed file is refused. */
  targets?: Record<string, string>;
  account: Record<Model, Record<string, unknown>>;
  executions: unknown[];
  tables: Record<string, Record<string, unknown>[]>;
}

const stateFile = (dir: string) => join(dir, 'state.json');
/**
 * A picture of the account while a command is parked mid-run (a release waiting for approval),
 * for `switchyard dashboard --local` only: commands never load it, and the command that wrote it
 * removes it when it saves state.json.
 */
export const viewFile = (dir: string) => join(dir, 'view.json');

/** A state directory that does not fit the targets file it is used with (the CLI exits 2). */
export class StateMismatch extends Error {
  override readonly name = 'StateMismatch';
}

/** Each target of the file, by name, as the JSON it is configured with. */
const targetsOf = (targetsFile: string): Record<string, string> => {
  const doc = JSON.parse(readFileSync(targetsFile, 'utf8')) as { targets?: { name?: string }[] };
  return Object.fromEntries((doc.targets ?? []).map((t) => [String(t.name), JSON.stringify(t)]));
};

/** The saved state in `dir`, or undefined for a fresh account. A state from another targets file is an error. */
export const readState = (
  dir: string,
  targetsFile: string,
  /** The dashboard: the mid-run picture when there is one. */
  options: { view?: boolean } = {},
): SavedState | undefined => {
  const file = options.view && existsSync(viewFile(dir)) ? viewFile(dir) : stateFile(dir);
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, 'utf8'), reviver) as SavedState;
  if (state.version !== VERSION) {
    throw new Error(`${stateFile(dir)} is from another Switchyard version; remove ${dir} to start afresh`);
  }
  if (state.targetsFile !== targetsFile) {
    throw new StateMismatch(
      `${dir} holds a local account for ${state.targetsFile}, not ${targetsFile}; use another --state directory`,
    );
  }
  if (state.targets) {
    // The account was built from the targets as they were: services, listeners and alarms exist
    // only for those. A target added, removed or changed since cannot run on it.
    const now = targetsOf(targetsFile);
    const names = [...new Set([...Object.keys(state.targets), ...Object.keys(now)])].sort();
    const changes = names.flatMap((name) =>
      !(name in now)
        ? [`${name} removed`]
        : !(name in (state.targets ?? {}))
          ? [`${name} added`]
          : state.targets?.[name] !== now[name]
            ? [`${name} changed`]
            : [],
    );
    if (changes.length > 0) {
      throw new StateMismatch(
        `${targetsFile} changed since the local account in ${dir} was built from it (${changes.join(', ')}); remove ${dir} to build a new account, or pass --state <another directory>`,
      );
    }
  }
  return state;
};

/** Puts a saved account back into a runtime that has not started its clock yet. */
export const restoreAccount = (runtime: LocalRuntime, state: SavedState) => {
  for (const model of Object.keys(fields) as Model[]) {
    Object.assign(runtime.account[model], state.account[model]);
  }
  runtime.sfn.restore(state.executions as never);
};

/** Restores the DynamoDB tables (after the runtime reset them). */
export const restoreTables = async (runtime: LocalRuntime, state: SavedState) => {
  for (const [table, items] of Object.entries(state.tables)) {
    for (const item of items) await runtime.doc.send(new PutCommand({ TableName: table, Item: item }));
  }
};

/**
 * Writes the runtime's account, executions, tables and clock to `dir` (atomically). `view`: the
 * mid-run picture for the dashboard (view.json), running executions included.
 */
export const saveState = async (runtime: LocalRuntime, dir: string, options: { view?: boolean } = {}) => {
  const tables: Record<string, Record<string, unknown>[]> = {};
  for (const table of Object.values(runtime.tables)) {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const out = await runtime.doc.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
      items.push(...((out.Items ?? []) as Record<string, unknown>[]));
      start = out.LastEvaluatedKey;
    } while (start);
    tables[table] = items;
  }
  const account = Object.fromEntries(
    (Object.keys(fields) as Model[]).map((model) => [
      model,
      Object.fromEntries(
        fields[model].map((f) => [f, (runtime.account[model] as unknown as Record<string, unknown>)[f]]),
      ),
    ]),
  ) as SavedState['account'];
  const state: SavedState = {
    version: VERSION,
    now: new Date().toISOString(),
    targetsFile: runtime.options.targetsFile,
    targets: targetsOf(runtime.options.targetsFile),
    account,
    executions: runtime.sfn.snapshot({ view: options.view }),
    tables,
  };
  mkdirSync(dir, { recursive: true });
  const file = options.view ? viewFile(dir) : stateFile(dir);
  writeFileSync(`${file}.tmp`, JSON.stringify(state, replacer));
  renameSync(`${file}.tmp`, file);
  // The account is whole again: the mid-run picture is out of date.
  if (!options.view) rmSync(viewFile(dir), { force: true });
};
