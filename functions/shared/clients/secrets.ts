import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { requestHandler } from './http.ts';

export const secrets = /* @__PURE__ */ new SecretsManagerClient({ requestHandler });
