/**
 * How a function is bundled, as the stack's NodejsFunction does it (infra/constructs/release-function.ts):
 * esbuild, ESM for node22, minified with a source map (without the sources' text), a require()
 * shim, the AWS SDK bundled in (tree-shaken ES modules) rather than loaded from the Lambda runtime's
 * CommonJS copy. The bundle report and the cold-start benchmark build with this, so they measure
 * what deploys.
 */
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, type Metafile } from 'esbuild';

const shim = (file: string) => fileURLToPath(new URL(`./builtins/${file}`, import.meta.url));

/**
 * Modules the functions' bundles replace (infra/builtins). `http` and `https` (imported by the SDK's
 * HTTP handler) load through CommonJS: module initialisation 177 -> 157 ms for record-outcome
 * (cold-start proxy, 9 interleaved runs). The SDK's default credential chain is cut to the
 * environment variables Lambda sets (infra/builtins/lambda-credentials.mjs): acquire-lock 570 ->
 * 451 KB and 61.2 -> 50.2 ms, record-outcome 504 -> 371 KB and 54.2 -> 44.4 ms (medians of 11
 * interleaved runs, 2026-12-04).
 */
export const bundleAliases: Record<string, string> = {
  http: shim('http.cjs'),
  'node:http': shim('http.cjs'),
  https: shim('https.cjs'),
  'node:https': shim('https.cjs'),
  '@aws-sdk/credential-provider-node': shim('lambda-credentials.mjs'),
};

/** ES modules have no `require`: one for the CommonJS packages bundled into them. */
export const REQUIRE_SHIM =
  "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);";

export const bundleOptions = {
  bundle: true,
  minify: true,
  sourcemap: true,
  /**
   * The map without the sources' text: Node maps a stack trace from `sources` and `mappings` alone,
   * and reads the whole map at each cold start (NODE_OPTIONS=--enable-source-maps). acquire-lock's
   * map 2,777 -> 927 KB, its module initialisation 65.9 -> 61.1 ms median (9 interleaved runs,
   * 2026-12-04); validate's 77.3 -> 70.2 ms.
   */
  sourcesContent: false,
  platform: 'node' as const,
  format: 'esm' as const,
  target: 'node22',
  mainFields: ['module', 'main'],
  banner: { js: REQUIRE_SHIM },
  alias: bundleAliases,
  metafile: true as const,
  logLevel: 'silent' as const,
} satisfies BuildOptions;

/** The bundle's code among a build's outputs (its source map is the other). */
export const codeOutput = (result: { metafile: Metafile }) =>
  Object.entries(result.metafile.outputs).find(([path]) => !path.endsWith('.map'))?.[1];

/**
 * Bundles `functions/<folder>/handler.ts` to `outfile`, with the AWS SDK in it as deployed;
 * `withSdk: false` leaves `@aws-sdk/*` to the runtime (for comparison).
 */
export const bundleFunction = (folder: string, outfile: string, withSdk = true) =>
  bundleEntry(fileURLToPath(new URL(`../functions/${folder}/handler.ts`, import.meta.url)), outfile, withSdk);

/** Bundles any entry file the way the functions are bundled (the cold-start baseline uses it). */
export const bundleEntry = (entry: string, outfile: string, withSdk = true) =>
  build({
    ...bundleOptions,
    entryPoints: [entry],
    outfile,
    ...(withSdk ? {} : { external: ['@aws-sdk/*'] }),
  });
