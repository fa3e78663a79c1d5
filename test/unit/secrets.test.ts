/** Secrets: an empty one is an error (an empty HMAC key would let anyone sign), keys are cached 5 minutes. */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  cachedSecretString,
  clearSecretCache,
  secretString,
  signingKey,
} from '../../functions/shared/secrets.ts';

const secrets = mockClient(SecretsManagerClient);
beforeEach(() => {
  secrets.reset();
  clearSecretCache();
  vi.useRealTimers();
});

describe('secrets', () => {
  it('refuses a secret with no value or only whitespace, naming it', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: '  ' });
    await expect(secretString(secrets as never, 'slack-signing')).rejects.toThrow(
      'secret slack-signing holds no value',
    );
    secrets.on(GetSecretValueCommand).resolves({});
    await expect(secretString(secrets as never, 'slack-signing')).rejects.toMatchObject({
      name: 'ResourceNotFound',
    });
  });

  it('refuses a signing key shorter than 32 characters', async () => {
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'short' });
    await expect(signingKey(secrets as never, 'link-key')).rejects.toThrow('shorter than 32 characters');
  });

  it('reads a cached secret once per 5 minutes', async () => {
    vi.useFakeTimers({ now: 0 });
    secrets.on(GetSecretValueCommand).resolves({ SecretString: 'k'.repeat(40) });
    for (let i = 0; i < 3; i++) await cachedSecretString(secrets as never, 'link-key');
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    vi.setSystemTime(5 * 60_000);
    await cachedSecretString(secrets as never, 'link-key');
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });
});
