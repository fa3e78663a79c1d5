/**
 * Step Functions checks a definition once, when its state machine is created or updated. The local
 * engine (aws-local-stepfunctions) checks it with asl-validator every time it builds a machine, and
 * asl-validator compiles its JSON schemas with ajv on every call: 0.4-1.3 s of CPU for the release
 * definition. The CLI's and the demo's processes in the test suite spent 16.6 s on it, one check each.
 *
 * A text the validator accepted is accepted again by the same validator, so the verdict is kept: in
 * memory for this process, and as a file for the next process (every CLI command, demo and test
 * worker builds its account from the same definitions). The file is named by a digest of the
 * definition as checked, the options, and the versions of the engine, the validator and the packages
 * it checks with, in a directory that is this user's alone (not a link, written by nobody else).
 * Where the versions cannot be read (the engine bundled into a file), only the memory is used.
 * A definition the validator refuses is never remembered: it throws every time, as before.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { StateMachine } from 'aws-local-stepfunctions';

/** The engine's checks, as the runtime asks for them: ARNs are the local ones, so not checked. */
const OPTIONS = { checkArn: false } as const;

/** Texts accepted in this process. */
const accepted = new Set<string>();

/**
 * The versions of the engine, its validator and the packages the validator checks with, or
 * undefined when the engine and validator are not installed packages.
 */
const versions = (() => {
  try {
    const require = createRequire(import.meta.url);
    const packageOf = (entry: string) => {
      for (let dir = dirname(entry); dir !== dirname(dir); dir = dirname(dir)) {
        const file = join(dir, 'package.json');
        if (existsSync(file))
          return JSON.parse(readFileSync(file, 'utf8')) as { name: string; version: string };
      }
      throw new Error(`no package.json above ${entry}`);
    };
    const engine = require.resolve('aws-local-stepfunctions');
    const validator = createRequire(engine).resolve('asl-validator');
    const fromValidator = createRequire(validator);
    const checkers = ['ajv', 'ajv-formats', 'asl-path-validator', 'jsonpath-plus', 'jsonata'].flatMap(
      (name) => {
        try {
          return [packageOf(fromValidator.resolve(name))];
        } catch {
          return [];
        }
      },
    );
    return [packageOf(engine), packageOf(validator), ...checkers]
      .map((p) => `${p.name}@${p.version}`)
      .join(' ');
  } catch {
    return undefined;
  }
})();

/** A directory for the verdicts that belongs to this user alone, or undefined. */
const verdictDirectory = () => {
  if (!versions) return undefined;
  try {
    const dir = join(tmpdir(), 'switchyard-asl-accepted');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // Not followed if a link: in a shared temporary directory, another user's link could point at
    // a directory that passes these checks, and be re-pointed between the check and a read. Another
    // user's directory, or one others may write to, could hold a verdict for a text never checked.
    const stat = lstatSync(dir);
    if (!stat.isDirectory() || stat.uid !== process.getuid?.() || (stat.mode & 0o022) !== 0) return undefined;
    return dir;
  } catch {
    return undefined;
  }
};

/**
 * Where the verdict for `definition` is kept, or undefined when verdicts are kept in memory only.
 * By the definition as the engine checks it (the runtime rewrites some fields of the text first).
 */
export const verdictFileOf = (definition: object): string | undefined => {
  const dir = verdictDirectory();
  if (!dir) return undefined;
  return join(
    dir,
    createHash('sha256')
      .update(`${versions}\0${JSON.stringify(OPTIONS)}\0${JSON.stringify(definition)}`)
      .digest('hex'),
  );
};

/**
 * The engine's machine for `definition` (parsed from `text`): checked by asl-validator the first time
 * the text is seen, in this process or an earlier one; throws as the engine does if it is invalid.
 */
export const buildStateMachine = (definition: object, text: string): StateMachine => {
  const file = accepted.has(text) ? undefined : verdictFileOf(definition);
  const known = accepted.has(text) || (file !== undefined && existsSync(file));
  const machine = new StateMachine(definition as never, {
    validationOptions: known ? { noValidate: true } : OPTIONS,
  });
  accepted.add(text);
  if (!known && file) {
    try {
      writeFileSync(file, '');
    } catch {
      // Not kept for the next process, which checks the text again.
    }
  }
  return machine;
};
