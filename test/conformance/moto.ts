/**
 * Starts moto's server (an AWS emulator, preinstalled with moto 5 on this kind of machine; PyPI is
 * not reachable here) on loopback for the conformance tier, points the AWS SDK at it through
 * AWS_ENDPOINT_URL, and stops it afterwards.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createServer } from 'node:net';

let server: ChildProcess | undefined;

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });

export async function setup() {
  if (spawnSync('moto_server', ['--help'], { stdio: 'ignore' }).error) {
    throw new Error(
      "moto_server not found: the conformance tier needs moto 5 with its server (pip install 'moto[server]'); it is preinstalled on Switchyard's development machines",
    );
  }
  const port = await freePort();
  server = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      if ((await fetch(`${endpoint}/moto-api/`)).ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Error(`moto_server did not answer on ${endpoint} within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'conformance',
    AWS_SECRET_ACCESS_KEY: 'conformance',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
}

export function teardown() {
  server?.kill('SIGTERM');
}
