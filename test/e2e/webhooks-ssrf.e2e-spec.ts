import { randomUUID } from 'node:crypto';
import { DataSource } from 'typeorm';
import { generateWebhookSecret } from '../../src/webhooks/signer.js';
import { WebhookSecrets } from '../../src/webhooks/webhook-secrets.js';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { createTestApp, TestApp } from '../support/test-app.js';

const BASE = '/api/v1/webhooks';

/** WEBHOOK_ALLOW_PRIVATE_URLS is off here, as in production. */
describe('webhook URL guard (HTTP, private URLs not allowed)', () => {
  let t: TestApp;
  let user: RegisteredUser;

  beforeAll(async () => {
    t = await createTestApp({ env: { WEBHOOK_ALLOW_PRIVATE_URLS: 'false' } });
    user = await registerUser(t);
  });
  afterAll(async () => {
    await t.close();
  });

  it.each([
    ['loopback', 'http://127.0.0.1:8080/hook'],
    ['loopback by name', 'http://localhost/hook'],
    ['IPv6 loopback', 'http://[::1]/hook'],
    ['private 10/8', 'http://10.0.0.5/hook'],
    ['private 172.16/12', 'https://172.20.1.1/hook'],
    ['private 192.168/16', 'http://192.168.0.10/hook'],
    ['link-local (cloud metadata)', 'http://169.254.169.254/latest/meta-data/'],
    ['IPv6 link-local', 'http://[fe80::1]/hook'],
    ['unique-local', 'http://[fd00::1]/hook'],
    ['IPv4-mapped IPv6', 'http://[::ffff:127.0.0.1]/hook'],
    ['IPv4-mapped IPv6 (hex)', 'http://[::ffff:a00:1]/hook'],
    ['carrier-grade NAT', 'http://100.64.0.1/hook'],
    ['multicast', 'http://224.0.0.251/hook'],
    ['unspecified', 'http://0.0.0.0/hook'],
    ['decimal host', 'http://2130706433/hook'],
    ['hex host', 'http://0x7f.1/hook'],
    ['short host', 'http://127.1/hook'],
    ['octal host', 'http://0177.0.0.1/hook'],
    ['ftp scheme', 'ftp://example.com/hook'],
    ['file scheme', 'file:///etc/passwd'],
    ['javascript scheme', 'javascript:alert(1)'],
    ['credentials', 'https://user:pass@example.com/hook'],
  ])('refuses %s (%s) with 400 WEBHOOK_URL_FORBIDDEN', async (_label, url) => {
    const res = await t
      .http()
      .post(BASE)
      .set(user.auth)
      .send({ url, events: ['*'] })
      .expect(400);
    expect(res.body).toMatchObject({
      code: 'WEBHOOK_URL_FORBIDDEN',
      status: 400,
      errors: [{ field: 'url', message: expect.any(String) }],
    });
  });

  it('stores none of them', async () => {
    expect((await t.http().get(BASE).set(user.auth).expect(200)).body.items).toEqual([]);
  });

  it('refuses a private URL on update too, keeping the old one', async () => {
    // Saved earlier with a public URL (inserted directly: this offline test cannot resolve one).
    const id = randomUUID();
    await t.app
      .get(DataSource)
      .query(
        'INSERT INTO webhook_subscriptions (id, user_id, url, events, secret_ciphertext) VALUES ($1, $2, $3, $4, $5)',
        [
          id,
          user.id,
          'https://hooks.example.com/quorum',
          ['*'],
          t.app.get(WebhookSecrets).seal(id, generateWebhookSecret()),
        ],
      );
    const res = await t
      .http()
      .patch(`${BASE}/${id}`)
      .set(user.auth)
      .send({ url: 'http://[::ffff:169.254.169.254]/' })
      .expect(400);
    expect(res.body.code).toBe('WEBHOOK_URL_FORBIDDEN');
    expect((await t.http().get(`${BASE}/${id}`).set(user.auth).expect(200)).body.url).toBe(
      'https://hooks.example.com/quorum',
    );
  });
});
