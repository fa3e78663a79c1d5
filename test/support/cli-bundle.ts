/**
 * vitest global setup: the CLI and the demo, bundled once per run for the tests that spawn them.
 *
 * Users run `cli/bin.mjs`, which loads the TypeScript sources through tsx's loader. A spawned
 * `switchyard --local status` spent about 0.6 s of its 1.7 s in that loader (measured: 1.67 s
 * through bin.mjs, 1.06 s bundled), and the suite spawns about sixty. The bundle is the same
 * sources, compiled by esbuild as tsx compiles them; each `import.meta.url` keeps its own file's URL,
 * so the files read beside a module (the ASL definitions, the targets file) are the ones the
 * sources read. The packages are bundled in as well, but for dynalite, which resolves from
 * node_modules: the bundle is written under node_modules/.cache. `test/cli/cli.test.ts` still runs
 * bin.mjs itself once, the entry users have.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import type { TestProject } from 'vitest/node';
import { bundleOptions, REQUIRE_SHIM } from '../../infra/bundling.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    /** `node <cliEntry> …` runs `switchyard …` (cli/main.ts). */
    cliEntry: string;
    /** `node <demoEntry> …` runs `npm run demo -- …` (local/demo.ts). */
    demoEntry: string;
  }
}

const root = fileURLToPath(new URL('../../', import.meta.url));
let dir = '';

export async function setup(project: TestProject) {
  mkdirSync(join(root, 'node_modules/.cache'), { recursive: true });
  dir = mkdtempSync(join(root, 'node_modules/.cache/switchyard-test-'));
  await build({
    entryPoints: { cli: join(root, 'cli/main.ts'), demo: join(root, 'local/demo.ts') },
    outdir: dir,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    // The packages are bundled too, as the functions' bundles carry them (the SDK's ES modules): a
    // spawn then loads a few files instead of resolving, reading and lexing a thousand CommonJS
    // ones. That was a third of a spawned command's CPU (`status`: 1.5 s of CPU, 1.0 s bundled).
    // dynalite stays external: it requires its own files by computed names.
    mainFields: bundleOptions.mainFields,
    external: ['dynalite'],
    logLevel: 'warning',
    // As cli/bin.mjs does before it loads main.ts: the compile cache (each spawn reuses the code the
    // first one compiled) and the functions' log level (the demo passes its own to the runtime).
    // `require` for the CommonJS packages bundled into these ES modules.
    banner: {
      js: `${REQUIRE_SHIM} import { enableCompileCache as __ecc } from 'node:module'; __ecc(); process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';`,
    },
    plugins: [
      {
        name: 'own-import-meta-url',
        setup(b) {
          b.onLoad({ filter: /\.ts$/ }, (args) => ({
            contents: readFileSync(args.path, 'utf8').replaceAll(
              'import.meta.url',
              JSON.stringify(pathToFileURL(args.path).href),
            ),
            loader: 'ts',
          }));
        },
      },
    ],
  });
  project.provide('cliEntry', join(dir, 'cli.mjs'));
  project.provide('demoEntry', join(dir, 'demo.mjs'));
}

export function teardown() {
  if (dir) rmSync(dir, { recursive: true, force: true });
}
