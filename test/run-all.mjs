/**
 * `npm test`: the type check and the lint run beside the vitest run instead of before it, at the
 * lowest CPU priority, so they take the cores' idle moments (vitest's start, the IAM check at its
 * end) rather than a minute of their own. Their output is printed when the run ends; the exit code
 * is vitest's, or 1 if either of them failed. Arguments go to vitest (`npm test -- test/unit`).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';

const bin = (name) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname;

/** Runs a check in the background at the lowest priority, collecting its output. */
const check = (name, args) =>
  new Promise((resolve) => {
    const child = spawn(bin(name), args, { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      setPriority(child.pid, 19);
    } catch {
      // Not allowed here: it runs at normal priority, which only costs time.
    }
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('error', (error) => resolve({ name, code: 1, output: String(error) }));
    child.on('close', (code) => resolve({ name, code: code ?? 1, output }));
  });

const checks = [check('tsc', ['--noEmit']), check('biome', ['check', '.'])];
// The run's temporary files go under one directory, removed when it ends: every CDK App a test
// synthesizes without an outdir leaves a cdk.out* directory (about 1 MB) in the temp directory, and
// a run left about forty.
const scratch = mkdtempSync(join(tmpdir(), 'switchyard-test-run-'));
const vitest = await new Promise((resolve) => {
  const child = spawn(bin('vitest'), ['run', ...process.argv.slice(2)], {
    stdio: 'inherit',
    // Node's compile cache for vitest's workers and every process the tests spawn (the CLI, the
    // demo): each loads the same SDK clients, dynalite and engine, and compiling them again was
    // about a tenth of a spawned command's CPU. Node checks each entry against its file.
    env: {
      ...process.env,
      SWITCHYARD_IAM_FULL_RUN: '1',
      TMPDIR: scratch,
      NODE_COMPILE_CACHE:
        process.env.NODE_COMPILE_CACHE ??
        new URL('../node_modules/.cache/node-compile-cache', import.meta.url).pathname,
    },
  });
  child.on('error', () => resolve(1));
  child.on('close', (code) => resolve(code ?? 1));
});
rmSync(scratch, { recursive: true, force: true });

let failed = false;
for (const { name, code, output } of await Promise.all(checks)) {
  if (code === 0) {
    process.stdout.write(`${name}: ok\n`);
  } else {
    failed = true;
    process.stdout.write(`\n${name} failed (exit ${code}):\n${output}\n`);
  }
}
process.exit(vitest !== 0 ? vitest : failed ? 1 : 0);
