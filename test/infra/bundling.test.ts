/**
 * The functions' bundles as the stack deploys them (infra/bundling.ts, which the construct shares):
 * the source map leaves out the sources' text, which every cold start read and parsed, and a stack
 * trace from a deployed bundle still names the TypeScript file and line.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bundleEntry, bundleFunction } from '../../infra/bundling.ts';
import { FUNCTION_NODE_OPTIONS } from '../../infra/function-runtime.ts';

const dir = mkdtempSync(join(tmpdir(), 'switchyard-bundling-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface SourceMap {
  sources: string[];
  mappings: string;
  sourcesContent?: unknown;
}

describe('the deployed bundles', () => {
  it("ship a source map of names and positions only, not the sources' text", async () => {
    const outfile = join(dir, 'record-outcome', 'index.mjs');
    await bundleFunction('record-outcome', outfile);
    const map = JSON.parse(readFileSync(`${outfile}.map`, 'utf8')) as SourceMap;
    expect(map.sourcesContent).toBeUndefined();
    expect(map.sources.some((s) => s.endsWith('functions/record-outcome/run.ts'))).toBe(true);
    expect(map.mappings.length).toBeGreaterThan(1000);
    // The map is no longer several times the code it maps.
    expect(statSync(`${outfile}.map`).size).toBeLessThan(2 * statSync(outfile).size);
  });

  it('still map a stack trace to the TypeScript file and line under the stack’s NODE_OPTIONS', async () => {
    const entry = join(dir, 'fails.ts');
    writeFileSync(
      entry,
      [
        'interface Step { name: string }',
        'export const run = (step: Step): never => {',
        "  throw new Error('step ' + step.name + ' failed');",
        '};',
        "run({ name: 'Validate' });",
        '',
      ].join('\n'),
    );
    const outfile = join(dir, 'fails', 'index.mjs');
    await bundleEntry(entry, outfile);
    const { NODE_COMPILE_CACHE: _cache, ...env } = process.env;
    let stderr = '';
    try {
      execFileSync(process.execPath, [outfile], {
        env: { ...env, NODE_OPTIONS: FUNCTION_NODE_OPTIONS },
        stdio: 'pipe',
      });
    } catch (error) {
      stderr = String((error as { stderr: Buffer }).stderr);
    }
    expect(stderr).toContain('step Validate failed');
    expect(stderr).toMatch(/fails\.ts:3:\d+/);
  });
});
