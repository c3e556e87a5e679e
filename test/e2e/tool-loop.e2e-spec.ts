import { existsSync } from 'node:fs';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { FakeLlm, startFakeLlm } from '../support/fake-llm/index.js';
import type { FakeRequest } from '../support/fake-llm/index.js';
import { fakeLlmEnv } from '../support/llm.js';
import { processesWith } from '../support/processes.js';
import { agentOf, readSse, runEvents, scriptAgents, until, waitForRun } from '../support/runs.js';
import { createTestApp, TestApp } from '../support/test-app.js';
import { startWebhookReceiver, WebhookReceiver } from '../support/webhook-receiver.js';

const PLAN = { summary: 'Fix sum', steps: [{ title: 'Fix the operator', files: ['src/sum.mjs'] }] };
const SUM_BUGGY = 'export function sum(a, b) {\n  return a - b;\n}\n';
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

/** What the coder was told after each of its turns: the latest tool results of each of its requests. */
function coderTold(fake: FakeLlm): string[][] {
  return fake.requests
    .filter((r: FakeRequest) => agentOf(r) === 'write_files')
    .map((r) => r.toolResults.filter((result) => result.latest).map((result) => result.content));
}

/**
 * The coder's and tester's tool loop through the HTTP API (file tasks, the real sandbox, the fake
 * model scripting whole tool-calling conversations): mistakes are told to the model and the loop
 * goes on; limits, repetition, cancellation; events, webhooks and metering of every round.
 */
