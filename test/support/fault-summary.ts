/**
 * vitest global setup: gives the fault-matrix cases a results file, and after the run prints
 * `faults: N cases, N passed` over every test file that ran cases.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    faultResults: string;
  }
}

let dir = '';

export function setup(project: TestProject) {
  dir = mkdtempSync(join(tmpdir(), 'switchyard-faults-'));
  project.provide('faultResults', join(dir, 'results.jsonl'));
}

export function teardown() {
  const file = join(dir, 'results.jsonl');
  let lines: { passed: boolean }[] = [];
  try {
    lines = readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { passed: boolean });
  } catch {}
  if (lines.length > 0) {
    process.stdout.write(`\nfaults: ${lines.length} cases, ${lines.filter((l) => l.passed).length} passed\n`);
  }
  rmSync(dir, { recursive: true, force: true });
}
