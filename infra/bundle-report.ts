/**
 * `npm run bundle-report`: bundles every function the way the stack does (esbuild, ESM, node22,
 * minified, AWS SDK included) and prints each bundle's size against the 300 KB goal, the size it
 * would have relying on the Lambda runtime's SDK, and the largest inputs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build } from 'esbuild';
import { eventFunctions, releaseFunctions } from '../state-machines/definitions.ts';

const GOAL_KB = 300;
const out = mkdtempSync(join(tmpdir(), 'switchyard-bundles-'));
const folders = [...new Set([...Object.values(releaseFunctions), ...eventFunctions])];
const rows: { folder: string; kb: number; externalKb: number; top: string }[] = [];
const options = {
  bundle: true,
  minify: true,
  platform: 'node' as const,
  format: 'esm' as const,
  target: 'node22',
  mainFields: ['module', 'main'],
  metafile: true as const,
  logLevel: 'silent' as const,
} satisfies BuildOptions;

for (const folder of folders) {
  const entry = fileURLToPath(new URL(`../functions/${folder}/handler.ts`, import.meta.url));
  const result = await build({ ...options, entryPoints: [entry], outfile: join(out, folder, 'index.mjs') });
  // For comparison: the same bundle relying on the SDK the Lambda runtime ships.
  const external = await build({
    ...options,
    entryPoints: [entry],
    outfile: join(out, folder, 'ext.mjs'),
    external: ['@aws-sdk/*'],
  });
  const output = Object.values(result.metafile.outputs)[0];
  const byPackage = new Map<string, number>();
  for (const [path, input] of Object.entries(output?.inputs ?? {})) {
    const pkg = path.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/)?.[1] ?? 'switchyard';
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + input.bytesInOutput);
  }
  const top = [...byPackage.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 3)
    .map(([pkg, bytes]) => `${pkg} ${(bytes / 1024).toFixed(0)}`)
    .join(', ');
  const externalKb = (Object.values(external.metafile.outputs)[0]?.bytes ?? 0) / 1024;
  rows.push({ folder, kb: (output?.bytes ?? 0) / 1024, externalKb, top });
}
rmSync(out, { recursive: true, force: true });

process.stdout.write(
  `function                   minified KB  goal ${GOAL_KB}  runtime-SDK KB  largest inputs (KB)\n`,
);
for (const r of rows.sort((a, b) => b.kb - a.kb)) {
  const verdict = r.kb <= GOAL_KB ? 'ok  ' : 'OVER';
  process.stdout.write(
    `${r.folder.padEnd(26)} ${r.kb.toFixed(1).padStart(11)}  ${verdict}      ${r.externalKb.toFixed(1).padStart(10)}  ${r.top}\n`,
  );
}
process.stdout.write(
  'minified KB is the deployed bundle, AWS SDK included (the version tested is the one that runs);\n',
);
process.stdout.write(
  'runtime-SDK KB is the same bundle leaving @aws-sdk/* to the Lambda runtime, for comparison.\n',
);
const over = rows.filter((r) => r.kb > GOAL_KB).length;
process.stdout.write(
  `${rows.length} bundles, ${over} over ${GOAL_KB} KB, largest ${Math.max(...rows.map((r) => r.kb)).toFixed(1)} KB\n`,
);
