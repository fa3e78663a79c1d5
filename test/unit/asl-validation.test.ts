/**
 * The engine's definition check is kept once passed (local/asl-validation.ts): by this process, and
 * by the next one through a file only this user can write. A refused definition is never kept.
 */
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { releaseDefinitionText } from '../../state-machines/definitions.ts';

/** A fresh copy of the module: what a new process would load (nothing accepted in memory yet). */
const fresh = async () => {
  vi.resetModules();
  return import('../../local/asl-validation.ts');
};

const valid = releaseDefinitionText().replace(
  /"\$\{[A-Za-z]+\}"/g,
  '"arn:aws:lambda:us-east-1:123456789012:function:switchyard-x"',
);
/** A Choice state with no Choices: asl-validator refuses it. */
const invalid = JSON.stringify({
  StartAt: 'Pick',
  States: { Pick: { Type: 'Choice', Default: 'Done' }, Done: { Type: 'Succeed' } },
});

describe('the engine checks each definition once', () => {
  let scratch: string;
  const saved = process.env.TMPDIR;
  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), 'asl-validation-'));
    process.env.TMPDIR = scratch;
  });
  afterEach(() => {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    rmSync(scratch, { recursive: true, force: true });
  });

  it('keeps a passed check for the next process, in a directory only this user can write', async () => {
    const { buildStateMachine, verdictFileOf } = await fresh();
    const file = verdictFileOf(JSON.parse(valid)) as string;
    expect(file.startsWith(join(scratch, 'switchyard-asl-accepted'))).toBe(true);
    expect(existsSync(file)).toBe(false);
    buildStateMachine(JSON.parse(valid), valid);
    expect(existsSync(file)).toBe(true);
    expect(statSync(join(scratch, 'switchyard-asl-accepted')).mode & 0o777).toBe(0o700);
  });

  it('keys a verdict by the definition as checked, not by the text it came from', async () => {
    const { buildStateMachine, verdictFileOf } = await fresh();
    // The runtime rewrites some fields of a definition before the engine checks it.
    const rewritten = { ...JSON.parse(valid), Comment: 'rewritten by the runtime' };
    // Named before the check: asl-validator adds fields to what it checks.
    const file = verdictFileOf(rewritten) as string;
    buildStateMachine(rewritten, valid);
    expect(existsSync(file)).toBe(true);
    expect(existsSync(verdictFileOf(JSON.parse(valid)) as string)).toBe(false);
  });

  it('a new process trusts a kept verdict instead of checking again', async () => {
    const { buildStateMachine, verdictFileOf } = await fresh();
    // A verdict for a text that would fail: only a process that reads the verdict builds it.
    writeFileSync(verdictFileOf(JSON.parse(invalid)) as string, '');
    expect(() => buildStateMachine(JSON.parse(invalid), invalid)).not.toThrow();
  });

  it('a refused definition is refused every time and never kept', async () => {
    const { buildStateMachine, verdictFileOf } = await fresh();
    for (let i = 0; i < 2; i++)
      expect(() => buildStateMachine(JSON.parse(invalid), invalid)).toThrow(
        /State machine definition is invalid/,
      );
    expect(existsSync(verdictFileOf(JSON.parse(invalid)) as string)).toBe(false);
    const { buildStateMachine: again } = await fresh();
    expect(() => again(JSON.parse(invalid), invalid)).toThrow(/State machine definition is invalid/);
  });

  it.each([0o777, 0o770])(
    'ignores a verdict directory others can write to (mode %o), and checks every new process',
    async (mode) => {
      const { verdictFileOf } = await fresh();
      writeFileSync(verdictFileOf(JSON.parse(invalid)) as string, '');
      chmodSync(join(scratch, 'switchyard-asl-accepted'), mode);
      const { buildStateMachine, verdictFileOf: again } = await fresh();
      expect(again(JSON.parse(invalid))).toBeUndefined();
      expect(() => buildStateMachine(JSON.parse(invalid), invalid)).toThrow(
        /State machine definition is invalid/,
      );
    },
  );

  it('does not follow a link in place of the verdict directory', async () => {
    // A directory that would pass every check, holding a verdict for a text never checked.
    const elsewhere = mkdtempSync(join(scratch, 'elsewhere-'));
    chmodSync(elsewhere, 0o700);
    const { verdictFileOf } = await fresh();
    const planted = verdictFileOf(JSON.parse(invalid)) as string;
    rmSync(join(scratch, 'switchyard-asl-accepted'), { recursive: true });
    symlinkSync(elsewhere, join(scratch, 'switchyard-asl-accepted'));
    writeFileSync(join(elsewhere, basename(planted)), '');
    const { buildStateMachine, verdictFileOf: again } = await fresh();
    expect(again(JSON.parse(invalid))).toBeUndefined();
    expect(() => buildStateMachine(JSON.parse(invalid), invalid)).toThrow(
      /State machine definition is invalid/,
    );
  });
});
