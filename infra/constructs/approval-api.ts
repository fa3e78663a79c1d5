/**
 * The approval API: GET/POST /approvals/{id} (the signed-link pages) and POST /slack/interactions,
 * a REST API behind an AWS WAF web ACL that limits each client on its own
 * (infra/approval-api-limits.ts says why). The routes have no API Gateway authorizer on purpose:
 * each request proves itself inside the handler (an HMAC-signed link, or Slack's request signature).
 */
import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  MethodLoggingLevel,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { CfnWebACL, CfnWebACLAssociation } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import {
  APPROVAL_API_STAGE,
  BLOCKED_RESPONSE,
  METHOD_THROTTLE,
  PER_CLIENT_LIMITS,
} from '../approval-api-limits.ts';

export interface ApprovalApiProps {
  pages: IFunction;
  slack: IFunction;
}

const visibility = (metricName: string) => ({
  cloudWatchMetricsEnabled: true,
  metricName,
  sampledRequestsEnabled: true,
});

export class ApprovalApi extends Construct {
  readonly api: RestApi;
  readonly firewall: CfnWebACL;

  constructor(scope: Construct, id: string, props: ApprovalApiProps) {
    super(scope, id);
    const accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.api = new RestApi(this, 'Api', {
      restApiName: 'switchyard-approvals',
      description: 'Switchyard approval links and Slack interactivity',
      endpointTypes: [EndpointType.REGIONAL],
      // REST APIs write access logs through the account's API Gateway CloudWatch role ("To enable
      // CloudWatch Logs, you must grant API Gateway permission…", docs.aws.amazon.com/apigateway/
      // latest/developerguide/set-up-logging.html): without it the stage fails to deploy in an
      // account that never set one. Execution logs stay off (loggingLevel OFF): they would record
      // query strings, which carry link signatures.
      cloudWatchRole: true,
      deployOptions: {
        stageName: APPROVAL_API_STAGE,
        tracingEnabled: true,
        loggingLevel: MethodLoggingLevel.OFF,
        // Every method its own bucket (REST APIs apply stage throttling per method).
        throttlingRateLimit: METHOD_THROTTLE.rate,
        throttlingBurstLimit: METHOD_THROTTLE.burst,
        // No query strings in the log format: they carry link signatures.
        accessLogDestination: new LogGroupLogDestination(accessLogs),
        accessLogFormat: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            method: '$context.httpMethod',
            path: '$context.resourcePath',
            status: '$context.status',
            latency: '$context.responseLatency',
            waf: '$context.waf.status',
          }),
        ),
      },
    });
    const approval = this.api.root.addResource('approvals').addResource('{id}');
    const pages = new LambdaIntegration(props.pages);
    approval.addMethod('GET', pages);
    approval.addMethod('POST', pages);
    this.api.root
      .addResource('slack')
      .addResource('interactions')
      .addMethod('POST', new LambdaIntegration(props.slack));

    this.firewall = new CfnWebACL(this, 'Firewall', {
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      visibilityConfig: visibility('SwitchyardApprovalApi'),
      customResponseBodies: {
        TooManyRequests: { contentType: 'TEXT_PLAIN', content: BLOCKED_RESPONSE.body },
      },
      rules: PER_CLIENT_LIMITS.map((rule, priority) => ({
        name: rule.name,
        priority,
        action: {
          block: {
            customResponse: {
              responseCode: BLOCKED_RESPONSE.status,
              customResponseBodyKey: 'TooManyRequests',
            },
          },
        },
        statement: {
          rateBasedStatement: {
            limit: rule.limit,
            evaluationWindowSec: rule.windowSeconds,
            aggregateKeyType: 'IP',
            scopeDownStatement: {
              byteMatchStatement: {
                fieldToMatch: { uriPath: {} },
                positionalConstraint: 'CONTAINS',
                searchString: rule.pathContains,
                textTransformations: [{ priority: 0, type: 'NONE' }],
              },
            },
          },
        },
        visibilityConfig: visibility(rule.name),
      })),
    });
    new CfnWebACLAssociation(this, 'FirewallAssociation', {
      resourceArn: this.api.deploymentStage.stageArn,
      webAclArn: this.firewall.attrArn,
    });

    Validations.of(this.api).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          'The account-level role API Gateway writes REST API access logs with; AWS maintains the policy for exactly that.',
      },
      {
        id: 'AwsSolutions-APIG4',
        reason:
          'Approvers follow emailed links or click Slack buttons: each request is authenticated in the handler by an HMAC link signature or Slack request signature.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason:
          'Approvers have no Cognito identity: a link is signed for one approver, and Slack signs its requests; both are checked in the handler.',
      },
      {
        id: 'AwsSolutions-APIG2',
        reason:
          'Each handler validates its request (signature first, then the fields); API Gateway request validation would parse bodies before the signature is checked.',
      },
      {
        id: 'AwsSolutions-APIG6',
        reason:
          'Execution logging would record query strings and bodies, which carry link signatures; access logs (without them) are on.',
      },
    );
  }

  /** The base URL links point at: `https://{id}.execute-api.{region}.amazonaws.com/live` (no trailing slash). */
  get baseUrl(): string {
    return this.api.urlForPath('/').replace(/\/$/, '');
  }
}
