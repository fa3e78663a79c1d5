/**
 * The CLI's modules import each other without a cycle (static or dynamic imports, types included):
 * the shared result types and UsageError live in the leaf module cli/results.ts.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const dir = fileURLToPath(new URL('../../cli/', import.meta.url));
const modules = readdirSync(dir).filter((f) => f.endsWith('.ts'));
const importsOf = (file: string) =>
  [...readFileSync(`${dir}${file}`, 'utf8').matchAll(/(?:from|import\()\s*'\.\/([\w-]+\.ts)'/g)].map(
    (m) => m[1] as string,
  );

const cycleFrom = (start: string): string[] | undefined => {
  const visit = (file: string, path: string[]): string[] | undefined => {
    for (const next of importsOf(file)) {
      if (next === start) return [...path, next];
      if (!path.includes(next)) {
        const found = visit(next, [...path, next]);
        if (found) return found;
      }
    }
    return undefined;
  };
  return visit(start, [start]);
};

describe('cli/ imports', () => {
  it('form no cycle', () => {
    expect(modules).toEqual(
      expect.arrayContaining(['backend.ts', 'commands.ts', 'local-approval.ts', 'results.ts']),
    );
    for (const file of modules) expect(cycleFrom(file), file).toBeUndefined();
  });
});
