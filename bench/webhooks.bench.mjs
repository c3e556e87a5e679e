// Webhook delivery throughput and latency: events recorded through the outbox (one transaction
// each, as a run records them) in this process, delivered by a real worker process
// (dist/src/worker.js, as deployed) to a local receiver that answers 200 at once. Baseline: the same receiver hit by plain HTTP POSTs from this process
// (no database, no queue, no signing), so the ratio shows what the pipeline costs.
import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const ADMIN_URL = process.env.BENCH_ADMIN_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BURST = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 3000);
const PACED_RATE_MAX = Number(process.env.BENCH_WEBHOOK_PACED_RATE ?? 200);
const PACED_SECONDS = Number(process.env.BENCH_WEBHOOK_PACED_SECONDS ?? 5);

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
const round = (n, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

function startReceiver() {
  const received = new Map();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const id = req.headers['webhook-id'];
      if (id && !received.has(id)) received.set(id, performance.now());
      res.writeHead(200).end('ok');
    });
  });
  server.keepAliveTimeout = 30_000;
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, agent, received, url: `http://127.0.0.1:${server.address().port}/hook` }),
    ),
  );
}

async function baselinePosts(url, agent, count, concurrency) {
  const body = JSON.stringify({
    id: randomUUID(),
    type: 'run.completed',
    createdAt: new Date().toISOString(),
    data: {},
  });
  const post = () =>
    new Promise((resolve, reject) => {
      const req = http.request(
        url,
        { method: 'POST', agent, headers: { 'content-type': 'application/json' } },
        (res) => {
          res.resume();
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < count) await post();
    }),
  );
  return count / ((performance.now() - started) / 1000);
}

/** BullMQ alone: no-op jobs through one queue with the same producers/consumer shape (the queue's own ceiling here). */
async function baselineQueue(prefix, count) {
  const { Queue, Worker } = await import('bullmq');
  const connection = { host: '127.0.0.1', port: 6379, maxRetriesPerRequest: null };
  const queue = new Queue('baseline', { connection, prefix });
  let done = 0;
  let resolveAll;
  const all = new Promise((resolve) => (resolveAll = resolve));
  const worker = new Worker('baseline', async () => undefined, { connection, prefix, concurrency: 100 });
  worker.on('completed', () => ++done === count && resolveAll());
  await worker.waitUntilReady();
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 20 }, async () => {
      while (next < count) await queue.add('noop', {}, { jobId: `b-${next++}`, removeOnComplete: true });
    }),
  );
  await all;
  const rate = count / ((performance.now() - started) / 1000);
  await worker.close();
  await queue.obliterate({ force: true });
  await queue.close();
  return rate;
}

async function dropRedisKeys(prefix) {
  const { Redis } = await import('ioredis');
  const redis = new Redis('redis://127.0.0.1:6379');
  let cursor = '0';
  do {
    const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = nextCursor;
    if (keys.length) await redis.del(...keys);
  } while (cursor !== '0');
  await redis.quit();
}

