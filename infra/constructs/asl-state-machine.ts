import { readFileSync } from 'node:fs';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { placeholdersIn } from '../../state-machines/definitions.ts';

export interface AslStateMachineProps {
  /** Path of the `.asl.json` file: the reviewable artifact, loaded as text (not an S3 asset). */
  definitionFile: string;
  stateMachineName: string;
  /** Placeholder (without `${}`) → the function it stands for. Every placeholder must be here. */
  functions: Record<string, IFunction>;
}

/**
 * One construct owns the ASL file, its substitutions and the invoke grants, so placeholders and
 * permissions cannot drift: each placeholder is a function the state machine may invoke, and the
 * state machine may invoke nothing else. Standard type, logging level ALL without execution data
 * (task tokens must not reach logs), X-Ray tracing.
 */
export class AslStateMachine extends Construct {
  readonly stateMachine: StateMachine;

  constructor(scope: Construct, id: string, props: AslStateMachineProps) {
    super(scope, id);
    const text = readFileSync(props.definitionFile, 'utf8');
    const used = placeholdersIn(text).sort();
    const given = Object.keys(props.functions).sort();
    if (used.join() !== given.join()) {
      throw new Error(
        `${props.definitionFile}: placeholders ${used.join(', ')} do not match the functions given (${given.join(', ')})`,
      );
    }
    const logs = new LogGroup(this, 'Logs', {
      logGroupName: `/aws/vendedlogs/states/${props.stateMachineName}`,
      retention: RetentionDays.SIX_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.stateMachine = new StateMachine(this, 'Resource', {
      stateMachineName: props.stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromString(text),
      definitionSubstitutions: Object.fromEntries(
        Object.entries(props.functions).map(([placeholder, fn]) => [placeholder, fn.functionArn]),
      ),
      logs: { destination: logs, level: LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
      timeout: Duration.days(7),
    });
    // Exactly the unqualified ARNs the definition names (grantInvoke would add `:*` for every version).
    this.stateMachine.addToRolePolicy(
      new PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [...new Set(Object.values(props.functions))].map((fn) => fn.functionArn),
      }),
    );
  }
}
