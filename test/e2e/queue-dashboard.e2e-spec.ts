import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { QueueName } from '../../src/queue/queue.constants.js';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { createTestApp, TestApp } from '../support/test-app.js';

const maintenanceOf = (t: TestApp) => t.app.get<Queue>(getQueueToken(QueueName.Maintenance), { strict: false });

describe('queue dashboard (HTTP)', () => {
  describe('read-only (default)', () => {
    let t: TestApp;
    let admin: RegisteredUser;
    let user: RegisteredUser;

    beforeAll(async () => {
      t = await createTestApp({ workerInProcess: false });
      admin = await registerUser(t, { role: 'admin' });
      user = await registerUser(t);
    });
    afterAll(async () => {
      await t?.close();
    });

    it('shows every queue to an admin signed in with a Bearer token', async () => {
      await maintenanceOf(t).add('retention', {}, { delay: 60_000 });
      const page = await t.http().get('/admin/queues').set(admin.auth).expect(200);
      expect(page.headers['content-type']).toMatch(/text\/html/);
      expect(page.text).toContain('Quorum queues');
      expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
      const api = await t.http().get('/admin/queues/api/queues').set(admin.auth).expect(200);
      const queues = api.body.queues as Array<{ name: string; readOnlyMode: boolean; counts: Record<string, number> }>;
      expect(queues.map((q) => q.name).sort()).toEqual(Object.values(QueueName).sort());
      expect(queues.every((q) => q.readOnlyMode)).toBe(true);
      expect(queues.find((q) => q.name === String(QueueName.Maintenance))!.counts.delayed).toBe(1);
    });

    it('admits a cookie session of an admin', async () => {
      const login = await t
        .http()
        .post('/api/v1/auth/login')
        .send({ email: admin.email, password: admin.password, cookie: true })
        .expect(200);
      const cookies = (login.headers['set-cookie'] as unknown as string[]).map((c) => c.split(';')[0]).join('; ');
      await t.http().get('/admin/queues/api/queues').set('Cookie', cookies).expect(200);
    });

    it('is a 404 for anonymous callers, users who are not admins, API keys and bad tokens', async () => {
      const anonymous = await t.http().get('/admin/queues').expect(404);
      expect(anonymous.headers['content-type']).toMatch(/application\/problem\+json/);
      await t.http().get('/admin/queues/api/queues').expect(404);
      await t.http().get('/admin/queues').set(user.auth).expect(404);
      await t.http().get('/admin/queues/api/queues').set(user.auth).expect(404);
      await t.http().get('/admin/queues').set({ Authorization: 'Bearer not-a-token' }).expect(404);
      const key = await t
        .http()
        .post('/api/v1/api-keys')
        .set(admin.auth)
        .send({ name: 'ops', scopes: ['runs:read', 'metrics:read'] })
        .expect(201);
      await t
        .http()
        .get('/admin/queues/api/queues')
        .set({ Authorization: `Bearer ${key.body.key as string}` })
        .expect(404);
    });

    it('refuses actions, even to an admin, and changes nothing', async () => {
      const refused = await t.http().put('/admin/queues/api/queues/maintenance/pause').set(admin.auth).expect(403);
      expect(refused.body.code).toBe('QUEUE_DASHBOARD_READ_ONLY');
      expect(await maintenanceOf(t).isPaused()).toBe(false);
      await t.http().put('/admin/queues/api/queues/maintenance/pause').set(user.auth).expect(404);
    });
  });

  describe('with QUEUE_DASHBOARD_ACTIONS=true', () => {
    let t: TestApp;
    let admin: RegisteredUser;
    let user: RegisteredUser;

    beforeAll(async () => {
      t = await createTestApp({ workerInProcess: false, env: { QUEUE_DASHBOARD_ACTIONS: 'true' } });
      admin = await registerUser(t, { role: 'admin' });
      user = await registerUser(t);
    });
    afterAll(async () => {
      await t?.close();
    });

    it('lets an admin pause and resume a queue, and still nobody else', async () => {
      const queues = await t.http().get('/admin/queues/api/queues').set(admin.auth).expect(200);
      expect((queues.body.queues as Array<{ readOnlyMode: boolean }>).every((q) => !q.readOnlyMode)).toBe(true);
      await t.http().put('/admin/queues/api/queues/maintenance/pause').set(user.auth).expect(404);
      expect(await maintenanceOf(t).isPaused()).toBe(false);
      await t.http().put('/admin/queues/api/queues/maintenance/pause').set(admin.auth).expect(200);
      expect(await maintenanceOf(t).isPaused()).toBe(true);
      await t.http().put('/admin/queues/api/queues/maintenance/resume').set(admin.auth).expect(200);
      expect(await maintenanceOf(t).isPaused()).toBe(false);
    });
  });
});
