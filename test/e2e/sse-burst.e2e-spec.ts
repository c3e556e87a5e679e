import { Agent, request as httpRequest } from 'node:http';
import { AddressInfo, createServer, connect, Server, Socket } from 'node:net';
import { createParser } from 'eventsource-parser';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { startFakeLlm, FakeLlm } from '../support/fake-llm/index.js';
import { fakeLlmEnv } from '../support/llm.js';
import { runEvents, scriptAgents, until, waitForRun } from '../support/runs.js';
import { createTestApp, TestApp } from '../support/test-app.js';
import { TEST_REDIS_URL } from '../support/test-env.js';

const READERS = 500;

interface Reader {
  status: number;
  ids: number[];
  ended: boolean;
}

/** One SSE reader; `opened` counts it once its first event arrived. */
function openReader(port: number, path: string, headers: Record<string, string>, agent: Agent, opened: () => void) {
  return new Promise<Reader>((resolve, reject) => {
    const req = httpRequest({
      host: '127.0.0.1',
      port,
      path,
      agent,
      headers: { Accept: 'text/event-stream', ...headers },
    });
    req.on('response', (res) => {
      const reader: Reader = { status: res.statusCode ?? 0, ids: [], ended: false };
      const parser = createParser({
        onEvent: (event) => {
          if (reader.ids.length === 0) opened();
          if (event.id !== undefined) reader.ids.push(Number(event.id));
        },
      });
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => parser.feed(chunk));
      res.on('end', () => resolve({ ...reader, ended: true }));
      res.on('error', () => resolve(reader));
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * A TCP hop to the test Redis whose first answer on each connection comes late (a Redis or a
 * network under load): ioredis's ready check (INFO) is then still pending while the readers' first
 * SUBSCRIBEs arrive, which is the window the burst used to fall into.
 */
async function slowStartRedisHop(delayMs: number): Promise<{ url: string; close: () => Promise<void> }> {
  const target = new URL(TEST_REDIS_URL);
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(Number(target.port || 6379), target.hostname);
    sockets.add(client).add(upstream);
    let first = true;
    upstream.on('data', (chunk) => {
      if (!first) return void client.write(chunk);
      first = false;
      upstream.pause();
      setTimeout(() => {
        client.write(chunk);
        upstream.resume();
      }, delayMs);
    });
    client.pipe(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `redis://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/**
 * A burst of SSE readers on a process that has not streamed anything yet (every API process just
 * after a deploy, when every browser reconnects): all streams open and all get the run's events.
 */
describe('a burst of SSE readers on a fresh API process', () => {
  let fake: FakeLlm;
  let api: TestApp;
  let worker: TestApp | undefined;
  let user: RegisteredUser;
  let hop: Awaited<ReturnType<typeof slowStartRedisHop>>;

  beforeAll(async () => {
    fake = await startFakeLlm();
    hop = await slowStartRedisHop(400);
    // The API process has no worker: the run waits in the queue until the readers are all in.
    api = await createTestApp({ workerInProcess: false, env: fakeLlmEnv(fake, { REDIS_URL: hop.url }) });
    user = await registerUser(api);
  });
  afterAll(async () => {
    await worker?.close();
    await api?.close();
    await hop?.close();
    await fake?.close();
  });

  it(`${READERS} streams opened at once all receive every event of the run to its end`, async () => {
    scriptAgents(fake, {
      submit_plan: [{ tool: { summary: 'Write sum', steps: [{ title: 'Implement sum' }] } }],
      write_files: [{ tool: { files: [{ path: 'sum.mjs', content: 'export const sum = (a, b) => a + b;\n' }] } }],
      write_tests: [
        {
          tool: {
            files: [
              {
                path: 'sum.test.mjs',
                content:
                  "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { sum } from './sum.mjs';\ntest('adds', () => assert.equal(sum(2, 2), 4));\n",
              },
            ],
          },
        },
      ],
      submit_review: [{ tool: { verdict: 'APPROVE', summary: 'ok', issues: [] } }],
    });
    const task = (
      await api
        .http()
        .post('/api/v1/tasks')
        .set(user.auth)
        .send({ title: 'Sum', description: 'sum(a, b)', language: 'javascript' })
        .expect(201)
    ).body.task;
    const run = (await api.http().post(`/api/v1/tasks/${task.id}/execute`).set(user.auth).expect(202)).body.run as {
      id: string;
    };

    const server = api.app.getHttpServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
    let opened = 0;
    const readers = Array.from({ length: READERS }, () =>
      openReader(port, `/api/v1/agents/runs/${run.id}/stream`, user.auth, agent, () => (opened += 1)),
    );
    // Every reader has its stream open (the stored `run.queued` arrived) before the run moves on.
    await until(async () => opened === READERS, 120_000, 50);

    // A second process works the run, so the readers depend on the live feed through Redis.
    worker = await createTestApp({ databaseUrl: api.databaseUrl, redisPrefix: api.redisPrefix, env: fakeLlmEnv(fake) });
    const done = await waitForRun(api, user.auth, run.id, ['completed', 'failed'], 120_000);
    const results = await Promise.all(readers);
    agent.destroy();

    const stored = (await runEvents(api, user.auth, run.id)).map((e) => e.seq);
    expect(done.status).toBe('completed');
    expect(results.filter((r) => r.status !== 200)).toEqual([]);
    expect(results.filter((r) => !r.ended || r.ids.join() !== stored.join())).toHaveLength(0);
  }, 240_000);
});
