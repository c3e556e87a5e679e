import { randomBytes } from 'node:crypto';
import { brotliDecompressSync } from 'node:zlib';
import { DataSource } from 'typeorm';
import { TrajectoriesService } from '../../src/agents/trajectories/trajectories.service.js';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { FakeLlm, startFakeLlm } from '../support/fake-llm/index.js';
import { fakeLlmEnv } from '../support/llm.js';
import { scriptAgents, waitForRun } from '../support/runs.js';
import { createTestApp, TestApp } from '../support/test-app.js';

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
/** Provider keys shaped like the real ones: configured, so the redaction knows them by value too. */
const OPENAI_KEY = `sk-proj-${hex(20)}`;
const ANTHROPIC_KEY = `sk-ant-api03-${hex(20)}`;
const GOOGLE_KEY = `AIza${hex(18)}`;
const REPOSITORY_TOKEN = `ghp_${hex(18)}`;
const API_KEY = `qk_${hex(16)}`;

const PLAN = { summary: 'Fix sum', steps: [{ title: 'Fix the operator', files: ['src/sum.mjs'] }] };
const SUM_BUGGY = 'export function sum(a, b) {\n  return a - b;\n}\n';
const BIG_FILE = `${'// filler line to make the file long\n'.repeat(400)}export const end = true;\n`;
const TESTS = {
  files: [
    {
      path: 'sum.test.mjs',
      content:
        "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { sum } from './src/sum.mjs';\ntest('adds', () => assert.equal(sum(1, 2), 3));\n",
    },
  ],
};
const APPROVE = { verdict: 'APPROVE', summary: 'ok', issues: [] };

interface Item {
  seq: number;
  stepId: string | null;
  agent: string;
  iteration: number | null;
  kind: 'model_call' | 'tool_call';
  request: Record<string, unknown>;
  response: Record<string, unknown>;
  usage?: Record<string, unknown>;
  durationMs: number;
  at: string;
}

