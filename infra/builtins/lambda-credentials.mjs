// Bundling alias for '@aws-sdk/credential-provider-node' in the functions' bundles (infra/bundling.ts):
// the SDK's default chain, cut to its first link. Lambda hands a function its role's credentials in
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, which the full chain reads first
// and stops at ("Defined runtime environment variables", docs.aws.amazon.com/lambda/latest/dg/
// configuration-envvars.html). The rest of the chain (SSO, shared files, process, web identity,
// container and instance metadata, console login) and the STS and SSO clients it brings were 134 KB
// of every bundle, parsed at each cold start. The CLI, run by people with profiles, keeps the chain.
import { fromEnv } from '@aws-sdk/credential-provider-env';

export const defaultProvider = (init = {}) => fromEnv(init);
