/** Reads secrets from Secrets Manager: one place, so an empty or missing value is always an error. */
import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ResourceNotFound } from './errors.ts';

/** The secret's string value; a secret without one (or an empty one) is `ResourceNotFound`. */
export const secretString = async (secrets: Pick<SecretsManagerClient, 'send'>, secretId: string) => {
  const out = await secrets.send(new GetSecretValueCommand({ SecretId: secretId }));
  const value = out.SecretString?.trim() ?? '';
  if (!value) throw new ResourceNotFound(`secret ${secretId} holds no value`);
  return value;
};

/**
 * Keys read on every request (link verification, Slack signatures) are kept for 5 minutes per
 * execution environment: a request should not wait on Secrets Manager, and a replaced secret takes
 * effect within 5 minutes. Values that must take effect at once (webhook URLs) are not cached.
 */
const MAX_AGE_MS = 5 * 60_000;
const cache = new Map<string, { value: string; at: number }>();

export const cachedSecretString = async (secrets: Pick<SecretsManagerClient, 'send'>, secretId: string) => {
  const hit = cache.get(secretId);
  if (hit && Date.now() - hit.at < MAX_AGE_MS) return hit.value;
  const value = await secretString(secrets, secretId);
  cache.set(secretId, { value, at: Date.now() });
  return value;
};

/** Forgets cached secrets (the local runtime: each runtime is a fresh deployment). */
export const clearSecretCache = () => cache.clear();

/** The approval-link signing key: at least 32 characters, or the links could be forged. */
export const signingKey = async (secrets: Pick<SecretsManagerClient, 'send'>, secretId: string) => {
  const key = await cachedSecretString(secrets, secretId);
  if (key.length < 32)
    throw new ResourceNotFound(`secret ${secretId} holds a signing key shorter than 32 characters`);
  return key;
};
