/**
 * Trying the CLI locally must not break `npm test` (issue 18): its state directory
 * (`.switchyard/local`, git-ignored) holds JSON the formatter would reject, and the linter honours
 * `.gitignore` (`biome check .`, as `npm test` runs it). The control run with VCS support switched off shows the check can fail.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = join(root, '.switchyard', `lint-test-${process.pid}`);
const biome = (...args: string[]) =>
  spawnSync(join(root, 'node_modules', '.bin', 'biome'), ['check', ...args, '.'], {
    cwd: root,
    encoding: 'utf8',
  });

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the local state directory and the linter', () => {
  it('a state file the formatter would reject does not fail biome, which honours .gitignore', () => {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'state.json'), '{"tasks":[1,2],   "weights":{"blue":100}}');
    const control = biome('--vcs-enabled=false');
    expect(control.status, control.stdout + control.stderr).not.toBe(0);
    expect(control.stdout + control.stderr).toContain('state.json');
    const check = biome();
    expect(check.status, check.stdout + check.stderr).toBe(0);
  });
});
