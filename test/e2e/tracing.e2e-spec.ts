import { createServer, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { strongPassword, uniqueEmail } from '../support/auth.js';
import { FakeLlm, startFakeLlm } from '../support/fake-llm/index.js';
import { fakeLlmEnv } from '../support/llm.js';
import { Child, ensureBuilt, freePort, spawnChild, waitFor } from '../support/processes.js';
import { scriptAgents } from '../support/runs.js';
import { databasePrefix, databaseUrl, redisPrefixBase, uniqueSuffix } from '../support/test-env.js';

interface OtlpValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values: OtlpValue[] };
}
interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  process: string;
  service: string;
}

const valueOf = (v: OtlpValue): unknown =>
  v.stringValue ??
  (v.intValue !== undefined ? Number(v.intValue) : undefined) ??
  v.doubleValue ??
  v.boolValue ??
  v.arrayValue?.values.map(valueOf);
const attributesOf = (list: Array<{ key: string; value: OtlpValue }> = []) =>
  Object.fromEntries(list.map(({ key, value }) => [key, valueOf(value)]));

/** A local OTLP/HTTP receiver (JSON encoding) that keeps every span it is sent. */
async function startReceiver(): Promise<{ url: string; spans: ReceivedSpan[]; close(): Promise<void> }> {
  const spans: ReceivedSpan[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      if (req.url === '/v1/traces') {
        const payload = JSON.parse(body) as {
          resourceSpans: Array<{
            resource: { attributes: Array<{ key: string; value: OtlpValue }> };
            scopeSpans: Array<{
              spans: Array<Omit<ReceivedSpan, 'attributes' | 'process' | 'service'> & { attributes: [] }>;
            }>;
          }>;
        };
        for (const resource of payload.resourceSpans) {
          const resourceAttributes = attributesOf(resource.resource.attributes);
          const process = String(resourceAttributes['quorum.process']);
          const service = String(resourceAttributes['service.name']);
          for (const scope of resource.scopeSpans)
            for (const span of scope.spans)
              spans.push({ ...span, attributes: attributesOf(span.attributes), process, service });
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    spans,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const PLAN = { summary: 'Write sum', steps: [{ title: 'sum', detail: 'in sum.mjs', files: ['sum.mjs'] }] };
const CODE = { files: [{ path: 'sum.mjs', content: 'export const sum = (a, b) => a + b;\n' }] };
const TESTS = {
  files: [
    {
      path: 'sum.test.mjs',
      content:
        "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { sum } from './sum.mjs';\ntest('adds', () => assert.equal(sum(1, 2), 3));\n",
    },
  ],
};

describe('OpenTelemetry traces across the API and the worker (built processes, local OTLP receiver)', () => {
  let fake: FakeLlm;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  const children: Child[] = [];

  beforeAll(async () => {
    ensureBuilt();
    fake = await startFakeLlm();
    receiver = await startReceiver();
  }, 300_000);
  afterAll(async () => {
    for (const child of children) {
      if (child.process.exitCode === null && child.process.signalCode === null) {
        child.process.kill('SIGKILL');
        await child.exited;
      }
    }
    await fake?.close();
    await receiver?.close();
  });

  it('one trace holds the execute request, the run in the worker, its graph nodes, model calls and sandbox commands', async () => {
    const port = await freePort();
    const env = {
      ...fakeLlmEnv(fake),
      NODE_ENV: 'development',
      QUORUM_SKIP_DOTENV: 'true',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl(`${databasePrefix()}otel_${uniqueSuffix()}`),
      REDIS_PREFIX: `${redisPrefixBase()}-${uniqueSuffix()}`,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'quorum-otel-')),
      RATE_LIMIT_ENABLED: 'false',
      LOG_LEVEL: 'warn',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '200',
    };
    const api = spawnChild(['dist/src/main.js'], { ...env, WORKER_IN_PROCESS: 'false' });
    children.push(api);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => (await fetch(`${base}/api/v1/health/ready`)).status === 200,
      90_000,
      `api\n${api.output()}`,
    );
    const worker = spawnChild(['dist/src/worker.js'], env);
    children.push(worker);

    scriptAgents(fake, {
      submit_plan: [{ tool: PLAN }],
      write_files: [{ tool: CODE }],
      write_tests: [{ tool: TESTS }],
      submit_review: [{ tool: { verdict: 'APPROVE', summary: 'ok', issues: [] } }],
    });
    const email = uniqueEmail('otel');
    const password = strongPassword();
    const json = { 'content-type': 'application/json' };
    expect(
      (
        await fetch(`${base}/api/v1/auth/register`, {
          method: 'POST',
          headers: json,
          body: JSON.stringify({ email, password }),
        })
      ).status,
    ).toBe(201);
    const db = new pg.Client({ connectionString: env.DATABASE_URL });
    await db.connect();
    await db.query('UPDATE users SET email_verified = true WHERE email = $1', [email]);
    await db.end();
    const login = (await (
      await fetch(`${base}/api/v1/auth/login`, {
        method: 'POST',
        headers: json,
        body: JSON.stringify({ email, password }),
      })
    ).json()) as { accessToken: string };
    const auth = { ...json, authorization: `Bearer ${login.accessToken}` };
    const task = (await (
      await fetch(`${base}/api/v1/tasks`, {
        method: 'POST',
        headers: auth,
        body: JSON.stringify({ title: 'Sum', description: 'Export sum(a, b).', language: 'javascript' }),
      })
    ).json()) as { task: { id: string } };
    const executed = await fetch(`${base}/api/v1/tasks/${task.task.id}/execute`, { method: 'POST', headers: auth });
    expect(executed.status).toBe(202);
    const runId = ((await executed.json()) as { run: { id: string } }).run.id;
    await waitFor(
      async () => {
        const run = (await (await fetch(`${base}/api/v1/agents/runs/${runId}`, { headers: auth })).json()) as {
          status: string;
        };
        return run.status === 'completed';
      },
      90_000,
      `the run to complete\n${worker.output()}`,
    );

    // The request that enqueued the run, and its trace.
    let request: ReceivedSpan | undefined;
    let runSpan: ReceivedSpan | undefined;
    await waitFor(
      () => {
        request = receiver.spans.find(
          (s) =>
            s.process === 'api' &&
            s.kind === 2 &&
            ((s.attributes['url.path'] ?? s.attributes['http.target'] ?? '') as string).endsWith('/execute'),
        );
        runSpan = receiver.spans.find((s) => s.process === 'worker' && s.name === 'agent run');
        return Boolean(
          request &&
          runSpan &&
          receiver.spans.some((s) => s.traceId === runSpan!.traceId && s.name.startsWith('graph reviewer')),
        );
      },
      30_000,
      `the spans of the run; received ${JSON.stringify(
        receiver.spans
          .filter((s) => s.process === 'worker' || s.name.includes('execute'))
          .map((s) => [s.process, s.name, s.kind, s.traceId.slice(0, 6), s.attributes['url.path']]),
      )}`,
    );
    // The readiness probes polled above are not traced (OTEL_TRACE_PROBES unset); the routes are.
    const path = (s: ReceivedSpan) => (s.attributes['url.path'] ?? s.attributes['http.target'] ?? '') as string;
    expect(receiver.spans.filter((s) => s.process === 'api' && path(s).includes('/health/'))).toEqual([]);
    expect(receiver.spans.some((s) => s.process === 'api' && path(s).endsWith('/auth/login'))).toBe(true);
    const trace = receiver.spans.filter((s) => s.traceId === request!.traceId);
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    // The probes go around the HTTP and Express instrumentations (untraced-probes.ts); a traced
    // request still has its route (from the Express instrumentation) and its route handler's span.
    expect(request!.attributes['http.route']).toBe('/api/v1/tasks/:id/execute');
    expect(request!.name).toBe('POST /api/v1/tasks/:id/execute');
    expect(trace.some((s) => s.parentSpanId === request!.spanId && s.name === 'request handler')).toBe(true);
    const ancestors = (span: ReceivedSpan) => {
      const chain: ReceivedSpan[] = [];
      for (
        let p = span.parentSpanId && byId.get(span.parentSpanId);
        p;
        p = p.parentSpanId ? byId.get(p.parentSpanId) : undefined
      )
        chain.push(p);
      return chain;
    };

    // One trace across both processes: the run span descends from the execute request.
    expect(runSpan!.traceId).toBe(request!.traceId);
    expect(runSpan!.attributes['quorum.run.id']).toBe(runId);
    expect(ancestors(runSpan!)).toContain(request);
    // The API's own database work is in it (pg instrumentation).
    expect(
      trace.some(
        (s) =>
          (s.process === 'api' && s.attributes['db.system'] === 'postgresql') ||
          s.attributes['db.system.name'] === 'postgresql',
      ),
    ).toBe(true);

    const nodes = trace.filter((s) => s.name.startsWith('graph '));
    expect(nodes.map((s) => s.name)).toEqual(
      expect.arrayContaining(['graph planner', 'graph coder', 'graph tester', 'graph reviewer']),
    );
    for (const node of nodes) expect(ancestors(node)).toContain(runSpan);

    const chats = trace.filter((s) => s.name === 'chat gpt-4o');
    expect(chats.length).toBeGreaterThanOrEqual(4);
    for (const chat of chats) {
      expect(chat.kind).toBe(3);
      expect(chat.attributes).toMatchObject({
        'gen_ai.system': 'openai',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': expect.any(Number),
        'gen_ai.usage.output_tokens': expect.any(Number),
        'quorum.cost_usd': expect.any(Number),
      });
      expect(byId.get(chat.parentSpanId!)!.name).toMatch(/^graph /);
    }
    const sandbox = trace.find((s) => s.name === 'sandbox tests');
    expect(sandbox).toBeDefined();
    expect(ancestors(sandbox!).map((s) => s.name)).toContain('graph test_run');
  }, 240_000);
  it('exports the spans still waiting in the batch when the process shuts down (SIGTERM)', async () => {
    const port = await freePort();
    const service = `quorum-flush-${uniqueSuffix()}`;
    const api = spawnChild(['dist/src/main.js'], {
      NODE_ENV: 'development',
      QUORUM_SKIP_DOTENV: 'true',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: databaseUrl(`${databasePrefix()}otel_${uniqueSuffix()}`),
      REDIS_PREFIX: `${redisPrefixBase()}-${uniqueSuffix()}`,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'quorum-otel-')),
      WORKER_IN_PROCESS: 'false',
      LOG_LEVEL: 'warn',
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_SERVICE_NAME: service,
      // Nothing is exported on the schedule during this test: only a flush at shutdown can send it.
      OTEL_BSP_SCHEDULE_DELAY: '600000',
    });
    children.push(api);
    const base = `http://127.0.0.1:${port}`;
    await waitFor(
      async () => (await fetch(`${base}/api/v1/health/ready`)).status === 200,
      90_000,
      `api\n${api.output()}`,
    );
    // Any traced route (the probes are not traced): an anonymous request refused with 401.
    expect((await fetch(`${base}/api/v1/users/me`)).status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(receiver.spans.filter((s) => s.service === service)).toEqual([]);

    api.process.kill('SIGTERM');
    expect(await api.exited).toEqual({ code: 0, signal: null });
    const mine = receiver.spans.filter((s) => s.service === service);
    const request = mine.find(
      (s) =>
        s.kind === 2 &&
        ((s.attributes['url.path'] ?? s.attributes['http.target'] ?? '') as string).endsWith('/api/v1/users/me'),
    );
    expect(request).toMatchObject({ process: 'api' });
  }, 180_000);
});
