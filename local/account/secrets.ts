/**
 * Simulated Secrets Manager (GetSecretValue by name or ARN) and the receivers of Slack and Teams
 * webhooks: a real HTTP server on loopback that records every POST and can be told to fail.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { notFound } from './errors.ts';

export class SecretsModel {
  readonly secrets = new Map<string, string>();

  constructor(private readonly envelope: { region: string; account: string }) {}

  put(name: string, value: string) {
    this.secrets.set(name, value);
  }

  /** A secret's ARN: Secrets Manager appends a random 6-character suffix to the name. */
  arnOf(nameOrArn: string) {
    if (nameOrArn.startsWith('arn:')) return nameOrArn;
    const name = nameOrArn;
    return `arn:aws:secretsmanager:${this.envelope.region}:${this.envelope.account}:secret:${name}-AbCdEf`;
  }

  GetSecretValue(input: { SecretId: string }) {
    const name = [...this.secrets.keys()].find(
      (n) => n === input.SecretId || this.arnOf(n) === input.SecretId,
    );
    if (name === undefined) {
      throw notFound('ResourceNotFoundException', "Secrets Manager can't find the specified secret.");
    }
    return { ARN: this.arnOf(name), Name: name, SecretString: this.secrets.get(name) };
  }
}

export interface ReceivedWebhook {
  path: string;
  body: unknown;
  /** Virtual time of receipt. */
  at: number;
  status: number;
}

export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  /** Paths that answer 500 (a broken Slack app, a deleted Teams workflow). */
  readonly failing = new Set<string>();
  private server: Server | undefined;
  private port = 0;

  async start(): Promise<void> {
    if (this.server) return;
    this.server = createServer((req, res) => {
      let text = '';
      req.on('data', (chunk) => {
        text += chunk;
      });
      req.on('end', () => {
        const path = req.url ?? '/';
        const status = this.failing.has(path) ? 500 : 200;
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {}
        this.received.push({ path, body, at: Date.now(), status });
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'internal_error');
      });
    });
    this.server.keepAliveTimeout = 1000;
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  url(path: string) {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async close() {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
  }
}
