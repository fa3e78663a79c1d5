/**
 * What a one-off task's command does in the simulated account. Not AWS: these stand in for the
 * user's own containers (a migration tool, a smoke test, k6), so hooks can be tried end to end.
 * - A command naming `k6` is a load test against the release's new colour: it runs for `DURATION`
 *   (k6's `--duration`, default 60 s) at `RATE` requests per second (default 20) and prints its
 *   figures on a `SWITCHYARD_RESULT` line, as a k6 `handleSummary` would. Its p95 is the image's
 *   latency (a slow image is `faults.latencyMs`), its error rate the image's 5xx share, and the rate
 *   it sustains drops when responses are slower than its virtual users can wait for.
 * - Anything else (a migration, a smoke test) runs for 20-40 s and exits 0.
 * Faults (local/faults.ts `tasks`) make a command exit non-zero, hang, or fail to start.
 */
import type { Random } from '../rng.ts';
import type { TaskProgram } from './ecs-tasks.ts';

export interface ImageModel {
  /** 95th percentile of the image's response times, in ms. */
  p95Ms: (image: string) => number;
  /** Share of requests the image answers with 5xx. */
  errorRate: (image: string) => number;
}

/** k6's `--duration 2m` / `DURATION=90s` as seconds. */
const seconds = (text: string | undefined, fallback: number): number => {
  const m = text?.match(/^(\d+)(ms|s|m|h)?$/);
  if (!m) return fallback;
  const n = Number(m[1]);
  return m[2] === 'h' ? n * 3600 : m[2] === 'm' ? n * 60 : m[2] === 'ms' ? Math.ceil(n / 1000) : n;
};

export const taskPrograms =
  (images: ImageModel, random: Random): TaskProgram =>
  ({ command, environment, image }) => {
    const text = command.join(' ');
    if (/\bk6\b/.test(text)) {
      const flag = command.indexOf('--duration');
      const runSeconds = seconds(flag >= 0 ? command[flag + 1] : environment.DURATION, 60);
      const rate = Number(environment.RATE ?? 20);
      const vus = Number(environment.VUS ?? 10);
      // Noise of a real measurement: ±5% on the latency, a little on the error share.
      const p95Ms = Math.round(images.p95Ms(image) * (0.95 + random.int(0, 100) / 1000));
      const errorRate = Math.min(1, images.errorRate(image) * (0.9 + random.int(0, 200) / 1000));
      // Each virtual user waits for its answer: at most vus / latency requests per second.
      const rps = Number(Math.min(rate, (vus * 1000) / Math.max(1, p95Ms)).toFixed(1));
      return {
        runSeconds,
        exitCode: 0,
        lines: [
          `running (${runSeconds}s), ${vus} VUs, target ${rate} req/s`,
          `http_req_duration p(95)=${p95Ms}ms  http_req_failed ${(errorRate * 100).toFixed(2)}%  http_reqs ${rps}/s`,
          `SWITCHYARD_RESULT ${JSON.stringify({ p95Ms, errorRate: Number(errorRate.toFixed(4)), rps })}`,
        ],
        // Its requests reach the release's new colour through the test listener, so the ALB's
        // metrics count them (traffic.ts): what test-traffic analysis judges.
        load: { rps },
      };
    }
    return {
      runSeconds: random.int(20, 40),
      exitCode: 0,
      lines: [`${text}: done`],
    };
  };
