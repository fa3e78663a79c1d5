import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

export const secrets = /* @__PURE__ */ new SecretsManagerClient({});
