import { randomUUID } from 'node:crypto';
import { userActor } from '../../src/audit/audit.service.js';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { Webhook } from 'standardwebhooks';
import type { EventEnvelope } from '../../src/common/events.js';
import { dataSourceOptions } from '../../src/database/data-source-options.js';
import { QueueName } from '../../src/queue/queue.constants.js';
import { WebhookOutboxService } from '../../src/webhooks/webhook-outbox.service.js';
import { deliveryJobId, WebhookDispatcher } from '../../src/webhooks/webhook-dispatcher.service.js';
import { WebhooksService } from '../../src/webhooks/webhooks.service.js';
import { createTestApp, TestApp } from '../support/test-app.js';
import { answer, eventually, startWebhookReceiver, WebhookReceiver } from '../support/webhook-receiver.js';

function envelope(type: EventEnvelope['type'], data: Record<string, unknown> = {}): EventEnvelope {
  return {
    id: randomUUID(),
    type,
    createdAt: new Date().toISOString(),
    data: { taskId: randomUUID(), runId: randomUUID(), ...data },
  };
}

describe('webhook outbox and delivery (PostgreSQL + Redis + a real receiver)', () => {
  let t: TestApp;
  let db: DataSource;
  let outbox: WebhookOutboxService;
  let webhooks: WebhooksService;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    t = await createTestApp({
      env: {
        WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
        WEBHOOK_RETRY_SCHEDULE: '0,100ms,100ms',
        WEBHOOK_TIMEOUT: '300ms',
        WEBHOOK_SWEEP_INTERVAL: '200ms',
        WEBHOOK_SWEEP_GRACE: '0',
      },
    });
    db = t.app.get(DataSource);
    outbox = t.app.get(WebhookOutboxService);
    webhooks = t.app.get(WebhooksService);
  });
  afterAll(async () => {
    await t.close();
  });
  beforeEach(async () => {
    receiver = await startWebhookReceiver();
  });
  afterEach(async () => {
    await receiver.close();
  });

  async function createUser(): Promise<string> {
    const [row] = await db.query<Array<{ id: string }>>('INSERT INTO users (email) VALUES ($1) RETURNING id', [
      `${randomUUID()}@example.com`,
    ]);
    return row.id;
  }

  async function emit(userId: string, event: EventEnvelope): Promise<void> {
    await db.transaction((manager) => outbox.record(manager, { userId, orgId: null }, event));
  }

  async function deliveriesOf(userId: string, webhookId: string) {
    return (await webhooks.listDeliveries(webhookId, {})).items;
  }

  async function settled(userId: string, webhookId: string, count = 1) {
    return eventually(
      async () => {
        const items = await deliveriesOf(userId, webhookId);
        return items.length >= count && items.every((d) => d.status !== 'pending') && items;
      },
      10_000,
      'deliveries to settle',
    );
  }

  it('delivers a recorded event, signed per Standard Webhooks, and logs the attempt', async () => {
    const userId = await createUser();
    const hook = await webhooks.create(
      userId,
      null,
      { url: `${receiver.url}/hooks?x=1`, events: ['*'] },
      { actor: userActor(userId), ip: null, userAgent: null },
    );
    const event = envelope('run.started');
    await emit(userId, event);

    const [request] = await receiver.waitFor(1);
    expect(request.path).toBe('/hooks?x=1');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['webhook-id']).toBe(event.id);
    expect(Math.abs(Number(request.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(10);
    expect(request.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    const verified = new Webhook(hook.secret).verify(request.body, {
      'webhook-id': String(request.headers['webhook-id']),
      'webhook-timestamp': String(request.headers['webhook-timestamp']),
      'webhook-signature': String(request.headers['webhook-signature']),
    });
    expect(verified).toEqual(event);

    const [delivery] = await settled(userId, hook.id);
    expect(delivery).toMatchObject({
      eventId: event.id,
      eventType: 'run.started',
      status: 'succeeded',
      attemptCount: 1,
      lastStatusCode: 200,
    });
    expect(delivery.attempts).toEqual([
      expect.objectContaining({
        attempt: 1,
        statusCode: 200,
        responseBody: 'ok',
        error: null,
        durationMs: expect.any(Number),
      }),
    ]);
  });

  it('matches subscriptions by event filter, only enabled ones and only the owner’s', async () => {
    const userId = await createUser();
    const otherId = await createUser();
    const completedOnly = await webhooks.create(
      userId,
      null,
      {
        url: `${receiver.url}/completed`,
        events: ['run.completed', 'run.failed'],
      },
      { actor: userActor(userId), ip: null, userAgent: null },
    );
    const all = await webhooks.create(
      userId,
      null,
      { url: `${receiver.url}/all`, events: ['*'] },
      { actor: userActor(userId), ip: null, userAgent: null },
    );
    const disabled = await webhooks.create(
      userId,
      null,
      { url: `${receiver.url}/disabled`, events: ['*'] },
      { actor: userActor(userId), ip: null, userAgent: null },
    );
    await webhooks.update(disabled.id, { enabled: false });
    await webhooks.create(
      otherId,
      null,
      { url: `${receiver.url}/other`, events: ['*'] },
      { actor: userActor(otherId), ip: null, userAgent: null },
    );

    await emit(userId, envelope('run.started'));
    await emit(userId, envelope('agent.delta'));
    await emit(userId, envelope('run.completed'));
    await receiver.waitFor(3);
    await settled(userId, all.id, 2);
    await settled(userId, completedOnly.id, 1);

    expect(receiver.requests.map((r) => r.path).sort()).toEqual(['/all', '/all', '/completed']);
    expect((await deliveriesOf(userId, all.id)).map((d) => d.eventType).sort()).toEqual([
      'run.completed',
      'run.started',
    ]);
    expect(await deliveriesOf(userId, disabled.id)).toEqual([]);
  });

  it('records nothing when the caller’s transaction rolls back', async () => {
    const userId = await createUser();
    const hook = await webhooks.create(
      userId,
      null,
      { url: receiver.url, events: ['*'] },
      { actor: userActor(userId), ip: null, userAgent: null },
    );
    await expect(
      db.transaction(async (manager) => {
        await outbox.record(manager, { userId, orgId: null }, envelope('run.queued'));
        throw new Error('the run’s state change failed');
      }),
    ).rejects.toThrow('state change failed');
    await emit(userId, envelope('run.started'));
    await receiver.waitFor(1);
    await settled(userId, hook.id);
    expect(receiver.requests).toHaveLength(1);
    expect((await deliveriesOf(userId, hook.id)).map((d) => d.eventType)).toEqual(['run.started']);
  });

  it('retries after a 500 and after a timeout with the same webhook-id, then succeeds', async () => {
    const userId = await createUser();
    const hook = await webhooks.create(
      userId,
      null,
      { url: receiver.url, events: ['run.failed'] },
      { actor: userActor(userId), ip: null, userAgent: null },
    );
    receiver.respond((_req, index, res) => {
      if (index === 0) res.writeHead(500).end('boom');
      else if (index === 1)
        setTimeout(() => res.writeHead(200).end('late'), 1_000); // past the 300 ms timeout
      else res.writeHead(204).end();
    });
    const event = envelope('run.failed');
    await emit(userId, event);

    const requests = await receiver.waitFor(3);
    expect(new Set(requests.map((r) => r.headers['webhook-id']))).toEqual(new Set([event.id]));
    for (const request of requests) {
      expect(new Webhook(hook.secret).verify(request.body, request.headers as Record<string, string>)).toEqual(event);
    }
    const [delivery] = await settled(userId, hook.id);
    expect(delivery.status).toBe('succeeded');
    expect(delivery.attempts.map((a) => [a.attempt, a.statusCode, a.error])).toEqual([
      [1, 500, 'HTTP 500'],
      [2, null, 'timed out after 300 ms'],
      [3, 204, null],
    ]);
    expect(delivery.attempts[0].responseBody).toBe('boom');
    expect(delivery.attempts[1].durationMs).toBeGreaterThanOrEqual(290);
  });

  it('gives up after the last scheduled attempt, and a manual retry sends once more with the same webhook-id', async () => {
    const userId = await createUser();
    const hook = await webhooks.create(
      userId,
      null,
      { url: receiver.url, events: ['*'] },
      { actor: userActor(userId), ip: null, userAgent: null },
    );
    receiver.respond(answer(503, 'down'));
    const event = envelope('run.completed');
    await emit(userId, event);
    const [failed] = await settled(userId, hook.id);
    expect(failed).toMatchObject({ status: 'failed', attemptCount: 3, lastStatusCode: 503 });
    expect(receiver.requests).toHaveLength(3);
    expect((await webhooks.get(hook.id)).failingSince).not.toBeNull();

    // The receiver holds the retried attempt open, so the delivery is observably in progress meanwhile.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    receiver.respond(async (_req, _i, res) => {
      await held;
      res.writeHead(200).end('thanks');
    });
    const retried = await webhooks.retryDelivery(hook.id, failed.id);
    expect(retried.status).toBe('pending');
    await receiver.waitFor(4);
    await expect(webhooks.retryDelivery(hook.id, failed.id)).rejects.toMatchObject({
      code: 'WEBHOOK_DELIVERY_IN_PROGRESS',
    });
    release();
    const [done] = await settled(userId, hook.id);
    expect(done).toMatchObject({ status: 'succeeded', attemptCount: 4, lastStatusCode: 200 });
    expect(receiver.requests).toHaveLength(4);
    expect(receiver.requests[3].headers['webhook-id']).toBe(event.id);
    // Success ends the failure streak.
    expect((await webhooks.get(hook.id)).failingSince).toBeNull();
  });

  it('treats a redirect as a failure and does not follow it; logs at most 1 KB of the answer', async () => {
    const userId = await createUser();
    const hook = await webhooks.create(
      userId,
      null,
      { url: `${receiver.url}/start`, events: ['*'] },
      { actor: userActor(userId), ip: null, userAgent: null },
    );
    receiver.respond((req, _i, res) => {
      if (req.path === '/start') res.writeHead(302, { location: `${receiver.url}/elsewhere` }).end('x'.repeat(5_000));
      else res.writeHead(200).end();
    });
    await emit(userId, envelope('run.queued'));
    const [delivery] = await settled(userId, hook.id);
    expect(receiver.requests.every((r) => r.path === '/start')).toBe(true);
    expect(delivery.status).toBe('failed');
    expect(delivery.attempts[0]).toMatchObject({ statusCode: 302, error: 'redirect (HTTP 302) not followed' });
    expect(delivery.attempts[0].responseBody).toHaveLength(1024);
  });

  it('disables the endpoint on 410 Gone and sends it nothing more', async () => {
    const userId = await createUser();
    const hook = await webhooks.create(
      userId,
      null,
      { url: receiver.url, events: ['*'] },
      { actor: userActor(userId), ip: null, userAgent: null },
    );
    receiver.respond(answer(410));
    await emit(userId, envelope('run.started'));
    const [delivery] = await settled(userId, hook.id);
    expect(delivery).toMatchObject({ status: 'failed', attemptCount: 1, lastStatusCode: 410 });
    expect(await webhooks.get(hook.id)).toMatchObject({ enabled: false, disabledReason: 'gone' });

    await emit(userId, envelope('run.completed'));
    await webhooks.listDeliveries(hook.id, {});
    expect(await deliveriesOf(userId, hook.id)).toHaveLength(1);
    await expect(webhooks.sendTest(hook.id)).rejects.toMatchObject({ code: 'WEBHOOK_DISABLED' });
    await expect(webhooks.retryDelivery(hook.id, delivery.id)).rejects.toMatchObject({
      code: 'WEBHOOK_DISABLED',
    });
    expect(receiver.requests).toHaveLength(1);

    // Enabling again clears the reason and the streak; deliveries resume.
    receiver.respond(answer(200));
    expect(await webhooks.update(hook.id, { enabled: true })).toMatchObject({
      enabled: true,
      disabledReason: null,
      failingSince: null,
    });
    await emit(userId, envelope('run.failed'));
    await receiver.waitFor(2);
  });

  it('disables the endpoint once it has failed for longer than WEBHOOK_DISABLE_AFTER (24 h)', async () => {
    const userId = await createUser();
    const hook = await webhooks.create(
      userId,
      null,
      { url: receiver.url, events: ['*'] },
      { actor: userActor(userId), ip: null, userAgent: null },
    );
    await db.query(`UPDATE webhook_subscriptions SET failing_since = now() - interval '25 hours' WHERE id = $1`, [
      hook.id,
    ]);
    receiver.respond(answer(500));
    await emit(userId, envelope('run.started'));
    const [delivery] = await settled(userId, hook.id);
    expect(delivery).toMatchObject({ status: 'failed', attemptCount: 1 });
    expect(await webhooks.get(hook.id)).toMatchObject({ enabled: false, disabledReason: 'failing' });
    expect(receiver.requests).toHaveLength(1);
  });

  it('signs with the old and the new secret for the grace period after a rotation', async () => {
    const userId = await createUser();
    const hook = await webhooks.create(
      userId,
      null,
      { url: receiver.url, events: ['*'] },
      { actor: userActor(userId), ip: null, userAgent: null },
    );
    const rotated = await webhooks.rotateSecret(hook.id, { actor: userActor(userId), ip: null, userAgent: null });
    expect(rotated.secret).toMatch(/^whsec_/);
    expect(rotated.secret).not.toBe(hook.secret);
    expect(Date.parse(rotated.previousSecretExpiresAt) - Date.now()).toBeGreaterThan(23.9 * 3600_000);

    const event = envelope('run.completed');
    await emit(userId, event);
    const [request] = await receiver.waitFor(1);
    const headers = request.headers as Record<string, string>;
    expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
    expect(new Webhook(rotated.secret).verify(request.body, headers)).toEqual(event);
    expect(new Webhook(hook.secret).verify(request.body, headers)).toEqual(event);

    // After the grace period only the new secret signs.
    await db.query(
      `UPDATE webhook_subscriptions SET previous_secret_expires_at = now() - interval '1 second' WHERE id = $1`,
      [hook.id],
    );
    await emit(userId, envelope('run.completed'));
    const [, later] = await receiver.waitFor(2);
    const laterHeaders = later.headers as Record<string, string>;
    expect(laterHeaders['webhook-signature'].split(' ')).toHaveLength(1);
    expect(() => new Webhook(hook.secret).verify(later.body, laterHeaders)).toThrow();
    expect(new Webhook(rotated.secret).verify(later.body, laterHeaders)).toBeTruthy();
  });

  it('logs a delivery it cannot even prepare as failed attempts, instead of retrying it forever', async () => {
    const userId = await createUser();
    const hook = await webhooks.create(
      userId,
      null,
      { url: receiver.url, events: ['*'] },
      { actor: userActor(userId), ip: null, userAgent: null },
    );
    // A secret sealed under another key (or damaged) no longer decrypts.
    await db.query(`UPDATE webhook_subscriptions SET secret_ciphertext = 'v1.AAAA.AAAA.AAAA' WHERE id = $1`, [hook.id]);
    await emit(userId, envelope('run.started'));
    const [delivery] = await settled(userId, hook.id);
    expect(delivery).toMatchObject({ status: 'failed', attemptCount: 3, lastStatusCode: null });
    expect(delivery.attempts.every((a) => a.error?.startsWith('could not prepare the request'))).toBe(true);
    expect(receiver.requests).toHaveLength(0);
  });

  it('sends webhook.test whatever the event filter', async () => {
    const userId = await createUser();
    const hook = await webhooks.create(
      userId,
      null,
      { url: receiver.url, events: ['pull_request.opened'] },
      { actor: userActor(userId), ip: null, userAgent: null },
    );
    const queued = await webhooks.sendTest(hook.id);
    expect(queued).toMatchObject({ eventType: 'webhook.test', status: 'pending' });
    const [request] = await receiver.waitFor(1);
    const body = new Webhook(hook.secret).verify(
      request.body,
      request.headers as Record<string, string>,
    ) as EventEnvelope;
    expect(body).toMatchObject({ id: queued.eventId, type: 'webhook.test', data: { webhookId: hook.id } });
  });

  it('outbox: an event committed by a process that died before enqueueing is delivered once by the sweeper', async () => {
    const userId = await createUser();
    const hook = await webhooks.create(
      userId,
      null,
      { url: receiver.url, events: ['*'] },
      { actor: userActor(userId), ip: null, userAgent: null },
    );
    // A second connection pool stands in for the process that died: it commits the outbox rows,
    // but its after-commit enqueue never runs (only the app's DataSource has the subscriber).
    const crashed = new DataSource(
      dataSourceOptions({ url: t.databaseUrl, poolSize: 1, logging: false, migrationsRun: false }),
    );
    await crashed.initialize();
    const event = envelope('task.created');
    try {
      await crashed.transaction((manager) => outbox.record(manager, { userId, orgId: null }, event));
    } finally {
      await crashed.destroy();
    }
    const [stored] = await deliveriesOf(userId, hook.id);
    expect(stored).toMatchObject({ status: 'pending', attemptCount: 0 });

    const [request] = await receiver.waitFor(1);
    expect(request.headers['webhook-id']).toBe(event.id);
    await settled(userId, hook.id);
    // Repeated enqueues and more sweeps (scheduled every 200 ms, and by hand) add nothing.
    const dispatcher = t.app.get(WebhookDispatcher);
    await dispatcher.enqueue([{ deliveryId: stored.id, attempt: 1 }]);
    await dispatcher.sweep();
    const queue = t.app.get<Queue>(getQueueToken(QueueName.WebhookDeliveries));
    await eventually(async () => {
      const queued = [...(await queue.getWaiting()), ...(await queue.getActive()), ...(await queue.getDelayed())];
      const first = await queue.getJob(deliveryJobId(stored.id, 1));
      return (await first?.isCompleted()) && !queued.some((job) => job.data?.deliveryId === stored.id);
    });
    expect(receiver.requests.filter((r) => r.headers['webhook-id'] === event.id)).toHaveLength(1);
    expect((await deliveriesOf(userId, hook.id))[0]).toMatchObject({ status: 'succeeded', attemptCount: 1 });
  });
});
