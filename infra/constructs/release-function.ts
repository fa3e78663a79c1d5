import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ISecurityGroup, IVpc, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { FunctionFolder } from '../../state-machines/definitions.ts';
import { bundleAliases, bundleOptions, REQUIRE_SHIM } from '../bundling.ts';
import { FUNCTION_MEMORY_MB, FUNCTION_NODE_OPTIONS } from '../function-runtime.ts';

export interface ReleaseFunctionProps {
  /** Folder under `functions/` whose `handler.ts` exports `handler`. */
  folder: FunctionFolder;
  /** The targets document the stack validated (`validatedTargetsDocument`), copied into the bundle as `targets.json`. */
  targetsFile: string;
  environment: Record<string, string>;
  /** Default 30 s; steps that probe or wait on AWS calls get more. */
  timeout?: Duration;
  /** For asynchronously invoked functions: where an event goes after Lambda's own retries fail. */
  deadLetterQueue?: IQueue;
  /** How old an asynchronous event may get before Lambda drops it (to the dead-letter queue, if any). */
  maxEventAge: Duration;
  /** Lambda's retries of an asynchronous event whose invocation failed (0 to 2). */
  retryAttempts: number;
  /** Attaches the function to a VPC (subnets and security groups), for reach into the targets' network. */
  network?: { vpc: IVpc; vpcSubnets: SubnetSelection; securityGroups: ISecurityGroup[] };
}

/**
 * The house Lambda: Node.js 22 on ARM64, bundled locally by esbuild (no Docker), minified ESM with
 * source maps, X-Ray tracing, explicit memory and timeout, and a log group with retention.
 */
export class ReleaseFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: ReleaseFunctionProps) {
    const logGroup = new LogGroup(scope, `${id}Logs`, {
      retention: RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    super(scope, id, {
      entry: fileURLToPath(new URL(`../../functions/${props.folder}/handler.ts`, import.meta.url)),
      handler: 'handler',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      // One vCPU, for every function: the local runtime models cold starts at this size (infra/function-runtime.ts).
      memorySize: FUNCTION_MEMORY_MB,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: Tracing.ACTIVE,
      // On-failure destination rather than a DLQ: the record carries the error, not only the event.
      ...(props.deadLetterQueue ? { onFailure: new SqsDestination(props.deadLetterQueue) } : {}),
      retryAttempts: props.retryAttempts,
      maxEventAge: props.maxEventAge,
      logGroup,
      ...(props.network ?? {}),
      environment: {
        ...props.environment,
        SWITCHYARD_TARGETS_FILE: '/var/task/targets.json',
        NODE_OPTIONS: FUNCTION_NODE_OPTIONS,
        POWERTOOLS_SERVICE_NAME: 'switchyard',
      },
      bundling: {
        format: OutputFormat.ESM,
        // As infra/bundling.ts says, which the bench and the bundle report build with.
        target: bundleOptions.target,
        minify: bundleOptions.minify,
        sourceMap: bundleOptions.sourcemap,
        sourcesContent: bundleOptions.sourcesContent,
        // ESM output: some dependencies still call require(); give them one.
        banner: REQUIRE_SHIM,
        mainFields: bundleOptions.mainFields,
        // node:http and node:https through CommonJS, and the SDK's credential chain cut to the
        // environment Lambda sets: each cost every cold start (infra/bundling.ts). That assumes
        // Lambda's usual hand-over of the role's credentials in environment variables; a runtime
        // that serves them from a container endpoint instead (SnapStart does, for the languages it
        // supports; it has none for Node.js) would need the chain's container link back.
        esbuildArgs: { '--alias': Object.entries(bundleAliases).map(([name, path]) => `${name}=${path}`) },
        // The AWS SDK is bundled (tree-shaken ES modules) rather than loaded from the nodejs22.x
        // runtime's copy: every bundle grows (about 170 KB -> 450 KB, `npm run bundle-report`), but
        // module initialisation is less than half (acquire-lock 146 -> 53 ms median, the bench's
        // runtime-SDK column, 2026-12-04): an ES
        // module importing the runtime's CommonJS SDK packages pays Node's format detection and
        // CommonJS export lexing for each package, whole. It also pins the SDK version we test.
        externalModules: [],
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          // The bundle carries the exact config the stack was validated and built from.
          afterBundling: (_inputDir: string, outputDir: string) => [
            `cp "${props.targetsFile}" "${outputDir}/targets.json"`,
          ],
        },
      },
    });
  }
}
