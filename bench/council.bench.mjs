/**
 * Council wall time: three judges whose model answers after 200 ms each, against one judge, in the
 * same bench run. Everything is real except the model: the built API with its in-process worker,
 * the LangGraph run graph, the council fan-out, the LLM gateway (budget reservation, breaker,
 * metering) and the fake LLM server speaking the OpenAI wire format on 127.0.0.1.
 *
 * Council wall time = first judge step started → last judge step finished (run step timestamps) of
 * a review-only task. The judges run in parallel, so three take about as long as one (target ≤ 1.3).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { startFakeLlm } from '../test/support/fake-llm/fake-llm.ts';

const DELAY_MS = 200;
const ROUNDS = 5;
const JUDGES = ['security', 'performance', 'maintainability'];
const FILES = [
  { path: 'src/sum.js', content: 'export function sum(xs) {\n  return xs.reduce((a, b) => a + b, 0);\n}\n' },
];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function api(base, method, path, token, body) {
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} → ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

async function signIn(base, databaseUrl) {
  const email = `bench-${randomUUID()}@example.com`;
  const password = `Bench-${randomUUID()}-pw!`;
  await api(base, 'POST', '/auth/register', undefined, { email, password });
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  await db.query('UPDATE users SET email_verified = true WHERE email = $1', [email]);
  await db.end();
  return (await api(base, 'POST', '/auth/login', undefined, { email, password })).accessToken;
}

/** Runs one review-only task with these judges; returns the council's wall time from its steps. */
async function councilWallMs(base, token, judges) {
  const { task } = await api(base, 'POST', '/tasks', token, {
    title: 'Bench review',
    description: 'Review sum.',
    language: 'javascript',
    mode: 'review',
    files: FILES,
    config: { councilEnabled: true, judges },
  });
  const { run } = await api(base, 'POST', `/tasks/${task.id}/execute`, token, {});
  const deadline = Date.now() + 30_000;
  for (;;) {
    const current = await api(base, 'GET', `/agents/runs/${run.id}`, token);
    if (current.status === 'completed' || current.status === 'failed') {
      if (current.status !== 'completed')
        throw new Error(`council bench run failed: ${current.errorCode} ${current.error}`);
      const steps = current.steps.filter((s) => s.agent.startsWith('judge.'));
      if (steps.length !== judges.length || steps.some((s) => s.status !== 'completed'))
        throw new Error(`unexpected judge steps: ${JSON.stringify(steps)}`);
      const start = Math.min(...steps.map((s) => Date.parse(s.startedAt)));
      const end = Math.max(...steps.map((s) => Date.parse(s.finishedAt)));
      return end - start;
    }
    if (Date.now() > deadline) throw new Error('council bench run did not finish in 30 s');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function run(ctx) {
  const fake = await startFakeLlm({
    handler: (request) =>
      request.forcedTool === 'submit_review'
        ? {
            delayMs: DELAY_MS,
            toolCalls: [
              { name: 'submit_review', arguments: { verdict: 'APPROVE', summary: 'Fine.', score: 9, issues: [] } },
            ],
            usage: { input: 800, output: 60 },
          }
        : undefined,
  });
  const databaseUrl = ctx.databaseUrl();
  const server = await ctx.startApi({
    DATABASE_URL: databaseUrl,
    WORKER_IN_PROCESS: 'true',
    OPENAI_API_KEY: 'sk-bench',
    OPENAI_BASE_URL: fake.openaiBaseUrl,
    DEFAULT_MODEL: 'openai:gpt-4o-mini',
    USE_COUNCIL_REVIEW: 'true',
  });
  try {
    const token = await signIn(server.url, databaseUrl);
    await councilWallMs(server.url, token, JUDGES); // warm-up: JIT, connection pools
    const one = [];
    const three = [];
    for (let round = 0; round < ROUNDS; round++) {
      one.push(await councilWallMs(server.url, token, ['security']));
      three.push(await councilWallMs(server.url, token, JUDGES));
    }
    const baseline = median(one);
    const value = median(three);
    const ratio = Math.round((value / baseline) * 100) / 100;
    return [
      {
        scenario: `council wall time, 1 judge, model answers after ${DELAY_MS} ms (median of ${ROUNDS})`,
        metric: 'ms',
        value: baseline,
      },
      {
        scenario: `council wall time, 3 judges in parallel, ${DELAY_MS} ms each (median of ${ROUNDS})`,
        metric: 'ms',
        value,
        baseline,
        ratio,
        target: '≤ 1.3',
        pass: ratio <= 1.3,
      },
    ];
  } finally {
    await server.stop();
    await fake.close();
  }
}
