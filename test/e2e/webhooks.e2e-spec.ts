import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { DataSource } from 'typeorm';
import { WebhookOutboxService } from '../../src/webhooks/webhook-outbox.service.js';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { createTestApp, TestApp } from '../support/test-app.js';
import { answer, eventually, startWebhookReceiver, WebhookReceiver } from '../support/webhook-receiver.js';

const BASE = '/api/v1/webhooks';

describe('webhooks (HTTP)', () => {
  let t: TestApp;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    t = await createTestApp({
      env: { WEBHOOK_ALLOW_PRIVATE_URLS: 'true', WEBHOOK_RETRY_SCHEDULE: '0', WEBHOOK_MAX_SUBSCRIPTIONS_PER_USER: '3' },
    });
    receiver = await startWebhookReceiver();
  });
  afterAll(async () => {
    await receiver.close();
    await t.close();
  });
  beforeEach(() => receiver.respond(answer(200, 'ok')));

  const create = (user: RegisteredUser, body: Record<string, unknown> = {}) =>
    t
      .http()
      .post(BASE)
      .set(user.auth)
      .send({ url: `${receiver.url}/hook`, events: ['*'], ...body });

  async function settledDeliveries(user: RegisteredUser, id: string, count = 1) {
    return eventually(async () => {
      const res = await t.http().get(`${BASE}/${id}/deliveries`).set(user.auth).expect(200);
      const items = res.body.items as Array<{ status: string }>;
      return items.length >= count && items.every((d) => d.status !== 'pending') && res.body.items;
    });
  }

  it('requires a signed-in user', async () => {
    const res = await t.http().get(BASE).expect(401);
    expect(res.body.code).toBe('UNAUTHENTICATED');
    await t
      .http()
      .post(BASE)
      .send({ url: receiver.url, events: ['*'] })
      .expect(401);
  });

  it('creates a webhook and shows its secret only once', async () => {
    const user = await registerUser(t);
    const res = await create(user, { events: ['run.completed', 'run.failed'], description: 'CI notifier' }).expect(201);
    expect(res.body).toMatchObject({
      id: expect.any(String),
      url: `${receiver.url}/hook`,
      events: ['run.completed', 'run.failed'],
      description: 'CI notifier',
      enabled: true,
      secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/]{43}=$/),
    });
    const got = await t.http().get(`${BASE}/${res.body.id}`).set(user.auth).expect(200);
    expect(got.body).not.toHaveProperty('secret');
    expect(got.body).toMatchObject({ id: res.body.id, enabled: true, disabledReason: null });
    const listed = await t.http().get(BASE).set(user.auth).expect(200);
    expect(listed.body).toEqual({ items: [got.body], nextCursor: null });
    expect(JSON.stringify(listed.body)).not.toContain('whsec_');
    // At rest the secret is encrypted, never plain.
    const [row] = await t.app
      .get(DataSource)
      .query('SELECT secret_ciphertext FROM webhook_subscriptions WHERE id = $1', [res.body.id]);
    expect(row.secret_ciphertext).not.toContain(res.body.secret.slice(6));
  });

  it.each([
    [{ events: ['*'] }, 'url'],
    [{ url: 'x', events: [] }, 'events'],
    [{ events: ['run.exploded'] }, 'events'],
    [{ events: ['agent.delta'] }, 'events'],
    [{ events: ['*', 'run.failed'] }, 'events'],
    [{ events: ['run.failed', 'run.failed'] }, 'events'],
    [{ events: 'run.failed' }, 'events'],
    [{ events: ['*'], secret: 'whsec_mine' }, 'secret'],
    [{ events: ['*'], description: 'x'.repeat(501) }, 'description'],
  ])('refuses bad input %j with 400 naming %s', async (body, field) => {
    const user = await registerUser(t);
    const payload = field === 'url' ? body : { url: `${receiver.url}/hook`, ...body };
    const res = await t.http().post(BASE).set(user.auth).send(payload).expect(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('refuses a non-http URL and a malformed id', async () => {
    const user = await registerUser(t);
    expect((await create(user, { url: 'ftp://example.com/x' }).expect(400)).body.code).toBe('WEBHOOK_URL_FORBIDDEN');
    expect((await t.http().get(`${BASE}/not-a-uuid`).set(user.auth).expect(400)).body.code).toBe('BAD_REQUEST');
  });

  it('updates url, events, description and enabled; validates the same way', async () => {
    const user = await registerUser(t);
    const { body: hook } = await create(user).expect(201);
    const res = await t
      .http()
      .patch(`${BASE}/${hook.id}`)
      .set(user.auth)
      .send({ url: `${receiver.url}/other`, events: ['task.created'], description: 'new', enabled: false })
      .expect(200);
    expect(res.body).toMatchObject({
      url: `${receiver.url}/other`,
      events: ['task.created'],
      description: 'new',
      enabled: false,
      disabledReason: 'user',
    });
    const enabled = await t.http().patch(`${BASE}/${hook.id}`).set(user.auth).send({ enabled: true }).expect(200);
    expect(enabled.body).toMatchObject({ enabled: true, disabledReason: null });
    expect(
      (
        await t
          .http()
          .patch(`${BASE}/${hook.id}`)
          .set(user.auth)
          .send({ events: ['nope'] })
          .expect(400)
      ).body.code,
    ).toBe('VALIDATION_FAILED');
    expect(
      (await t.http().patch(`${BASE}/${hook.id}`).set(user.auth).send({ enabled: 'yes' }).expect(400)).body.code,
    ).toBe('VALIDATION_FAILED');
    expect(
      (await t.http().patch(`${BASE}/${hook.id}`).set(user.auth).send({ secret: 'x' }).expect(400)).body.code,
    ).toBe('VALIDATION_FAILED');
  });

  it('limits webhooks per user (WEBHOOK_MAX_SUBSCRIPTIONS_PER_USER) and pages the list', async () => {
    const user = await registerUser(t);
    for (let i = 0; i < 3; i++) await create(user).expect(201);
    const res = await create(user).expect(409);
    expect(res.body.code).toBe('WEBHOOK_LIMIT_REACHED');
    const first = await t.http().get(`${BASE}?limit=2`).set(user.auth).expect(200);
    expect(first.body.items).toHaveLength(2);
    const second = await t.http().get(`${BASE}?limit=2&cursor=${first.body.nextCursor}`).set(user.auth).expect(200);
    expect(second.body).toMatchObject({ items: [expect.any(Object)], nextCursor: null });
    expect((await t.http().get(`${BASE}?limit=500`).set(user.auth).expect(400)).body.code).toBe('VALIDATION_FAILED');
    // Another user has a limit of their own.
    await create(await registerUser(t)).expect(201);
  });

  it('sends webhook.test, signed, and logs it with its attempts', async () => {
    const user = await registerUser(t);
    const { body: hook } = await create(user, { events: ['pull_request.opened'] }).expect(201);
    receiver.respond(answer(200, '{"received":true}'));
    const queued = await t.http().post(`${BASE}/${hook.id}/test`).set(user.auth).expect(202);
    expect(queued.body).toMatchObject({ eventType: 'webhook.test', status: 'pending', attempts: [] });
    const request = await eventually(async () =>
      receiver.requests.find((r) => r.headers['webhook-id'] === queued.body.eventId),
    );
    const event = new Webhook(hook.secret).verify(request.body, request.headers as Record<string, string>);
    expect(event).toMatchObject({ id: queued.body.eventId, type: 'webhook.test', data: { webhookId: hook.id } });

    const [delivery] = await settledDeliveries(user, hook.id);
    expect(delivery).toMatchObject({
      id: queued.body.id,
      eventId: queued.body.eventId,
      eventType: 'webhook.test',
      status: 'succeeded',
      attemptCount: 1,
      lastStatusCode: 200,
      attempts: [
        {
          attempt: 1,
          statusCode: 200,
          durationMs: expect.any(Number),
          responseBody: '{"received":true}',
          error: null,
          createdAt: expect.any(String),
        },
      ],
    });
  });

  it('rotates the secret: the new one is shown once and both sign during the grace period', async () => {
    const user = await registerUser(t);
    const { body: hook } = await create(user).expect(201);
    const rotated = await t.http().post(`${BASE}/${hook.id}/rotate-secret`).set(user.auth).expect(200);
    expect(rotated.body).toEqual({
      id: hook.id,
      secret: expect.stringMatching(/^whsec_/),
      previousSecretExpiresAt: expect.any(String),
    });
    expect(rotated.body.secret).not.toBe(hook.secret);
    const queued = await t.http().post(`${BASE}/${hook.id}/test`).set(user.auth).expect(202);
    const request = await eventually(async () =>
      receiver.requests.find((r) => r.headers['webhook-id'] === queued.body.eventId),
    );
    const headers = request.headers as Record<string, string>;
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(rotated.body.secret).verify(request.body, headers)).toMatchObject({ type: 'webhook.test' });
    expect(new Webhook(hook.secret).verify(request.body, headers)).toMatchObject({ type: 'webhook.test' });
  });

  it('retries a failed delivery by hand with the same webhook-id', async () => {
    const user = await registerUser(t);
    const { body: hook } = await create(user).expect(201);
    receiver.respond(answer(500, 'nope'));
    const event = {
      id: randomUUID(),
      type: 'run.failed' as const,
      createdAt: new Date().toISOString(),
      data: { taskId: randomUUID(), runId: randomUUID() },
    };
    await t.app
      .get(DataSource)
      .transaction((manager) =>
        t.app.get(WebhookOutboxService).record(manager, { userId: user.id, orgId: null }, event),
      );
    const [failed] = await settledDeliveries(user, hook.id);
    expect(failed).toMatchObject({ status: 'failed', attemptCount: 1, lastStatusCode: 500, lastError: 'HTTP 500' });
    expect(failed.attempts[0]).toMatchObject({ statusCode: 500, responseBody: 'nope', error: 'HTTP 500' });

    receiver.respond(answer(200));
    const retried = await t.http().post(`${BASE}/${hook.id}/deliveries/${failed.id}/retry`).set(user.auth).expect(202);
    expect(retried.body).toMatchObject({ id: failed.id, status: 'pending' });
    const [done] = await eventually(async () => {
      const items = await settledDeliveries(user, hook.id);
      return items[0].attemptCount === 2 && items;
    });
    expect(done).toMatchObject({ status: 'succeeded', attemptCount: 2, lastStatusCode: 200 });
    expect(receiver.requests.filter((r) => r.headers['webhook-id'] === event.id)).toHaveLength(2);

    await t.http().post(`${BASE}/${hook.id}/deliveries/${randomUUID()}/retry`).set(user.auth).expect(404);
  });

  it('a disabled webhook cannot be tested or retried, and receives nothing', async () => {
    const user = await registerUser(t);
    const { body: hook } = await create(user).expect(201);
    await t.http().patch(`${BASE}/${hook.id}`).set(user.auth).send({ enabled: false }).expect(200);
    const res = await t.http().post(`${BASE}/${hook.id}/test`).set(user.auth).expect(409);
    expect(res.body.code).toBe('WEBHOOK_DISABLED');
    const event = { id: randomUUID(), type: 'run.completed' as const, createdAt: new Date().toISOString(), data: {} };
    await t.app
      .get(DataSource)
      .transaction((manager) =>
        t.app.get(WebhookOutboxService).record(manager, { userId: user.id, orgId: null }, event),
      );
    expect((await t.http().get(`${BASE}/${hook.id}/deliveries`).set(user.auth).expect(200)).body.items).toEqual([]);
  });

  it('answers 404 for another user’s webhook on every route, and deletes only one’s own', async () => {
    const owner = await registerUser(t);
    const other = await registerUser(t);
    const { body: hook } = await create(owner).expect(201);
    const queued = await t.http().post(`${BASE}/${hook.id}/test`).set(owner.auth).expect(202);
    const calls = [
      t.http().get(`${BASE}/${hook.id}`),
      t.http().patch(`${BASE}/${hook.id}`).send({ enabled: false }),
      t.http().delete(`${BASE}/${hook.id}`),
      t.http().post(`${BASE}/${hook.id}/rotate-secret`),
      t.http().post(`${BASE}/${hook.id}/test`),
      t.http().get(`${BASE}/${hook.id}/deliveries`),
      t.http().post(`${BASE}/${hook.id}/deliveries/${queued.body.id}/retry`),
    ];
    for (const call of calls) {
      const res = await call.set(other.auth).expect(404);
      expect(res.body.code).toBe('WEBHOOK_NOT_FOUND');
    }
    expect((await t.http().get(BASE).set(other.auth).expect(200)).body.items).toEqual([]);
    expect((await t.http().get(`${BASE}/${hook.id}`).set(owner.auth).expect(200)).body.enabled).toBe(true);

    await t.http().delete(`${BASE}/${hook.id}`).set(owner.auth).expect(204);
    await t.http().get(`${BASE}/${hook.id}`).set(owner.auth).expect(404);
    await t.http().delete(`${BASE}/${hook.id}`).set(owner.auth).expect(404);
  });

  it('publishes the routes in the OpenAPI document', async () => {
    const res = await t.http().get('/api/docs-json').expect(200);
    expect(Object.keys(res.body.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/webhooks',
        '/api/v1/webhooks/{id}',
        '/api/v1/webhooks/{id}/rotate-secret',
        '/api/v1/webhooks/{id}/test',
        '/api/v1/webhooks/{id}/deliveries',
        '/api/v1/webhooks/{id}/deliveries/{deliveryId}/retry',
      ]),
    );
  });
});
