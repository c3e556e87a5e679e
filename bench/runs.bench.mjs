// Agent-run throughput and event latency (issue 5). With the fake LLM answering at once:
//  - runs/s through one worker (in-process, WORKER_CONCURRENCY from config) for full runs
//    planner → coder → tester → sandbox → reviewer;
//  - median orchestration overhead per run: run wall time minus the time inside its steps (model
//    calls and the sandbox), i.e. graph, checkpoints, events, queue and database work;
//  - SSE latency from an event's append+commit to its receipt by an SSE client, p50/p99, against
//    a bare Redis pub/sub round trip measured in the same run.
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { createParser } from 'eventsource-parser';
import pg from 'pg';
import { startFakeLlm } from '../test/support/fake-llm/fake-llm.ts';

const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const SOLO_RUNS = Number(process.env.BENCH_SOLO_RUNS ?? 10);

// Database round trips are counted too: unlike times, they do not depend on the machine's load.
let queries = 0;
let counting = false;
const originalQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function countedQuery(...args) {
  if (counting) queries++;
  return originalQuery.apply(this, args);
};
const EVENTS = Number(process.env.BENCH_SSE_EVENTS ?? 300);

export async function run(ctx) {
  const id = randomBytes(4).toString('hex');
  const admin = 'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = `quorum_bench_runs_${id}`;
  const databaseUrl = ctx?.databaseUrl?.() ?? admin.replace(/\/postgres$/, `/${dbName}`);
  const fake = await startFakeLlm({ handler: answer });
  // This scenario hosts Nest in the bench process; its environment is restored at the end.
  const savedEnv = { ...process.env };
  Object.assign(process.env, {
    QUORUM_SKIP_DOTENV: 'true',
    DATABASE_URL: databaseUrl,
    REDIS_PREFIX: `bench-runs-${id}`,
    DATA_DIR: `/tmp/quorum-bench-runs-${id}`,
    LOG_LEVEL: 'silent',
    RATE_LIMIT_ENABLED: 'false',
    OPENAI_API_KEY: 'bench',
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    DEFAULT_MODEL: 'openai:gpt-4o',
    AGENT_STREAM_DELTAS: 'false',
    AGENT_QUEUED_SWEEP_SECONDS: '3600',
  });
  const { ensureDatabase } = await import('../dist/src/database/ensure-database.js');
  await ensureDatabase(databaseUrl);
  const { NestFactory } = await import('@nestjs/core');
  const { AppModule } = await import('../dist/src/app.module.js');
  const { configureHttpApp } = await import('../dist/src/bootstrap/configure-http-app.js');
  const { RunEventsService } = await import('../dist/src/agents/runs/run-events.service.js');
  const { RunsService } = await import('../dist/src/agents/runs/runs.service.js');
  const { RedisFactory } = await import('../dist/src/redis/redis.factory.js');
  const { DataSource } = await import('typeorm');

  const app = await NestFactory.create(await AppModule.register({ workerInProcess: true }), {
    bodyParser: false,
    logger: false,
  });
  configureHttpApp(app);
  await app.listen(0, '127.0.0.1');
  const port = app.getHttpServer().address().port;
  const base = `http://127.0.0.1:${port}/api/v1`;
  const dataSource = app.get(DataSource);
  const concurrency = app.get((await import('@nestjs/config')).ConfigService).get('agents').workerConcurrency;
  const rows = [];
  try {
    const email = `bench-${id}@example.test`;
    const password = `Bench-${randomBytes(9).toString('base64url')}`;
    await call('POST', '/auth/register', { email, password });
    await dataSource.query('UPDATE users SET email_verified = true WHERE email = $1', [email]);
    const { accessToken } = await call('POST', '/auth/login', { email, password });
    const auth = { authorization: `Bearer ${accessToken}` };

    // --- runs/s and overhead ---------------------------------------------------------------------
    const taskIds = [];
    for (let i = 0; i < RUNS; i++) {
      taskIds.push(
        (await call('POST', '/tasks', { title: `bench ${i}`, description: 'sum(a, b)', language: 'javascript' }, auth))
          .task.id,
      );
    }
    const t0 = performance.now();
    const runIds = [];
    counting = true;
    const cpu0 = process.cpuUsage();
    for (const taskId of taskIds) runIds.push((await call('POST', `/tasks/${taskId}/execute`, undefined, auth)).run.id);
    let polls = 0;
    for (;;) {
      polls++;
      const [{ n }] = await dataSource.query(
        `SELECT count(*)::int AS n FROM runs WHERE id = ANY($1) AND status IN ('completed','failed','cancelled')`,
        [runIds],
      );
      if (n === runIds.length) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const elapsed = (performance.now() - t0) / 1000;
    counting = false;
    const cpu = process.cpuUsage(cpu0);
    const roundTrips = (queries - polls) / RUNS;
    const failed = await dataSource.query(
      `SELECT count(*)::int AS n FROM runs WHERE id = ANY($1) AND status <> 'completed'`,
      [runIds],
    );
    rows.push({
      scenario: 'agent runs',
      metric: `runs/s, ${RUNS} full runs, fake LLM 0 ms, 1 worker (concurrency ${concurrency})`,
      value: round(RUNS / elapsed),
    });
    rows.push({
      scenario: 'agent runs',
      metric:
        'PostgreSQL round trips per run (execute → completed, incl. gateway usage/budget rows and LangGraph checkpoints)',
      value: round(roundTrips),
    });
    rows.push({
      scenario: 'agent runs',
      metric:
        'CPU time per run in the API+worker process (ms; includes the in-process fake LLM, excludes the sandbox children)',
      value: round((cpu.user + cpu.system) / 1000 / RUNS),
    });
    rows.push({
      scenario: 'agent runs',
      metric: 'runs not completed',
      value: failed[0].n,
      target: '0',
      pass: failed[0].n === 0,
    });
    // Overhead of one run on its own: runs one after another, so no run's wall time includes
    // waiting for another run's CPU (concurrent runs share one event loop and two cores here).
    const soloIds = [];
    for (let i = 0; i < SOLO_RUNS; i++) {
      const taskId = (
        await call('POST', '/tasks', { title: `solo ${i}`, description: 'sum(a, b)', language: 'javascript' }, auth)
      ).task.id;
      const runId = (await call('POST', `/tasks/${taskId}/execute`, undefined, auth)).run.id;
      soloIds.push(runId);
      for (;;) {
        const [{ status }] = await dataSource.query('SELECT status FROM runs WHERE id = $1', [runId]);
        if (['completed', 'failed', 'cancelled'].includes(status)) break;
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    const overhead = await dataSource.query(
      `SELECT EXTRACT(EPOCH FROM (r.finished_at - r.started_at)) * 1000
              - COALESCE((SELECT SUM(EXTRACT(EPOCH FROM (s.finished_at - s.started_at)) * 1000) FROM run_steps s WHERE s.run_id = r.id), 0) AS ms,
              (SELECT SUM(EXTRACT(EPOCH FROM (s.finished_at - s.started_at)) * 1000) FROM run_steps s WHERE s.run_id = r.id AND s.agent = 'sandbox') AS sandbox_ms
         FROM runs r WHERE r.id = ANY($1)`,
      [soloIds],
    );
    rows.push({
      scenario: 'agent runs',
      metric: `median non-model, non-sandbox overhead per run (ms), ${SOLO_RUNS} runs one at a time`,
      value: round(median(overhead.map((r) => Number(r.ms)))),
      baseline: round(median(overhead.map((r) => Number(r.sandbox_ms)))),
      ratio: round(median(overhead.map((r) => Number(r.ms))) / median(overhead.map((r) => Number(r.sandbox_ms)))),
      target: '≤ 50 (baseline: median sandbox time per run)',
      pass: median(overhead.map((r) => Number(r.ms))) <= 50,
    });

    // --- SSE latency -----------------------------------------------------------------------------
    const events = app.get(RunEventsService);
    const runs = app.get(RunsService);
    const task = (await call('POST', '/tasks', { title: 'sse', description: 'sse', language: 'javascript' }, auth))
      .task;
    const userId = (await dataSource.query('SELECT id FROM users WHERE email = $1', [email]))[0].id;
    // A queued run no worker will take (no job; the stranded-run sweep is set to an hour).
    const runRow = await events.transaction((manager) =>
      runs.createQueued(
        manager,
        { id: task.id, userId },
        {
          title: 'sse',
          description: 'sse',
          language: 'javascript',
          mode: 'build',
          repositoryId: null,
          files: [],
          config: {},
        },
      ),
    );
    const sent = new Map();
    const latencies = [];
    let resolveAll;
    const allReceived = new Promise((r) => (resolveAll = r));
    const sse = request(
      {
        host: '127.0.0.1',
        port,
        path: `/api/v1/agents/runs/${runRow.id}/stream`,
        headers: { ...auth, accept: 'text/event-stream' },
      },
      (res) => {
        const parser = createParser({
          onEvent: (event) => {
            const data = JSON.parse(event.data).data;
            if (data.bench === undefined) return;
            latencies.push(performance.now() - sent.get(data.bench));
            if (latencies.length === EVENTS) resolveAll();
          },
        });
        res.setEncoding('utf8');
        res.on('data', (chunk) => parser.feed(chunk));
      },
    );
    sse.end();
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < EVENTS; i++) {
      sent.set(i, performance.now());
      await events.transaction((manager) =>
        events.append(manager, runRow, 'agent.started', { agent: 'bench', iteration: 0, bench: i }),
      );
      await new Promise((r) => setTimeout(r, 2));
    }
    await Promise.race([allReceived, new Promise((r) => setTimeout(r, 10_000))]);
    sse.destroy();

    // Baseline: a bare Redis publish → subscriber message round trip.
    const factory = app.get(RedisFactory);
    const pub = factory.create('bench-pub');
    const sub = factory.create('bench-sub');
    const channel = factory.key('bench', id);
    const bare = [];
    await sub.subscribe(channel);
    for (let i = 0; i < EVENTS; i++) {
      const start = performance.now();
      const got = new Promise((r) => sub.once('message', r));
      await pub.publish(channel, String(i));
      await got;
      bare.push(performance.now() - start);
    }
    await pub.quit();
    await sub.quit();
    const p = (list, q) => round(percentile(list, q));
    rows.push({
      scenario: 'run events',
      metric: `SSE latency append+commit → client p50 (ms), ${latencies.length}/${EVENTS} events`,
      value: p(latencies, 50),
      baseline: p(bare, 50),
      ratio: round(p(latencies, 50) / p(bare, 50)),
    });
    rows.push({
      scenario: 'run events',
      metric: 'SSE latency append+commit → client p99 (ms)',
      value: p(latencies, 99),
      baseline: p(bare, 99),
      ratio: round(p(latencies, 99) / p(bare, 99)),
      target: '< 50',
      pass: latencies.length === EVENTS && p(latencies, 99) < 50,
    });
  } finally {
    pg.Client.prototype.query = originalQuery;
    await app.close();
    await fake.close();
    const client = new pg.Client({ connectionString: admin });
    await client.connect();
    await client.query(`DROP DATABASE IF EXISTS "${new URL(databaseUrl).pathname.slice(1)}" WITH (FORCE)`);
    await client.end();
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
  }
  return rows;

  async function call(method, path, body, headers = {}) {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  }
}

function answer(request) {
  // The coder's and tester's tool loops force no tool and offer their finishing tool first: this
  // model answers with it at once (a single-shot model), the forced tool otherwise.
  switch (request.forcedTool ?? request.tools[0]) {
    case 'submit_plan':
      return { toolCalls: [{ name: 'submit_plan', arguments: { summary: 'sum', steps: [{ title: 'sum' }] } }] };
    case 'write_files':
      return {
        toolCalls: [
          {
            name: 'write_files',
            arguments: { files: [{ path: 'sum.mjs', content: 'export const sum = (a, b) => a + b;\n' }] },
          },
        ],
      };
    case 'write_tests':
      return {
        toolCalls: [
          {
            name: 'write_tests',
            arguments: {
              files: [
                {
                  path: 'sum.test.mjs',
                  content:
                    "import { test } from 'node:test';\nimport assert from 'node:assert';\nimport { sum } from './sum.mjs';\ntest('sum', () => assert.equal(sum(1, 2), 3));\n",
                },
              ],
            },
          },
        ],
      };
    default:
      return { toolCalls: [{ name: 'submit_review', arguments: { verdict: 'APPROVE', summary: 'ok', issues: [] } }] };
  }
}

function median(values) {
  return percentile(values, 50);
}

function percentile(values, q) {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1));
  return sorted[index];
}

function round(value) {
  return Math.round(value * 100) / 100;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await run();
  for (const row of rows) console.log(JSON.stringify(row));
  process.exit(0);
}