describe('run trajectories (HTTP, fake LLM, real sandbox)', () => {
  let fake: FakeLlm;
  let t: TestApp;
  let alice: RegisteredUser;
  let bob: RegisteredUser;

  beforeAll(async () => {
    fake = await startFakeLlm();
    t = await createTestApp({
      env: fakeLlmEnv(fake, {
        OPENAI_API_KEY: OPENAI_KEY,
        ANTHROPIC_API_KEY: ANTHROPIC_KEY,
        GOOGLE_API_KEY: GOOGLE_KEY,
        TRAJECTORY_TOOL_RESULT_CHARS: '600',
        TRAJECTORY_MAX_ENTRY_BYTES: '8192',
      }),
    });
    alice = await registerUser(t);
    bob = await registerUser(t);
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  async function runTask() {
    const secrets = `my token ${alice.accessToken}, key ${API_KEY}, repo ${REPOSITORY_TOKEN}, provider ${OPENAI_KEY}`;
    const task = await t
      .http()
      .post('/api/v1/tasks')
      .set(alice.auth)
      .send({
        title: 'Fix sum',
        description: `sum() subtracts; it must add. (${secrets})`,
        language: 'javascript',
        files: [
          { path: 'src/sum.mjs', content: SUM_BUGGY },
          { path: 'src/big.mjs', content: BIG_FILE },
          { path: '.env', content: `GITHUB_TOKEN=${REPOSITORY_TOKEN}\nANTHROPIC_API_KEY=${ANTHROPIC_KEY}\n` },
        ],
      })
      .expect(201);
    const run = await t.http().post(`/api/v1/tasks/${task.body.task.id}/execute`).set(alice.auth).expect(202);
    return { taskId: task.body.task.id as string, runId: run.body.run.id as string };
  }

  it('keeps every model call and tool call in order, pages through them and exports them without secrets', async () => {
    scriptAgents(fake, {
      submit_plan: [{ tool: PLAN }],
      write_files: [
        { calls: [{ name: 'read_file', arguments: { path: '.env' } }] },
        {
          calls: [
            { name: 'read_file', arguments: { path: 'src/big.mjs' } },
            {
              name: 'write_file',
              arguments: { path: 'notes.txt', content: `use ${GOOGLE_KEY} and ${'x'.repeat(20_000)}` },
            },
          ],
        },
        { calls: [{ name: 'edit_file', arguments: { path: 'src/sum.mjs', oldText: 'a - b', newText: 'a + b' } }] },
        { tool: { files: [], notes: `done, token ${REPOSITORY_TOKEN}` } },
      ],
      write_tests: [{ tool: TESTS }],
      submit_review: [{ tool: APPROVE }],
    });
    const { taskId, runId } = await runTask();
    const run = await waitForRun(t, alice.auth, runId, ['completed', 'failed']);
    expect(run.status).toBe('completed');

    // Page through it two at a time.
    const items: Item[] = [];
    let cursor: string | null = null;
    do {
      const res = await t
        .http()
        .get(`/api/v1/agents/runs/${runId}/trajectory`)
        .query({ limit: 2, ...(cursor ? { cursor } : {}) })
        .set(alice.auth)
        .expect(200);
      expect(res.body.items.length).toBeLessThanOrEqual(2);
      items.push(...(res.body.items as Item[]));
      cursor = res.body.nextCursor as string | null;
    } while (cursor);

    expect(items.map((i) => i.seq)).toEqual(items.map((_, index) => index + 1));
    const summary = items.map((i) =>
      i.kind === 'model_call' ? `${i.agent}:model` : `${i.agent}:${String(i.request.tool)}`,
    );
    expect(summary).toEqual([
      'planner:model',
      'coder:model',
      'coder:read_file',
      'coder:model',
      'coder:read_file',
      'coder:write_file',
      'coder:model',
      'coder:edit_file',
      'coder:model',
      'tester:model',
      'reviewer:model',
    ]);

    // Each entry is tied to its step and iteration.
    const steps = run.steps as Array<{ id: string; agent: string; iteration: number }>;
    for (const item of items) {
      const step = steps.find((s) => s.id === item.stepId);
      expect(step).toBeDefined();
      expect(step!.agent).toBe(item.agent);
      expect(item.iteration).toBe(step!.iteration);
      expect(new Date(item.at).toISOString()).toBe(item.at);
      expect(item.durationMs).toBeGreaterThanOrEqual(0);
    }

    // A model call: what was sent (new messages only after the first call of a step) and what came back.
    const firstCoder = items[1];
    expect(firstCoder.request).toMatchObject({
      provider: 'openai',
      model: 'gpt-4o',
      attempt: 1,
      params: { maxTokens: expect.any(Number), toolChoice: 'required' },
      contextMessages: 0,
    });
    expect(firstCoder.request.tools).toEqual(expect.arrayContaining(['write_files', 'read_file', 'run_command']));
    const firstMessages = firstCoder.request.messages as Array<{ role: string; content: string }>;
    expect(firstMessages[0].role).toBe('system');
    expect(firstMessages.some((m) => m.content.includes('sum() subtracts'))).toBe(true);
    expect(firstCoder.response).toMatchObject({
      finishReason: 'tool_calls',
      toolCalls: [expect.objectContaining({ name: 'read_file', arguments: { path: '.env' } })],
    });
    expect(firstCoder.usage).toMatchObject({ inputTokens: expect.any(Number), costUsd: expect.any(String) });
    const secondCoder = items[3];
    expect(secondCoder.request.contextMessages).toBe(firstMessages.length);
    expect((secondCoder.request.messages as Array<{ role: string }>).map((m) => m.role)).toEqual(['assistant', 'tool']);

    // A tool call: arguments and a bounded result.
    const bigRead = items[4];
    expect(bigRead.request).toEqual({ tool: 'read_file', arguments: { path: 'src/big.mjs' } });
    expect(bigRead.response.ok).toBe(true);
    expect(bigRead.response.chars as number).toBeGreaterThan(600);
    expect(bigRead.response.content as string).toMatch(/characters omitted/);
    expect((bigRead.response.content as string).length).toBeLessThan(800);
    // An entry larger than TRAJECTORY_MAX_ENTRY_BYTES keeps its shape with its long texts clipped.
    const bigWrite = items[5];
    const written = (bigWrite.request.arguments as { content: string }).content;
    expect(written.length).toBeLessThan(8192);
    expect(written).toMatch(/characters omitted/);

    // The export: every entry, one per line, and no secret anywhere.
    const exported = await t
      .http()
      .get(`/api/v1/agents/runs/${runId}/trajectory?format=jsonl`)
      .set(alice.auth)
      .buffer(true)
      .parse((res, done) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => done(null, text));
      })
      .expect(200);
    expect(exported.headers['content-type']).toMatch(/^application\/x-ndjson/);
    const text = exported.body as string;
    const lines = text.trimEnd().split('\n');
    expect(lines.map((line) => (JSON.parse(line) as Item).seq)).toEqual(items.map((i) => i.seq));
    for (const secret of [alice.accessToken, API_KEY, REPOSITORY_TOKEN, OPENAI_KEY, ANTHROPIC_KEY, GOOGLE_KEY])
      expect(text).not.toContain(secret);
    expect(text).toContain('[REDACTED]');
    // Nor in what is stored, compressed or not.
    const stored = await t.app
      .get(DataSource)
      .query<{ body: Buffer }[]>('SELECT body FROM trajectory_entries WHERE run_id = $1', [runId]);
    expect(stored).toHaveLength(items.length);
    const storedText = stored.map((row) => brotliDecompressSync(row.body).toString('utf8')).join('\n');
    for (const secret of [alice.accessToken, API_KEY, REPOSITORY_TOKEN, OPENAI_KEY, ANTHROPIC_KEY, GOOGLE_KEY])
      expect(storedText).not.toContain(secret);

    // The task goes, and its runs' trajectories with it.
    await t.http().delete(`/api/v1/tasks/${taskId}`).set(alice.auth).expect(204);
    const left = await t.app
      .get(DataSource)
      .query<{ n: string }[]>('SELECT count(*) AS n FROM trajectory_entries WHERE run_id = $1', [runId]);
    expect(Number(left[0].n)).toBe(0);
  });

  it("is 404 for another user's run, 401 without a session, 400 for a bad cursor or format", async () => {
    scriptAgents(fake, {
      submit_plan: [{ tool: PLAN }],
      write_files: [{ tool: { files: [{ path: 'src/sum.mjs', content: SUM_BUGGY.replace('-', '+') }] } }],
      write_tests: [{ tool: TESTS }],
      submit_review: [{ tool: APPROVE }],
    });
    const { runId } = await runTask();
    await waitForRun(t, alice.auth, runId, ['completed', 'failed']);
    const path = `/api/v1/agents/runs/${runId}/trajectory`;
    const other = await t.http().get(path).set(bob.auth).expect(404);
    expect(other.body.code).toBe('RUN_NOT_FOUND');
    await t.http().get(`${path}?format=jsonl`).set(bob.auth).expect(404);
    await t.http().get(path).expect(401);
    await t.http().get(`/api/v1/agents/runs/${crypto.randomUUID()}/trajectory`).set(alice.auth).expect(404);
    await t.http().get('/api/v1/agents/runs/not-a-uuid/trajectory').set(alice.auth).expect(400);
    const badCursor = await t.http().get(`${path}?cursor=nonsense`).set(alice.auth).expect(400);
    expect(badCursor.body.code).toBe('VALIDATION_FAILED');
    await t.http().get(`${path}?format=xml`).set(alice.auth).expect(400);
    await t.http().get(`${path}?limit=0`).set(alice.auth).expect(400);
    // API keys read it with runs:read, as the run itself.
    const reader = await t
      .http()
      .post('/api/v1/api-keys')
      .set(alice.auth)
      .send({ name: 'reader', scopes: ['runs:read'] })
      .expect(201);
    const page = await t
      .http()
      .get(path)
      .set({ Authorization: `Bearer ${reader.body.key as string}` })
      .expect(200);
    expect(page.body.items.length).toBeGreaterThan(0);
    const tasksOnly = await t
      .http()
      .post('/api/v1/api-keys')
      .set(alice.auth)
      .send({ name: 'tasks', scopes: ['tasks:read'] })
      .expect(201);
    const refused = await t
      .http()
      .get(path)
      .set({ Authorization: `Bearer ${tasksOnly.body.key as string}` })
      .expect(403);
    expect(refused.body.code).toBe('INSUFFICIENT_SCOPE');
  });

  it('forgets entries past TRAJECTORY_RETENTION_DAYS and keeps the rest', async () => {
    scriptAgents(fake, {
      submit_plan: [{ tool: PLAN }],
      write_files: [{ tool: { files: [{ path: 'src/sum.mjs', content: SUM_BUGGY.replace('-', '+') }] } }],
      write_tests: [{ tool: TESTS }],
      submit_review: [{ tool: APPROVE }],
    });
    const { runId } = await runTask();
    await waitForRun(t, alice.auth, runId, ['completed', 'failed']);
    const db = t.app.get(DataSource);
    await db.query(
      `UPDATE trajectory_entries SET created_at = now() - interval '31 days' WHERE run_id = $1 AND seq <= 2`,
      [runId],
    );
    const removed = await t.app.get(TrajectoriesService).deleteExpired();
    expect(removed).toBe(2);
    const res = await t.http().get(`/api/v1/agents/runs/${runId}/trajectory`).set(alice.auth).expect(200);
    expect((res.body.items as Item[]).map((i) => i.seq)).toEqual([3, 4]);
  });
});
