#!/usr/bin/env node
// `npm run demo`: a newcomer's tour. Starts the bundled fake model (scripted: the first attempt fails
// its tests for real, the revision passes, the review approves), starts Quorum (API + in-process
// worker) on its own database, signs up a demo user, creates a task, executes it and renders the
// live SSE stream. `--exit` stops everything at the end instead of leaving the API up to explore.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createParser } from 'eventsource-parser';
import pg from 'pg';
import { startFakeLlm } from '../test/support/fake-llm/fake-llm.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const exitAtEnd = process.argv.includes('--exit');
const tty = process.stdout.isTTY;
const c = (code) => (text) => (tty ? `\x1b[${code}m${text}\x1b[0m` : text);
const bold = c('1');
const dim = c('2');
const green = c('32');
const red = c('31');
const cyan = c('36');
const yellow = c('33');
const say = (line = '') => {
  clearProgress();
  process.stdout.write(`${line}\n`);
};

// --- 1. the fake model -------------------------------------------------------------------------
const PLAN = {
  summary: 'Implement sum(a, b) in sum.mjs and prove it with node:test.',
  steps: [
    { title: 'Write sum.mjs', detail: 'export a function that adds two numbers', files: ['sum.mjs'] },
    { title: 'Test it', detail: 'cover positive numbers and zero', files: ['sum.test.mjs'] },
  ],
};
const attempts = [
  'export function sum(a, b) {\n  return a - b; // first attempt: a bug the tests will catch\n}\n',
  'export function sum(a, b) {\n  return a + b;\n}\n',
];
const TESTS = [
  "import { test } from 'node:test';",
  "import assert from 'node:assert/strict';",
  "import { sum } from './sum.mjs';",
  '',
  "test('adds two numbers', () => assert.equal(sum(1, 2), 3));",
  "test('adds zeros', () => assert.equal(sum(0, 0), 0));",
  '',
].join('\n');
let coderCalls = 0;
const fake = await startFakeLlm({
  handler: (request) => {
    const pace = { delayMs: 400, chunkDelayMs: 40 };
    // The coder's and the tester's loops force no tool: their finishing tool is offered first.
    switch (request.forcedTool ?? request.tools[0]) {
      case 'submit_plan':
        return {
          ...pace,
          text: 'Two steps: write the function, then test it.',
          toolCalls: [{ name: 'submit_plan', arguments: PLAN }],
        };
      case 'write_files': {
        const content = attempts[Math.min(coderCalls++, attempts.length - 1)];
        const text = coderCalls === 1 ? 'Writing sum.mjs.' : 'Fixing the sign error the failing test found.';
        return {
          ...pace,
          text,
          toolCalls: [{ name: 'write_files', arguments: { files: [{ path: 'sum.mjs', content }] } }],
        };
      }
      case 'write_tests':
        return {
          ...pace,
          text: 'Two focused tests.',
          toolCalls: [{ name: 'write_tests', arguments: { files: [{ path: 'sum.test.mjs', content: TESTS }] } }],
        };
      case 'submit_review':
        return {
          ...pace,
          text: 'Correct and tested.',
          toolCalls: [
            {
              name: 'submit_review',
              arguments: { verdict: 'APPROVE', summary: 'Correct, small and tested.', score: 9, issues: [] },
            },
          ],
        };
      default:
        return { text: 'The demo model only plays the agents.' };
    }
  },
});
say(`${bold('Quorum demo')} ${dim(`(fake model on ${fake.url})`)}`);

