/**
 * The users' own Lambda functions that hooks name, as the state machine's Lambda integration
 * (`arn:aws:states:::lambda:invoke`, synchronous) meets them. Not AWS: these stand in for the user's
 * code (a smoke test, a load test, a migration run from Lambda), as task-programs.ts does for tasks.
 * - A function whose name contains `load` is a load test of the release's new colour: for two minutes
 *   it sends 20 requests/s through the target's test listener (the ALB counts them), then answers its
 *   figures (`p95Ms`, `errorRate`, `rps`) from the image the release's task definition runs.
 * - Any other answers `{"status": "Succeeded"}` after 2-10 s.
 * Each starts after a cold start of up to a second. An unknown function is Lambda's
 * `ResourceNotFoundException`, which Step Functions raises as `Lambda.ResourceNotFoundException`.
 * Faults (local/faults.ts `lambdaHooks`): throw, hang, or answer something else.
 */
import { hookGroup } from '../../functions/shared/hooks.ts';
import type { Faults } from '../faults.ts';
import type { Random } from '../rng.ts';
import type { LoadSink } from './ecs-tasks.ts';
import type { ImageModel } from './task-programs.ts';

/** What Step Functions raises for a function's error: the errorType as the name, its JSON as the cause. */
const functionError = (type: string, message: string) =>
  Object.assign(new Error(JSON.stringify({ errorType: type, errorMessage: message, trace: [] })), {
    name: type,
  });

/** The requests per second a stand-in load test sends (as the k6 program's default RATE). */
const LOAD_RPS = 20;

/** `fn`, or `fn:qualifier`: a function name or ARN without its account and Region. */
const qualified = (name: string) => name.replace(/^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:/, '');

export class HookFunctions {
  /** Where a load test's requests are counted (the traffic model, by the task group's name). */
  loads: LoadSink | undefined;
  /** Function name (and ARN) → whether it exists in the account. */
  readonly functions = new Set<string>();
  /** Each invocation, for tests: function, payload, when. */
  readonly invocations: { functionName: string; payload: unknown; at: Date }[] = [];

  constructor(
    private readonly env: { region: string; account: string },
    private readonly random: Random,
    private readonly faults: Faults,
    private readonly images: ImageModel & { imageOf: (taskDefinitionArn: string) => string | undefined },
  ) {}

  /** The user deployed a function (the world does, for every Lambda hook of its targets). */
  add(name: string) {
    // Its name with the version or alias it was published under, if any (`fn`, `fn:live`).
    this.functions.add(qualified(name));
  }

  /** Whether `functionName` (a name, `name:alias`, or an ARN) names a function of this account. */
  has(functionName: string): boolean {
    const region = functionName.match(/^arn:aws[a-z-]*:lambda:([a-z0-9-]+):(\d{12}):/);
    // An alias or version that was never published is not found, as in Lambda.
    return (
      this.functions.has(qualified(functionName)) &&
      !(region && (region[1] !== this.env.region || region[2] !== this.env.account))
    );
  }

  /** The Lambda integration's answer: `{ StatusCode, ExecutedVersion, Payload }`, or the function's error. */
  async invoke(functionName: string, payload: Record<string, unknown>) {
    const bare = qualified(functionName).split(':')[0] ?? '';
    if (!this.has(functionName))
      throw Object.assign(new Error(`Function not found: ${functionName}`), {
        name: 'Lambda.ResourceNotFoundException',
      });
    this.invocations.push({ functionName, payload, at: new Date() });
    const fault = this.faults.lambdaHookFault(bare);
    // A load test sends its requests through the target's test listener while it runs, as a k6
    // task does: the new colour's target group counts them (test-traffic analysis judges them).
    const loading = /load/.test(bare) && !fault?.error;
    const id = `lambda:${bare}:${this.invocations.length}`;
    if (loading) this.loads?.start(hookGroup(String(payload.target ?? '')), id, LOAD_RPS);
    const runMs =
      this.random.int(100, 1000) +
      (fault?.runSeconds !== undefined
        ? fault.runSeconds * 1000
        : loading
          ? // A load test runs two minutes, or to just inside its timeout.
            Math.max(1, Math.min(120, Number(payload.timeoutSeconds ?? 120) - 10)) * 1000
          : this.random.int(2000, 10_000));
    await new Promise((resolve) => setTimeout(resolve, runMs));
    if (loading) this.loads?.stop(id);
    if (fault?.hang) await new Promise(() => {});
    if (fault?.error) {
      const [type, ...message] = fault.error.split(': ');
      throw functionError(type ?? 'Error', message.join(': '));
    }
    const answer =
      fault && 'answer' in fault
        ? fault.answer
        : /load/.test(bare)
          ? this.loadTest(payload)
          : { status: 'Succeeded' };
    return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: answer };
  }

  private loadTest(payload: Record<string, unknown>) {
    const image = this.images.imageOf(String(payload.taskDefinitionArn ?? '')) ?? '';
    return {
      p95Ms: Math.round(this.images.p95Ms(image) * (0.95 + this.random.int(0, 100) / 1000)),
      errorRate: Number(this.images.errorRate(image).toFixed(4)),
      rps: LOAD_RPS,
    };
  }
}
