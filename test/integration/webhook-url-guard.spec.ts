import { randomUUID } from 'node:crypto';
import { userActor } from '../../src/audit/audit.service.js';
import { createServer as createTlsServer } from 'node:https';
import { createSecureContext } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { DataSource } from 'typeorm';
import { generateWebhookSecret } from '../../src/webhooks/signer.js';
import { WebhookHttpClient } from '../../src/webhooks/webhook-http-client.js';
import { WebhookOutboxService } from '../../src/webhooks/webhook-outbox.service.js';
import { WebhookSecrets } from '../../src/webhooks/webhook-secrets.js';
import { WebhooksService } from '../../src/webhooks/webhooks.service.js';
import { createTestApp, TestApp } from '../support/test-app.js';
import { TEST_TLS_CERT, TEST_TLS_KEY } from '../support/tls-fixture.js';
import { eventually, startWebhookReceiver, WebhookReceiver } from '../support/webhook-receiver.js';

describe('webhook SSRF guard (WEBHOOK_ALLOW_PRIVATE_URLS off)', () => {
  let t: TestApp;
  let db: DataSource;
  let webhooks: WebhooksService;
  let receiver: WebhookReceiver;
  let userId: string;

  beforeAll(async () => {
    t = await createTestApp({ env: { WEBHOOK_ALLOW_PRIVATE_URLS: 'false', WEBHOOK_RETRY_SCHEDULE: '0' } });
    db = t.app.get(DataSource);
    webhooks = t.app.get(WebhooksService);
    receiver = await startWebhookReceiver();
    [{ id: userId }] = await db.query('INSERT INTO users (email) VALUES ($1) RETURNING id', [
      `${randomUUID()}@example.com`,
    ]);
  });
  afterAll(async () => {
    await receiver.close();
    await t.close();
  });

  it('refuses private destinations at create time and stores nothing', async () => {
    await expect(
      webhooks.create(
        userId,
        null,
        { url: `${receiver.url}/hook`, events: ['*'] },
        { actor: userActor(userId), ip: null, userAgent: null },
      ),
    ).rejects.toMatchObject({
      code: 'WEBHOOK_URL_FORBIDDEN',
      status: 400,
    });
    expect((await webhooks.list({ userId: userId, orgId: null }, {})).items).toEqual([]);
  });

  it('checks the resolved address again at send time and does not connect to a forbidden one', async () => {
    // A row saved while the name resolved publicly, now pointing inside (as DNS rebinding would).
    const id = randomUUID();
    await db.query(
      `INSERT INTO webhook_subscriptions (id, user_id, url, events, secret_ciphertext) VALUES ($1, $2, $3, $4, $5)`,
      [
        id,
        userId,
        `http://localhost:${receiver.port}/hook`,
        ['*'],
        t.app.get(WebhookSecrets).seal(id, generateWebhookSecret()),
      ],
    );
    await db.transaction((manager) =>
      t.app.get(WebhookOutboxService).record(
        manager,
        { userId, orgId: null },
        {
          id: randomUUID(),
          type: 'run.started',
          createdAt: new Date().toISOString(),
          data: {},
        },
      ),
    );
    const [delivery] = await eventually(async () => {
      const items = (await webhooks.listDeliveries(id, {})).items;
      return items[0]?.status === 'failed' && items;
    });
    expect(delivery.attempts).toEqual([
      expect.objectContaining({
        attempt: 1,
        statusCode: null,
        error: expect.stringContaining('resolves to a loopback address'),
      }),
    ]);
    expect(receiver.requests).toHaveLength(0);
    await expect(webhooks.update(id, { url: 'http://10.0.0.7/hook' })).rejects.toMatchObject({
      code: 'WEBHOOK_URL_FORBIDDEN',
    });
  });

  it('connects to the checked address while Host names the URL’s host (no second DNS lookup)', async () => {
    const client = t.app.get(WebhookHttpClient);
    // `.invalid` never resolves (RFC 6761): the request can only arrive through the pinned address.
    const url = new URL(`http://hooks.example.invalid:${receiver.port}/pinned?q=1`);
    const result = await client.send({
      url,
      target: { address: '127.0.0.1', family: 4 },
      headers: { 'webhook-id': 'msg_1' },
      body: '{"ok":true}',
      timeoutMs: 2_000,
    });
    expect(result).toMatchObject({ ok: true, statusCode: 200, error: null });
    const request = receiver.requests.at(-1)!;
    expect(request.path).toBe('/pinned?q=1');
    expect(request.headers.host).toBe(`hooks.example.invalid:${receiver.port}`);
    expect(request.body).toBe('{"ok":true}');
  });

  it('over https sends SNI for the URL’s host and verifies the certificate against it, connecting to the pinned address', async () => {
    const context = createSecureContext({ key: TEST_TLS_KEY, cert: TEST_TLS_CERT });
    const servernames: string[] = [];
    const server = createTlsServer({
      SNICallback: (servername, callback) => {
        servernames.push(servername);
        callback(null, context);
      },
    });
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const result = await t.app.get(WebhookHttpClient).send({
        url: new URL(`https://hooks.example.invalid:${port}/tls`),
        target: { address: '127.0.0.1', family: 4 },
        headers: {},
        body: '{}',
        timeoutMs: 2_000,
      });
      expect(servernames).toEqual(['hooks.example.invalid']);
      // The certificate names the host but no trusted CA signed it: verification is on.
      expect(result).toMatchObject({ ok: false, statusCode: null, error: expect.stringMatching(/self[- ]signed/i) });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