describe('agent tool loop (HTTP, fake LLM, real sandbox)', () => {
  let fake: FakeLlm;
  let t: TestApp;
  let alice: RegisteredUser;
  let receiver: WebhookReceiver;

  beforeAll(async () => {
    fake = await startFakeLlm();
    receiver = await startWebhookReceiver();
    t = await createTestApp({
      env: fakeLlmEnv(fake, {
        SANDBOX_TIMEOUT_SECONDS: '4',
        SANDBOX_MAX_OUTPUT_BYTES: '200000',
        WEBHOOK_ALLOW_PRIVATE_URLS: 'true',
      }),
    });
    alice = await registerUser(t);
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
    await receiver?.close();
  });
  beforeEach(() => fake.reset());

  async function start(config: Record<string, unknown> = {}) {
    const task = await t
      .http()
      .post('/api/v1/tasks')
      .set(alice.auth)
      .send({
        title: 'Fix sum',
        description: 'sum() subtracts; it must add.',
        language: 'javascript',
        files: [{ path: 'src/sum.mjs', content: SUM_BUGGY }],
        config,
      })
      .expect(201);
    const run = await t.http().post(`/api/v1/tasks/${task.body.task.id}/execute`).set(alice.auth).expect(202);
    return { taskId: task.body.task.id as string, runId: run.body.run.id as string };
  }

  it('tells the model about unknown tools, bad arguments, escaping paths, slow and flooding commands, and goes on', async () => {
    await t
      .http()
      .post('/api/v1/webhooks')
      .set(alice.auth)
      .send({ url: `${receiver.url}/all`, events: ['*'] })
      .expect(201);
    await t
      .http()
      .post('/api/v1/webhooks')
      .set(alice.auth)
      .send({ url: `${receiver.url}/tools`, events: ['agent.tool_call'] })
      .expect(201);
    const script = scriptAgents(fake, {
      submit_plan: [{ tool: PLAN }],
      write_files: [
        { calls: [{ name: 'frobnicate', arguments: {} }] },
        { calls: [{ name: 'read_file', arguments: { path: 5 } }] },
        {
          calls: [
            { name: 'read_file', arguments: { path: '../../../../etc/passwd' } },
            { name: 'write_file', arguments: { path: '/tmp/quorum-escaped.txt', content: 'x' } },
          ],
        },
        { calls: [{ name: 'run_command', arguments: { command: 'sleep 30' } }] },
        { calls: [{ name: 'run_command', arguments: { command: 'yes quorum-flood' } }] },
        { calls: [{ name: 'edit_file', arguments: { path: 'src/sum.mjs', oldText: 'a - b', newText: 'a + b' } }] },
        {
          calls: [
            {
              name: 'run_command',
              arguments: { command: 'node -e "import(\'./src/sum.mjs\').then(m => console.log(m.sum(2, 3)))"' },
            },
          ],
        },
        { tool: { files: [] } },
      ],
      write_tests: [{ tool: TESTS }],
      submit_review: [{ tool: APPROVE }],
    });
    const { taskId, runId } = await start();
    const run = await waitForRun(t, alice.auth, runId, ['completed', 'failed'], 90_000);
    expect(run).toMatchObject({ status: 'completed', iteration: 1 });
    expect(script.remaining()).toEqual({ submit_plan: 0, write_files: 0, write_tests: 0, submit_review: 0 });

    // The model was told, call by call, and each answer is an error it can act on.
    const told = coderTold(fake);
    expect(told[0]).toEqual([]);
    expect(told[1][0]).toContain('there is no tool named "frobnicate"');
    expect(told[2][0]).toContain('invalid arguments for read_file: path');
    expect(told[3][0]).toContain('must not contain ".." segments');
    expect(told[3][1]).toContain('must be relative to the workspace');
    expect(told[4][0]).toContain('did not finish within 4 s and was killed');
    expect(told[5][0]).toContain('quorum-flood\nquorum-flood');
    expect(told[5][0]).toContain('characters cut');
    expect(told[5][0]).toContain('printed more than 200000 bytes and was stopped');
    expect(told[5][0].length).toBeLessThan(10_000);
    expect(told[6][0]).toContain('Edited src/sum.mjs');
    expect(told[7][0]).toBe('5\n[exit code 0]');
    expect(existsSync('/tmp/quorum-escaped.txt')).toBe(false);

    // The edit made in the step's workspace is the result; tests passed on it.
    const result = (await t.http().get(`/api/v1/tasks/${taskId}/result`).set(alice.auth).expect(200)).body;
    expect(result.files).toContainEqual({ path: 'src/sum.mjs', content: SUM_BUGGY.replace('a - b', 'a + b') });
    expect(result.tests).toMatchObject({ passed: 1, failed: 0 });

    // One agent.tool_call event per call, stored and streamed.
    const events = await runEvents(t, alice.auth, runId);
    const calls = events.filter((e) => e.type === 'agent.tool_call');
    expect(calls.map((e) => [e.data.tool, e.data.target, e.data.ok])).toEqual([
      ['frobnicate', 'frobnicate', false],
      ['read_file', '5', false],
      ['read_file', '../../../../etc/passwd', false],
      ['write_file', '/tmp/quorum-escaped.txt', false],
      ['run_command', 'sleep 30', false],
      ['run_command', 'yes quorum-flood', false],
      ['edit_file', 'src/sum.mjs', true],
      ['run_command', expect.stringContaining('node -e'), true],
    ]);
    for (const event of calls) {
      expect(event.data).toMatchObject({ taskId, runId, agent: 'coder', iteration: 1, durationMs: expect.any(Number) });
    }
    expect(calls[4].data.durationMs).toBeGreaterThanOrEqual(3_900);
    const stream = await readSse(t, `/api/v1/agents/runs/${runId}/stream`, alice.auth);
    expect(stream.events.filter((e) => e.event === 'agent.tool_call')).toHaveLength(8);

    // Webhooks: the subscription naming agent.tool_call gets them all; the `*` one none of them.
    await until(async () => receiver.requests.filter((r) => r.path === '/tools').length >= 8, 20_000);
    await until(
      async () => receiver.requests.some((r) => r.path === '/all' && r.body.includes('run.completed')),
      20_000,
    );
    const toolDeliveries = receiver.requests.filter((r) => r.path === '/tools').map((r) => JSON.parse(r.body));
    expect(toolDeliveries.map((d) => d.type)).toEqual(Array(8).fill('agent.tool_call'));
    const all = receiver.requests.filter((r) => r.path === '/all').map((r) => JSON.parse(r.body).type as string);
    expect(all).toContain('agent.completed');
    expect(all).not.toContain('agent.tool_call');

    // Every model call of the loop is metered: one usage row each, summed on the coder's step.
    const coderCalls = fake.requests.filter((r) => agentOf(r) === 'write_files').length;
    expect(coderCalls).toBe(8);
    const usage = await t.http().get('/api/v1/metrics/usage?groupBy=agent').set(alice.auth).expect(200);
    expect(usage.body.items.find((i: { key: string }) => i.key === 'coder')).toMatchObject({ calls: 8 });
    const coderStep = run.steps.find((s) => s.agent === 'coder')!;
    expect(coderStep.status).toBe('completed');
    expect(Number(coderStep.costUsd)).toBeGreaterThan(0);
    expect(coderStep.inputTokens).toBe(
      fake.requests.filter((r) => agentOf(r) === 'write_files').reduce((n, r) => n + Math.ceil(r.prompt.length / 4), 0),
    );
  });

  it('stops at config.maxToolCalls: the call past it is not run and the model must finish', async () => {
    scriptAgents(fake, {
      submit_plan: [{ tool: PLAN }],
      write_files: [
        { calls: [{ name: 'list_files', arguments: {} }] },
        { calls: [{ name: 'read_file', arguments: { path: 'src/sum.mjs' } }] },
        { calls: [{ name: 'delete_file', arguments: { path: 'src/sum.mjs' } }] },
        { tool: { files: [{ path: 'src/sum.mjs', content: SUM_BUGGY.replace('a - b', 'a + b') }] } },
      ],
      write_tests: [{ tool: TESTS }],
      submit_review: [{ tool: APPROVE }],
    });
    const { runId } = await start({ maxToolCalls: 2 });
    const run = await waitForRun(t, alice.auth, runId, ['completed', 'failed'], 60_000);
    expect(run.status).toBe('completed');
    const coder = fake.requests.filter((r) => agentOf(r) === 'write_files');
    expect(coder.map((r) => r.forcedTool)).toEqual([undefined, undefined, 'write_files', 'write_files']);
    expect(coder[2].tools).toEqual(['write_files']);
    expect(coder[0].tools).toEqual([
      'write_files',
      'list_files',
      'read_file',
      'search',
      'edit_file',
      'write_file',
      'delete_file',
      'run_command',
    ]);
    const told = coderTold(fake);
    expect(told[2][0]).toContain('no tool calls are left for this step');
    expect(told[3][0]).toContain('the limit of 2 tool calls for this step is reached; this call was not run');
    const calls = (await runEvents(t, alice.auth, runId)).filter((e) => e.type === 'agent.tool_call');
    expect(calls.map((e) => [e.data.tool, e.data.ok])).toEqual([
      ['list_files', true],
      ['read_file', true],
      ['delete_file', false],
    ]);
    // The file the refused call would have deleted is still there.
    const result = (await t.http().get(`/api/v1/tasks/${run.taskId}/result`).set(alice.auth).expect(200)).body;
    expect(result.files.map((f: { path: string }) => f.path)).toContain('src/sum.mjs');
  });

  it('rejects a maxToolCalls outside 1..200 and changes nothing', async () => {
    for (const maxToolCalls of [0, 201, 'many', 1.5]) {
      const res = await t
        .http()
        .post('/api/v1/tasks')
        .set(alice.auth)
        .send({ title: 'x', description: 'y', language: 'javascript', config: { maxToolCalls } })
        .expect(400);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
      expect(JSON.stringify(res.body.errors)).toContain('maxToolCalls');
    }
    const list = await t.http().get('/api/v1/tasks?limit=100').set(alice.auth).expect(200);
    expect(list.body.items.filter((task: { title: string }) => task.title === 'x')).toEqual([]);
  });

  it('tells a loop that repeats itself once, then stops it as STUCK', async () => {
    const same = { calls: [{ name: 'read_file', arguments: { path: 'src/sum.mjs', startLine: 1, endLine: 2 } }] };
    scriptAgents(fake, { submit_plan: [{ tool: PLAN }], write_files: [same, same, same, same, same] });
    const { runId } = await start();
    const run = await waitForRun(t, alice.auth, runId, ['completed', 'failed'], 60_000);
    expect(run).toMatchObject({ status: 'failed', errorCode: 'STUCK' });
    const told = coderTold(fake);
    expect(told).toHaveLength(4);
    expect(told[3][0]).toContain('you made the same call with the same result 3 times in a row');
    expect(run.steps.find((s) => s.agent === 'coder')).toMatchObject({ status: 'failed' });
  });

  it('tells a loop that alternates between two calls once, then stops it as STUCK', async () => {
    const a = { calls: [{ name: 'read_file', arguments: { path: 'src/sum.mjs', startLine: 1, endLine: 2 } }] };
    const b = { calls: [{ name: 'list_files', arguments: { path: 'src' } }] };
    scriptAgents(fake, { submit_plan: [{ tool: PLAN }], write_files: [a, b, a, b, a, b, a, b] });
    const { runId } = await start();
    const run = await waitForRun(t, alice.auth, runId, ['completed', 'failed'], 60_000);
    expect(run).toMatchObject({ status: 'failed', errorCode: 'STUCK' });
    const told = coderTold(fake);
    expect(told).toHaveLength(7);
    expect(told[6][0]).toContain('you alternated between the same two calls, with the same results, 3 times each');
    expect(told.slice(0, 6).flat().join('\n')).not.toContain('Note:');
  });

  // How fast (issue 12: within 2 s) is a bench row (`npm run bench -- tool-loop`, "cancel during
  // run_command"); here, that the cancel kills the command instead of waiting for it: a run cancelled
  // while its 60 s command runs ends cancelled long before the command could have, and the
  // command's processes are gone by then.
  it('cancels during run_command: the command is killed, not waited for', async () => {
    scriptAgents(fake, {
      submit_plan: [{ tool: PLAN }],
      write_files: [{ calls: [{ name: 'run_command', arguments: { command: 'sleep 60.4242; echo done' } }] }],
    });
    const { taskId, runId } = await start();
    await until(async () => processesWith('sleep 60.4242').length > 0, 30_000, 20);
    const asked = Date.now();
    await t.http().post(`/api/v1/tasks/${taskId}/cancel`).set(alice.auth).expect(202);
    const run = await waitForRun(t, alice.auth, runId, ['cancelled', 'completed', 'failed'], 30_000);
    expect(run.status).toBe('cancelled');
    expect(Date.now() - asked).toBeLessThan(30_000);
    expect(processesWith('sleep 60.4242')).toEqual([]);
    const events = await runEvents(t, alice.auth, runId);
    expect(events.at(-1)?.type).toBe('run.cancelled');
  });
});
