import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { DataSource } from 'typeorm';
import { QueueName } from '../../src/queue/queue.constants.js';
import { registerUser } from '../support/auth.js';
import { createTestApp, TestApp } from '../support/test-app.js';

const JOBS = [
  'budget-reservations-retention',
  'email-tokens-retention',
  'idempotency-keys-retention',
  'sessions-retention',
  'spend-totals-retention',
  'trajectories-retention',
  'webhook-deliveries-retention',
];

const METRICS_TOKEN = 'maintenance-e2e-metrics-token-0123456789';
const maintenanceQueue = (t: TestApp) => t.app.get<Queue>(getQueueToken(QueueName.Maintenance), { strict: false });
const schedulers = async (t: TestApp) =>
  (await maintenanceQueue(t).getJobSchedulers(0, -1))
    .map((s) => ({ id: s.id ?? s.key, name: s.name, every: Number(s.every) }))
    .sort((a, b) => a.id.localeCompare(b.id));

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * The names of the jobs waiting for their turn, once no run is in progress (a schedule whose
 * interval changed runs at once, and for that moment its job is active, not waiting). A duplicate
 * schedule would show as a name twice, however long we wait.
 */
async function settledNextRuns(t: TestApp, expected: string[]): Promise<string[]> {
  const names = async () =>
    (await maintenanceQueue(t).getJobs(['delayed', 'waiting', 'prioritized'])).map((job) => job.name).sort();
  const deadline = Date.now() + 10_000;
  for (;;) {
    const current = await names();
    if (JSON.stringify(current) === JSON.stringify(expected) || Date.now() > deadline) return current;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('maintenance: retention as BullMQ job schedulers', () => {
  describe('registration', () => {
    const apps: TestApp[] = [];
    afterAll(async () => {
      for (const app of apps.reverse()) await app.close();
    });

    it('two workers and a restart leave one schedule per job, at the configured interval', async () => {
      const first = await createTestApp({ env: { MAINTENANCE_INTERVAL_SECONDS: '3600' } });
      apps.push(first);
      const shared = { databaseUrl: first.databaseUrl, redisPrefix: first.redisPrefix };
      const second = await createTestApp({ ...shared, env: { MAINTENANCE_INTERVAL_SECONDS: '3600' } });
      apps.push(second);

      const registered = await schedulers(first);
      expect(registered).toEqual(JOBS.map((name) => ({ id: `maintenance:${name}`, name, every: 3_600_000 })));
      // Each schedule has one next run waiting, not one per worker that registered it.
      expect(await settledNextRuns(first, JOBS)).toEqual(JOBS);

      // A restart with another interval and the sessions retention turned off (0 days keeps them).
      await second.close();
      apps.pop();
      const restarted = await createTestApp({
        ...shared,
        env: { MAINTENANCE_INTERVAL_SECONDS: '1800', RETENTION_SESSIONS_DAYS: '0' },
      });
      apps.push(restarted);
      const after = await schedulers(first);
      const kept = JOBS.filter((name) => name !== 'sessions-retention');
      expect(after).toEqual(kept.map((name) => ({ id: `maintenance:${name}`, name, every: 1_800_000 })));
      expect(await settledNextRuns(first, kept)).toEqual(kept);
    });

    it('MAINTENANCE_ENABLED=false removes every schedule', async () => {
      const app = await createTestApp({ env: { MAINTENANCE_ENABLED: 'false' } });
      apps.push(app);
      expect(await schedulers(app)).toEqual([]);
    });
  });

  describe('the jobs', () => {
    let t: TestApp;
    beforeAll(async () => {
      t = await createTestApp({ env: { MAINTENANCE_INTERVAL_SECONDS: '1', METRICS_TOKEN: METRICS_TOKEN } });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('remove what is past its retention and keep everything else, logged as job results and metrics', async () => {
      const db = t.app.get(DataSource);
      const user = await registerUser(t);
      const other = await registerUser(t);
      const ids = async (sql: string, params: unknown[] = []) =>
        (await db.query<Array<{ id: string }>>(sql, params)).map((row) => row.id);

      // Idempotency keys: expired (goes) and live (stays).
      const [expiredKey, liveKey] = await ids(
        `INSERT INTO idempotency_keys (user_id, scope, key, request_hash, response_status, response_body, expires_at)
         VALUES ($1, 'POST /tasks', 'old', repeat('a', 64), 201, '{}', now() - interval '1 minute'),
                ($1, 'POST /tasks', 'new', repeat('b', 64), 201, '{}', now() + interval '1 hour')
         RETURNING id`,
        [user.id],
      );
      // Email tokens: 8 days past expiry (goes), 1 day past (stays, 7-day retention), live (stays).
      const [oldToken, recentToken, liveToken] = await ids(
        `INSERT INTO email_tokens (user_id, purpose, token_hash, expires_at) VALUES
           ($1, 'verify_email', md5(random()::text) || md5(random()::text), now() - interval '8 days'),
           ($1, 'reset_password', md5(random()::text) || md5(random()::text), now() - interval '1 day'),
           ($1, 'reset_password', md5(random()::text) || md5(random()::text), now() + interval '1 hour')
         RETURNING id`,
        [user.id],
      );
      // Sessions: revoked 31 days ago (goes, with its refresh token), expired 31 days ago (goes),
      // revoked yesterday (stays), and the live ones of the sign-ins (stay).
      const [revokedSession, expiredSession, recentlyRevoked] = await ids(
        `INSERT INTO user_sessions (user_id, expires_at, revoked_at) VALUES
           ($1, now() + interval '1 day', now() - interval '31 days'),
           ($1, now() - interval '31 days', NULL),
           ($2, now() + interval '1 day', now() - interval '1 day')
         RETURNING id`,
        [user.id, other.id],
      );
      await db.query(
        `INSERT INTO refresh_tokens (session_id, user_id, token_hash, expires_at)
         VALUES ($1, $2, md5(random()::text) || md5(random()::text), now() + interval '1 day')`,
        [revokedSession, user.id],
      );
      const liveSessions = await ids('SELECT id FROM user_sessions WHERE revoked_at IS NULL AND expires_at > now()');
      expect(liveSessions.length).toBeGreaterThanOrEqual(2);
      // Webhook deliveries: finished 31 days ago (go, with their attempts), finished yesterday and
      // pending for 40 days (stay).
      const [subscription] = await ids(
        `INSERT INTO webhook_subscriptions (id, user_id, url, events, secret_ciphertext)
         VALUES (gen_random_uuid(), $1, 'https://hooks.example.test/q', '{*}', 'x') RETURNING id`,
        [user.id],
      );
      const [oldSucceeded, oldFailed, recentDelivery, pendingDelivery] = await ids(
        `INSERT INTO webhook_deliveries (subscription_id, user_id, event_id, event_type, body, status, completed_at, created_at)
         VALUES ($1, $2, gen_random_uuid(), 'run.completed', '{}', 'succeeded', now() - interval '31 days', now() - interval '31 days'),
                ($1, $2, gen_random_uuid(), 'run.failed', '{}', 'failed', now() - interval '32 days', now() - interval '33 days'),
                ($1, $2, gen_random_uuid(), 'run.completed', '{}', 'succeeded', now() - interval '1 day', now() - interval '1 day'),
                ($1, $2, gen_random_uuid(), 'run.queued', '{}', 'pending', NULL, now() - interval '40 days')
         RETURNING id`,
        [subscription, user.id],
      );
      await db.query(
        `INSERT INTO webhook_delivery_attempts (delivery_id, user_id, attempt, status_code, duration_ms)
         VALUES ($1, $3, 1, 200, 5), ($2, $3, 1, 500, 5)`,
        [oldSucceeded, recentDelivery, user.id],
      );
      // Budget reservations of calls that never settled: two hours past expiry (goes), live (stays).
      const [staleReservation, liveReservation] = await ids(
        `INSERT INTO llm_budget_reservations (user_id, amount_usd, expires_at)
         VALUES ($1, 1, now() - interval '2 hours'), ($1, 1, now() + interval '1 hour') RETURNING id`,
        [user.id],
      );

      // Running totals of spend: the current and the previous month stay, older months go; a
      // task's lifetime total stays while the task exists; an account's totals go with it.
      const task = (
        await t
          .http()
          .post('/api/v1/tasks')
          .set(user.auth)
          .send({
            title: 'Spend',
            description: 'Count.',
            language: 'javascript',
            mode: 'review',
            files: [{ path: 'a.mjs', content: 'export const a = 1;\n' }],
          })
          .expect(201)
      ).body.task as { id: string };
      const goneUser = '00000000-0000-4000-8000-00000000dead';
      const goneTask = '00000000-0000-4000-8000-00000000beef';
      const month = (offset: number) => `date_trunc('month', now(), 'UTC') + interval '${offset} month'`;
      await db.query(
        `INSERT INTO llm_spend (scope, scope_id, period_start, spent_usd) VALUES
           ('user', $1, ${month(0)}, 1), ('user', $1, ${month(-1)}, 1), ('user', $1, ${month(-2)}, 1),
           ('task', $2, 'epoch', 1), ('task', $3, 'epoch', 1), ('user', $4, ${month(0)}, 1)`,
        [user.id, task.id, goneTask, goneUser],
      );
      const spendRows = async () =>
        (
          await db.query<Array<{ row: string }>>(
            `SELECT scope || ' ' || scope_id || ' ' || (CASE WHEN period_start = 'epoch' THEN 'epoch'
                      ELSE (extract(year FROM age(date_trunc('month', now(), 'UTC'), period_start)) * 12
                            + extract(month FROM age(date_trunc('month', now(), 'UTC'), period_start)))::int::text END) AS row
               FROM llm_spend WHERE scope_id IN ($1, $2, $3, $4) ORDER BY 1`,
            [user.id, task.id, goneTask, goneUser],
          )
        ).map((r) => r.row);

      const exists = async (table: string, id: string) =>
        (await db.query<unknown[]>(`SELECT 1 FROM ${table} WHERE id = $1`, [id])).length === 1;
      const gone: Array<[string, string]> = [
        ['idempotency_keys', expiredKey],
        ['email_tokens', oldToken],
        ['user_sessions', revokedSession],
        ['user_sessions', expiredSession],
        ['webhook_deliveries', oldSucceeded],
        ['webhook_deliveries', oldFailed],
        ['llm_budget_reservations', staleReservation],
      ];
      await waitFor('the retention jobs', async () => {
        for (const [table, id] of gone) if (await exists(table, id)) return undefined;
        return (await spendRows()).length === 3 ? true : undefined;
      });
      expect(await spendRows()).toEqual([`task ${task.id} epoch`, `user ${user.id} 0`, `user ${user.id} 1`].sort());

      const kept: Array<[string, string]> = [
        ['idempotency_keys', liveKey],
        ['email_tokens', recentToken],
        ['email_tokens', liveToken],
        ['user_sessions', recentlyRevoked],
        ...liveSessions.map((id): [string, string] => ['user_sessions', id]),
        ['webhook_subscriptions', subscription],
        ['webhook_deliveries', recentDelivery],
        ['webhook_deliveries', pendingDelivery],
        ['llm_budget_reservations', liveReservation],
      ];
      for (const [table, id] of kept) expect([table, id, await exists(table, id)]).toEqual([table, id, true]);
      const [{ tokens, attempts }] = await db.query<Array<{ tokens: number; attempts: number }>>(
        `SELECT (SELECT count(*)::int FROM refresh_tokens WHERE session_id = $1) AS tokens,
                (SELECT count(*)::int FROM webhook_delivery_attempts WHERE delivery_id = $2) AS attempts`,
        [revokedSession, oldSucceeded],
      );
      expect({ tokens, attempts }).toEqual({ tokens: 0, attempts: 0 });
      // The user can still sign in and use the API: their live session was not touched.
      await t.http().get('/api/v1/users/me').set(user.auth).expect(200);

      // Every job ran; what each removed is its result, shown on the status page and in Prometheus.
      const finished = await maintenanceQueue(t).getJobs(['completed'], 0, -1);
      expect(new Set(finished.map((job) => job.name))).toEqual(new Set(JOBS));
      const removedBy = (name: string) =>
        finished
          .filter((job) => job.name === name)
          .reduce((sum, job) => sum + (job.returnvalue as { removed: number }).removed, 0);
      expect(removedBy('sessions-retention')).toBeGreaterThanOrEqual(2);
      expect(removedBy('webhook-deliveries-retention')).toBeGreaterThanOrEqual(2);
      expect(removedBy('email-tokens-retention')).toBeGreaterThanOrEqual(1);

      const admin = await registerUser(t, { role: 'admin' });
      const status = await t.http().get('/api/v1/health/status').set(admin.auth).expect(200);
      expect(status.body.maintenance.schedulers).toHaveLength(JOBS.length);
      expect(status.body.maintenance.lastRuns[0]).toEqual(
        expect.objectContaining({ status: 'completed', removed: expect.any(Number) }),
      );
      const metrics = await t.http().get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`).expect(200);
      const removedMetric = /quorum_maintenance_removed_total\{task="sessions-retention"\} (\d+)/.exec(metrics.text);
      expect(Number(removedMetric?.[1])).toBeGreaterThanOrEqual(2);
      expect(metrics.text).toMatch(
        /quorum_maintenance_duration_seconds_count\{task="trajectories-retention",outcome="ok"\} [1-9]/,
      );
    });
  });
});
