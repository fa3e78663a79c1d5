/**
 * The functions' bundles as the stack deploys them (infra/bundling.ts, which the construct shares,
 * and one function built by the construct itself, as `cdk synth` does):
 * the source map leaves out the sources' text, which every cold start read and parsed, and a stack
 * trace from a deployed bundle still names the TypeScript file and line; the SDK's credential chain
 * is cut to the role's credentials Lambda sets in the environment, which a bundled client still signs with.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTargetsFile, validatedTargetsDocument } from '../../functions/shared/config.ts';
import { bundleEntry, bundleFunction, codeOutput } from '../../infra/bundling.ts';
import { ReleaseFunction } from '../../infra/constructs/release-function.ts';
import { FUNCTION_NODE_OPTIONS } from '../../infra/function-runtime.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'switchyard-bundling-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface SourceMap {
  sources: string[];
  mappings: string;
  sourcesContent?: unknown;
}

/**
 * Bundles `lines` as the functions are bundled and runs the bundle in a fresh Node process with none
 * of this machine's compile cache, profile or credentials: its stdout, or its stderr if it failed.
 */
const bundleAndRun = async (name: string, lines: string[], env: Record<string, string>) => {
  const entry = join(dir, `${name}.ts`);
  writeFileSync(entry, `${lines.join('\n')}\n`);
  const outfile = join(dir, name, 'index.mjs');
  await bundleEntry(entry, outfile);
  const {
    NODE_COMPILE_CACHE: _cache,
    AWS_PROFILE: _profile,
    AWS_ACCESS_KEY_ID: _id,
    AWS_SECRET_ACCESS_KEY: _secret,
    AWS_SESSION_TOKEN: _token,
    ...own
  } = process.env;
  try {
    const out = execFileSync(process.execPath, [outfile], { env: { ...own, ...env }, stdio: 'pipe' });
    return { out: out.toString(), err: '' };
  } catch (error) {
    return { out: '', err: String((error as { stderr: Buffer }).stderr) };
  }
};

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

  it("leave out the SDK's credential chain past the environment Lambda sets: no STS, SSO or shared-file code", async () => {
    const result = await bundleFunction('acquire-lock', join(dir, 'acquire-lock', 'index.mjs'));
    const inputs = Object.keys(codeOutput(result)?.inputs ?? {});
    expect(inputs.some((i) => i.includes('@aws-sdk/client-dynamodb/'))).toBe(true);
    expect(inputs.some((i) => i.includes('@aws-sdk/credential-provider-env/'))).toBe(true);
    for (const gone of [
      'credential-provider-node',
      'credential-provider-sso',
      'credential-provider-ini',
      'nested-clients',
    ])
      expect(inputs.filter((i) => i.includes(`@aws-sdk/${gone}/`))).toEqual([]);
  });

  it("still sign as the function's role: a bundled client reads the credentials Lambda puts in the environment", async () => {
    const who = [
      `import { sfn } from ${JSON.stringify(join(root, 'functions/shared/clients/sfn.ts'))};`,
      'const credentials = await sfn.config.credentials();',
      'process.stdout.write(JSON.stringify({ id: credentials.accessKeyId, token: credentials.sessionToken }));',
    ];
    const role = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'ASIAEXAMPLEROLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      AWS_SESSION_TOKEN: 'session-token',
    };
    const signed = await bundleAndRun('who', who, role);
    expect(JSON.parse(signed.out)).toEqual({ id: 'ASIAEXAMPLEROLE', token: 'session-token' });
    // Outside Lambda, with none set, it says where it looked instead of trying a profile or IMDS.
    const unsigned = await bundleAndRun('nobody', who, { AWS_REGION: 'us-east-1' });
    expect(unsigned.err).toMatch(/environment variable credentials/i);
  });

  it("are what the stack's construct builds: its asset's map has no sources' text and names the credentials shim", () => {
    const targetsFile = join(dir, 'targets.json');
    const validated = validatedTargetsDocument(loadTargetsFile(join(root, 'local/targets.json')));
    writeFileSync(targetsFile, validated);
    const app = new App({ outdir: join(dir, 'cdk.out') });
    new ReleaseFunction(new Stack(app, 'Bundled'), 'RecordOutcome', {
      folder: 'record-outcome',
      targetsFile,
      environment: {},
      maxEventAge: Duration.minutes(1),
      retryAttempts: 0,
    });
    const { directory } = app.synth();
    const assets = readdirSync(directory).filter((d) => existsSync(join(directory, d, 'index.mjs')));
    expect(assets).toHaveLength(1);
    const asset = join(directory, assets[0] as string);
    const map = JSON.parse(readFileSync(join(asset, 'index.mjs.map'), 'utf8')) as SourceMap;
    expect(map.sourcesContent).toBeUndefined();
    expect(map.sources.some((s) => s.endsWith('infra/builtins/lambda-credentials.mjs'))).toBe(true);
    expect(map.sources.filter((s) => /credential-provider-(node|sso|ini)/.test(s))).toEqual([]);
    expect(readFileSync(join(asset, 'targets.json'), 'utf8')).toBe(validated);
  });

  it('still map a stack trace to the TypeScript file and line under the stack’s NODE_OPTIONS', async () => {
    const { err: stderr } = await bundleAndRun(
      'fails',
      [
        'interface Step { name: string }',
        'export const run = (step: Step): never => {',
        "  throw new Error('step ' + step.name + ' failed');",
        '};',
        "run({ name: 'Validate' });",
      ],
      { NODE_OPTIONS: FUNCTION_NODE_OPTIONS },
    );
    expect(stderr).toContain('step Validate failed');
    expect(stderr).toMatch(/fails\.ts:3:\d+/);
  });
});
