/**
 * `npm run bundle-report`: bundles every function the way the stack does (esbuild, ESM, node22,
 * minified with a source map, the AWS SDK bundled in) and prints each bundle's size, the size of Switchyard's own
 * code in it (the bundle without the SDK) against the 300 KB goal, and the largest inputs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { allFunctionFolders } from '../state-machines/definitions.ts';
import { bundleFunction, codeOutput } from './bundling.ts';

const GOAL_KB = 300;
const out = mkdtempSync(join(tmpdir(), 'switchyard-bundles-'));
const folders = allFunctionFolders();
const rows: { folder: string; kb: number; withSdkKb: number; top: string }[] = [];

for (const folder of folders) {
  // Switchyard's own code: the bundle without the SDK (the 300 KB goal is about this).
  const result = await bundleFunction(folder, join(out, folder, 'index.mjs'), false);
  // As deployed: the same bundle carrying the SDK (see infra/constructs/release-function.ts).
  const withSdk = await bundleFunction(folder, join(out, folder, 'sdk.mjs'), true);
  const output = codeOutput(result);
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
  const withSdkKb = (codeOutput(withSdk)?.bytes ?? 0) / 1024;
  rows.push({ folder, kb: (output?.bytes ?? 0) / 1024, withSdkKb, top });
}
rmSync(out, { recursive: true, force: true });

process.stdout.write(
  `function                   own code KB  goal ${GOAL_KB}  deployed KB  largest inputs of own code (KB)\n`,
);
for (const r of rows.sort((a, b) => b.kb - a.kb)) {
  const verdict = r.kb <= GOAL_KB ? 'ok  ' : 'OVER';
  process.stdout.write(
    `${r.folder.padEnd(26)} ${r.kb.toFixed(1).padStart(11)}  ${verdict}      ${r.withSdkKb.toFixed(1).padStart(11)}  ${r.top}\n`,
  );
}
process.stdout.write(
  'own code KB is the bundle without @aws-sdk/*; deployed KB is the bundle as deployed,\n',
);
process.stdout.write(
  'with the AWS SDK in it (it initialises faster than the runtime copy: npm run bench).\n',
);
const over = rows.filter((r) => r.kb > GOAL_KB).length;
process.stdout.write(
  `${rows.length} bundles, ${over} over ${GOAL_KB} KB, largest ${Math.max(...rows.map((r) => r.kb)).toFixed(1)} KB\n`,
);
