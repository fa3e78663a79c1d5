/**
 * CDK app: `npx cdk synth` / `npx cdk deploy`. The targets config is the context value
 * `targetsFile` (default: the sample `local/targets.json`); it is validated before anything is built.
 */
import { resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks, ServerlessChecks } from 'cdk-nag';
import { loadTargetsFile } from '../functions/shared/config.ts';
import { SwitchyardStack } from './stack.ts';

export const buildApp = (app: App = new App()) => {
  const targetsFile = resolve(String(app.node.tryGetContext('targetsFile') ?? 'local/targets.json'));
  const targets = loadTargetsFile(targetsFile);
  const stack = new SwitchyardStack(app, String(app.node.tryGetContext('stackName') ?? 'Switchyard'), {
    targets,
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new ServerlessChecks(app));
  return { app, stack };
};

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    buildApp().app.synth();
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(1);
  }
}