// --- 2. the app ----------------------------------------------------------------------------------
const port = Number(process.env.DEMO_PORT ?? (await freePort()));
const base = `http://127.0.0.1:${port}`;
const databaseUrl = process.env.DEMO_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/quorum_demo';
const env = {
  ...process.env,
  PORT: String(port),
  HOST: '127.0.0.1',
  DATABASE_URL: databaseUrl,
  REDIS_PREFIX: process.env.DEMO_REDIS_PREFIX ?? 'quorum-demo',
  DATA_DIR: process.env.DEMO_DATA_DIR ?? `${root}.data/demo`,
  WORKER_IN_PROCESS: 'true',
  OPENAI_API_KEY: 'demo-key',
  OPENAI_BASE_URL: fake.openaiBaseUrl,
  DEFAULT_MODEL: 'openai:gpt-4o',
  AGENT_MODELS: '',
  // info: the development mail transport logs the verification link, which the demo follows.
  LOG_LEVEL: 'info',
  QUORUM_SKIP_DOTENV: 'true',
};
say(dim(`starting Quorum on ${base} (database ${new URL(databaseUrl).pathname.slice(1)}; builds first if needed)…`));
let appLog = '';
const app = spawn(process.execPath, ['tools/start.mjs'], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
app.stdout.on('data', (chunk) => (appLog = (appLog + chunk).slice(-200_000)));
app.stderr.on('data', (chunk) => (appLog = (appLog + chunk).slice(-200_000)));
app.on('exit', (code) => {
  if (!stopping) {
    say(red(`Quorum exited (${code}). Its output:\n${appLog.slice(-4000)}`));
    process.exit(1);
  }
});
let stopping = false;
const stop = async (code = 0) => {
  stopping = true;
  app.kill('SIGTERM');
  await fake.close();
  process.exit(code);
};
process.on('SIGINT', () => void stop(0));

await waitFor(async () => (await fetch(`${base}/api/v1/health/ready`).catch(() => null))?.ok, 180_000);

// --- 3. a user, a task, a run ------------------------------------------------------------------------
const email = `demo-${randomBytes(4).toString('hex')}@example.test`;
const password = `Demo-${randomBytes(9).toString('base64url')}`;
await api('POST', '/auth/register', { email, password, name: 'Demo' }, undefined, 201);
// With no SMTP_URL the verification mail goes to the API's log (development transport): the demo
// reads the link's token from there and verifies like the web app would. Should the log not carry
// it, the documented fallback marks the throw-away demo user verified in the demo's own database.
const token = await waitFor(() => /verify-email\?token=([A-Za-z0-9._~%-]+)/.exec(appLog)?.[1], 10_000).catch(
  () => undefined,
);
let how = 'through the link in the development mail log';
if (token) await api('POST', '/auth/verify-email', { token: decodeURIComponent(token) }, undefined, 200);
else {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  await db.query('UPDATE users SET email_verified = true WHERE email = $1', [email]);
  await db.end();
  how = 'directly in the demo database (no mail log found)';
}
const { accessToken } = await api('POST', '/auth/login', { email, password }, undefined, 200);
say(`${green('✓')} signed up ${bold(email)}, email verified ${how}`);

const { task } = await api(
  'POST',
  '/tasks',
  {
    title: 'Sum two numbers',
    description: 'Export sum(a, b) from sum.mjs returning a + b.',
    language: 'javascript',
    config: { maxIterations: 3 },
  },
  accessToken,
  201,
);
say(`${green('✓')} created task ${bold(task.title)} ${dim(task.id)}`);
const { run } = await api('POST', `/tasks/${task.id}/execute`, undefined, accessToken, 202);
say(`${green('✓')} executing: run ${dim(run.id)}\n`);

// --- 4. the live stream ------------------------------------------------------------------------------
const started = Date.now();
let progress = { agent: '-', iteration: 0, cost: '0', tests: '' };
let delta = '';
await stream(`${base}/api/v1/agents/runs/${run.id}/stream`, accessToken, (type, event) => {
  const d = event.data;
  if (d.usage) progress.cost = d.usage.costUsd;
  switch (type) {
    case 'run.queued':
      return say(`${dim('•')} queued`);
    case 'run.started':
      return say(`${dim('•')} a worker picked the run up`);
    case 'agent.started':
      progress = { ...progress, agent: d.agent, iteration: d.iteration };
      delta = '';
      return say(`${cyan('▶')} ${bold(d.agent)}${d.iteration ? ` ${dim(`iteration ${d.iteration}`)}` : ''}`);
    case 'agent.delta':
      delta = `${delta}${d.text}`.slice(-70);
      return drawProgress(delta);
    case 'agent.completed': {
      const usage = d.stepUsage?.inputTokens
        ? ` · ${d.stepUsage.inputTokens + d.stepUsage.outputTokens} tokens · $${d.stepUsage.costUsd}`
        : '';
      const mark = d.status === 'completed' ? green('✓') : red('✗');
      return say(`  ${mark} ${d.summary ?? d.agent}${dim(usage)} ${dim(`(run so far: $${d.usage.costUsd})`)}`);
    }
    case 'tests.completed': {
      progress.tests = `${d.passed}✓ ${d.failed}✗`;
      const verdict = d.failed > 0 ? red(`${d.failed} failed`) : green('all passing');
      say(`  ${yellow('🧪')} tests ran in the sandbox: ${d.passed} passed, ${verdict}`);
      for (const failure of d.failures ?? [])
        say(`     ${red('✗')} ${failure.name}: ${dim(String(failure.message).replace(/\s+/g, ' ').slice(0, 110))}`);
      return;
    }
    case 'run.awaiting_input':
      return say(yellow('⏸  waiting for plan approval (POST /api/v1/agents/runs/:id/resume)'));
    case 'run.completed':
      return say(
        `\n${green(bold('✔ run completed'))} after ${d.iteration} iteration(s) · ${d.usage.inputTokens + d.usage.outputTokens} tokens · $${d.usage.costUsd} · ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
    case 'run.failed':
      return say(`\n${red(bold('✘ run failed'))}: ${d.code} ${d.error ?? ''}`);
    case 'run.cancelled':
      return say(`\n${yellow('run cancelled')}`);
    default:
      return undefined;
  }
});

// --- 5. where to look ----------------------------------------------------------------------------------
const result = await api('GET', `/tasks/${task.id}/result`, undefined, accessToken, 200);
say(
  `\n${bold('Result')}: tests ${result.tests?.passed ?? 0} passed / ${result.tests?.failed ?? 0} failed · review ${result.review?.verdict ?? '-'}`,
);
say(dim(result.diff.trimEnd()));
say(`
${bold('See it in the API')} (Authorization: Bearer <token below>):
  GET ${base}/api/v1/tasks/${task.id}/result
  GET ${base}/api/v1/agents/runs/${run.id}           (steps, tokens, cost)
  GET ${base}/api/v1/agents/runs/${run.id}/events    (the stored event log)
  GET ${base}/api/v1/agents/runs/${run.id}/stream    (replay over SSE)
${bold('Swagger UI')}: ${base}/api/docs   (Authorize with the token)
${bold('Demo login')}: ${email} / ${password}
${bold('Token')}: ${accessToken}
`);
if (exitAtEnd) await stop(0);
say(dim('Quorum keeps running for you to explore; Ctrl-C stops the demo.'));

// --- helpers -------------------------------------------------------------------------------------------
async function api(method, path, body, token, expected) {
  const res = await fetch(`${base}/api/v1${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json().catch(() => ({}));
  if (res.status !== expected) {
    say(red(`${method} ${path} answered ${res.status}: ${JSON.stringify(json)}`));
    await stop(1);
  }
  return json;
}

async function stream(url, token, onEvent) {
  const res = await fetch(url, { headers: { accept: 'text/event-stream', authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`stream answered ${res.status}`);
  const parser = createParser({ onEvent: (event) => onEvent(event.event, JSON.parse(event.data)) });
  const decoder = new TextDecoder();
  for await (const chunk of res.body) parser.feed(decoder.decode(chunk, { stream: true }));
  clearProgress();
}

function drawProgress(text) {
  if (!tty) return;
  const elapsed = ((Date.now() - started) / 1000).toFixed(1);
  const line = `  ${dim(`[${progress.agent} · iteration ${progress.iteration} · ${elapsed}s · $${progress.cost}${progress.tests ? ` · tests ${progress.tests}` : ''}]`)} ${text.replace(/\s+/g, ' ')}`;
  process.stdout.write(`\r\x1b[2K${line.slice(0, (process.stdout.columns ?? 120) + 20)}`);
}

function clearProgress() {
  if (tty) process.stdout.write('\r\x1b[2K');
}

async function waitFor(probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port: chosen } = server.address();
      server.close(() => resolve(chosen));
    });
  });
}