async function waitUntil(check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('webhook bench: deliveries did not arrive in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

export async function run(ctx) {
  // The runner's database names are dropped by the runner; alone, this file drops its own.
  const dbUrl = new URL(
    ctx?.databaseUrl?.() ??
      `${ADMIN_URL.replace(/\/[^/]*$/, '')}/quorum_bench_webhooks_${randomBytes(4).toString('hex')}`,
  );
  const dbName = dbUrl.pathname.slice(1);
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${dbName}"`);
  const dataDir = mkdtempSync(join(tmpdir(), 'quorum-bench-'));
  const receiver = await startReceiver();
  // This file runs inside the bench runner's process: its environment is restored at the end.
  const savedEnv = { ...process.env };
  Object.assign(process.env, {
    NODE_ENV: 'test',
    QUORUM_SKIP_DOTENV: 'true',
    DATABASE_URL: dbUrl.toString(),
    DATABASE_MIGRATIONS_RUN: 'true',
    DATABASE_POOL_SIZE: '20',
    REDIS_PREFIX: `bench-webhooks-${randomBytes(3).toString('hex')}`,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
    WEBHOOK_CONCURRENCY: process.env.WEBHOOK_CONCURRENCY ?? '100',
  });

  const { Module } = await import('@nestjs/common');
  const { NestFactory } = await import('@nestjs/core');
  const { DataSource } = await import('typeorm');
  const { CoreModule } = await import('../dist/src/core.module.js');
  const { WebhooksCoreModule } = await import('../dist/src/webhooks/webhooks-core.module.js');
  const { WebhookOutboxService } = await import('../dist/src/webhooks/webhook-outbox.service.js');
  const { WebhooksService } = await import('../dist/src/webhooks/webhooks.service.js');
  const { QueueName } = await import('../dist/src/queue/queue.constants.js');
  const { getQueueToken } = await import('@nestjs/bullmq');
  // The producing side only (as in the API or a run): no queue consumer in this process.
  class BenchProducerModule {}
  Module({ imports: [CoreModule, WebhooksCoreModule] })(BenchProducerModule);
  const app = await NestFactory.createApplicationContext(BenchProducerModule, { logger: false });
  await app.init();
  const worker = spawn(
    process.execPath,
    [
      ...(process.env.BENCH_WORKER_PROF ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.BENCH_WORKER_PROF] : []),
      'dist/src/worker.js',
    ],
    {
      cwd: new URL('..', import.meta.url).pathname,
      env: { ...process.env, DATABASE_MIGRATIONS_RUN: 'false' },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const rows = [];
  try {
    const db = app.get(DataSource);
    const outbox = app.get(WebhookOutboxService);
    const [user] = await db.query(`INSERT INTO users (email) VALUES ($1) RETURNING id`, [
      `bench-${randomUUID()}@example.com`,
    ]);
    await app
      .get(WebhooksService)
      .create(
        user.id,
        null,
        { url: receiver.url, events: ['*'] },
        { actor: { type: 'user', id: user.id, userId: user.id } },
      );

    const committed = new Map();
    const emit = async () => {
      const event = {
        id: randomUUID(),
        type: 'run.completed',
        createdAt: new Date().toISOString(),
        data: { taskId: randomUUID(), runId: randomUUID() },
      };
      await db.transaction((manager) => outbox.record(manager, { userId: user.id, orgId: null }, event));
      committed.set(event.id, performance.now());
    };

    // Warm-up: connections, JIT, the keep-alive socket.
    for (let i = 0; i < 50; i++) await emit();
    await waitUntil(() => receiver.received.size >= 50, 30_000);

    const baseline = await baselinePosts(receiver.url, receiver.agent, 5_000, 50);
    const queueBaseline = await baselineQueue(`${process.env.REDIS_PREFIX}-baseline`, BURST);

    const emitBurst = async (count) => {
      let emitted = 0;
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          while (emitted++ < count) await emit();
        }),
      );
    };
    const lastReceiptAfter = (before) => Math.max(...[...receiver.received.values()].slice(before));

    // Delivery throughput: a backlog committed while the queue is paused, then drained by the worker.
    const queue = app.get(getQueueToken(QueueName.WebhookDeliveries));
    await queue.pause();
    let before = receiver.received.size;
    await emitBurst(BURST);
    const drainStart = performance.now();
    await queue.resume();
    await waitUntil(() => receiver.received.size >= before + BURST, 120_000);
    const drained = BURST / ((lastReceiptAfter(before) - drainStart) / 1000);

    // End to end: 20 concurrent writers each committing one event per transaction, as runs do;
    // deliveries/s from the first commit to the last receipt (the producing transactions included).
    before = receiver.received.size;
    const burstStart = performance.now();
    await emitBurst(BURST);
    const emittedAt = performance.now();
    await waitUntil(() => receiver.received.size >= before + BURST, 120_000);
    if (process.env.BENCH_DEBUG)
      console.error(`burst: all ${BURST} committed after ${Math.round(emittedAt - burstStart)} ms`);
    const throughput = BURST / ((lastReceiptAfter(before) - burstStart) / 1000);

    // Latency: events at a steady rate well under the capacity just measured (at most half of it),
    // so the figure is the pipeline's own delay, not a backlog's.
    const PACED_RATE = Math.max(10, Math.min(PACED_RATE_MAX, Math.floor(Math.min(throughput, drained) / 2)));
    const pacedIds = [];
    const pacedStart = performance.now();
    const total = PACED_RATE * PACED_SECONDS;
    for (let i = 0; i < total; i++) {
      const due = pacedStart + (i * 1000) / PACED_RATE;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      const event = { id: randomUUID(), type: 'run.completed', createdAt: new Date().toISOString(), data: {} };
      pacedIds.push(event.id);
      void db
        .transaction((manager) => outbox.record(manager, { userId: user.id, orgId: null }, event))
        .then(() => committed.set(event.id, performance.now()));
    }
    await waitUntil(() => pacedIds.every((id) => receiver.received.has(id) && committed.has(id)), 60_000);
    const latencies = pacedIds.map((id) => receiver.received.get(id) - committed.get(id)).sort((a, b) => a - b);
    if (process.env.BENCH_DEBUG) {
      const ds = await db.query(`SELECT id, event_id FROM webhook_deliveries WHERE event_id = ANY($1)`, [pacedIds]);
      const origin = performance.timeOrigin;
      const parts = { commitToAdd: [], addToStart: [], startToFinish: [], startToReceipt: [] };
      for (const d of ds) {
        const job = await queue.getJob(`${d.id}.1`);
        if (!job) continue;
        parts.commitToAdd.push(job.timestamp - (origin + committed.get(d.event_id)));
        parts.addToStart.push(job.processedOn - job.timestamp);
        parts.startToFinish.push(job.finishedOn - job.processedOn);
        parts.startToReceipt.push(origin + receiver.received.get(d.event_id) - job.processedOn);
      }
      for (const [k, v] of Object.entries(parts)) {
        v.sort((a, b) => a - b);
        console.error(k, 'p50', percentile(v, 50), 'p99', percentile(v, 99));
      }
    }

    rows.push(
      {
        scenario: `webhooks: drain ${BURST} committed deliveries → local receiver (baseline: plain POSTs to it)`,
        metric: 'deliveries/s',
        value: round(drained),
        baseline: round(baseline),
        ratio: round(drained / baseline, 3),
        target: '≥ 500/s',
        pass: drained >= 500,
      },
      {
        scenario: `webhooks: drain ${BURST} committed deliveries (baseline: BullMQ alone, no-op jobs, same shape)`,
        metric: 'deliveries/s',
        value: round(drained),
        baseline: round(queueBaseline),
        ratio: round(drained / queueBaseline, 3),
      },
      {
        scenario: `webhooks: ${BURST} events, one transaction each from 20 writers, commit → receipt`,
        metric: 'deliveries/s end to end',
        value: round(throughput),
      },
      {
        scenario: `webhooks: ${PACED_RATE} events/s for ${PACED_SECONDS} s`,
        metric: 'p50 commit → receipt (ms)',
        value: round(percentile(latencies, 50), 2),
      },
      {
        scenario: `webhooks: ${PACED_RATE} events/s for ${PACED_SECONDS} s`,
        metric: 'p99 commit → receipt (ms)',
        value: round(percentile(latencies, 99), 2),
        target: '< 100 ms',
        pass: percentile(latencies, 99) < 100,
      },
    );
  } finally {
    worker.kill('SIGTERM');
    await new Promise((resolve) => (worker.exitCode !== null ? resolve() : worker.once('exit', resolve)));
    await app.close();
    receiver.agent.destroy();
    receiver.server.closeAllConnections();
    await new Promise((resolve) => receiver.server.close(resolve));
    await dropRedisKeys(process.env.REDIS_PREFIX);
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
    rmSync(dataDir, { recursive: true, force: true });
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
  }
  return rows;
}

// `node bench/webhooks.bench.mjs` runs it alone (after `npm run build`).
if (import.meta.url === `file://${process.argv[1]}`) {
  run().then(
    (rows) => {
      console.table(rows);
      process.exit(0);
    },
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
}
