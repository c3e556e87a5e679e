import { registerUser, RegisteredUser } from '../support/auth.js';
import { reviewerOf, review, scriptCouncil } from '../support/council.js';
import type { FakeRequest } from '../support/fake-llm/index.js';
import { FakeLlm, startFakeLlm } from '../support/fake-llm/index.js';
import { BareRepo, createBareRepo } from '../support/git-repos.js';
import { fakeLlmEnv } from '../support/llm.js';
import { agentOf, waitForRun } from '../support/runs.js';
import { createTestApp, TestApp } from '../support/test-app.js';

const AGENTS_RULE = 'Rule from AGENTS.md: never use var; always end statements with a semicolon.';
const CLAUDE_RULE = 'Rule from CLAUDE.md: this file must lose to AGENTS.md.';
const COPILOT_RULE = 'Rule from copilot-instructions: prefer small pure functions.';
const SUM = 'export function sum(a, b) {\n  return a + b;\n}\n';
const SUM_TEST = [
  "import { test } from 'node:test';",
  "import assert from 'node:assert/strict';",
  "import { sum } from '../src/sum.mjs';",
  "test('adds', () => assert.equal(sum(1, 2), 3));",
  '',
].join('\n');

/**
 * The repository's own instructions (API.md "Repository work"): AGENTS.md, else CLAUDE.md, else
 * .github/copilot-instructions.md of the base commit reaches the system instructions of every agent
 * (planner, coder, tester, reviewer) and every judge, bounded in size; a link is never followed.
 */
describe('repository instructions for agents (HTTP, local git, fake LLM, real sandbox)', () => {
  let fake: FakeLlm;
  let t: TestApp;
  let alice: RegisteredUser;
  const repos: BareRepo[] = [];

  beforeAll(async () => {
    fake = await startFakeLlm();
    t = await createTestApp({ env: fakeLlmEnv(fake, { ALLOW_LOCAL_REPOSITORIES: 'true' }) });
    alice = await registerUser(t);
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
    for (const repo of repos) repo.cleanup();
  });

  async function runOn(repo: BareRepo, config: Record<string, unknown>): Promise<FakeRequest[]> {
    const repository = await t.http().post('/api/v1/repositories').set(alice.auth).send({ url: repo.path }).expect(201);
    const task = await t
      .http()
      .post('/api/v1/tasks')
      .set(alice.auth)
      .send({
        title: 'Add sum',
        description: 'Write sum(a, b).',
        language: 'javascript',
        repositoryId: repository.body.id,
        config,
      })
      .expect(201);
    const from = fake.requests.length;
    const queued = await t.http().post(`/api/v1/tasks/${task.body.task.id}/execute`).set(alice.auth).expect(202);
    const run = await waitForRun(t, alice.auth, queued.body.run.id, ['completed', 'failed'], 60_000);
    expect(run).toMatchObject({ status: 'completed' });
    return fake.requests.slice(from);
  }

  const who = (request: FakeRequest) =>
    agentOf(request) === 'submit_review' ? reviewerOf(request) : (agentOf(request) ?? '?');

  it('gives AGENTS.md (not CLAUDE.md) to the planner, coder, tester, reviewer and every judge', async () => {
    const repo = createBareRepo({
      'AGENTS.md': `# Conventions\n\n${AGENTS_RULE}\n`,
      'CLAUDE.md': `${CLAUDE_RULE}\n`,
      'README.md': '# sums\n',
    });
    repos.push(repo);
    const script = {
      submit_plan: [{ tool: { summary: 'Add sum', steps: [{ title: 'Write sum' }] } }],
      write_files: [{ tool: { files: [{ path: 'src/sum.mjs', content: SUM }] } }],
      write_tests: [{ tool: { files: [{ path: 'test/sum.test.mjs', content: SUM_TEST }] } }],
    };
    scriptCouncil(fake, { ...script, reviewer: [review('APPROVE')] });
    const single = await runOn(repo, { councilEnabled: false });
    scriptCouncil(fake, { ...script, judges: { security: [review('APPROVE')], performance: [review('APPROVE')] } });
    const council = await runOn(repo, { councilEnabled: true, judges: ['security', 'performance'] });

    const asked = [...single, ...council].map((request) => [who(request), request.system.includes(AGENTS_RULE)]);
    expect(new Set(asked.map(([name]) => name))).toEqual(
      new Set(['submit_plan', 'write_files', 'write_tests', 'reviewer', 'security', 'performance']),
    );
    expect(asked.filter(([, given]) => !given)).toEqual([]);
    for (const request of [...single, ...council]) {
      expect(request.system).toContain('(from AGENTS.md)');
      expect(request.system).not.toContain(CLAUDE_RULE);
    }
  });

  it('passes over a linked AGENTS.md, takes .github/copilot-instructions.md and cuts a long one with a note', async () => {
    const filler = Array.from({ length: 800 }, (_, i) => `- line ${i} of the house rules, which are long.`).join('\n');
    const repo = createBareRepo(
      { '.github/copilot-instructions.md': `${COPILOT_RULE}\n${filler}\nTHE LAST LINE\n`, 'README.md': '# sums\n' },
      { symlinks: { 'AGENTS.md': '/etc/passwd' } },
    );
    repos.push(repo);
    scriptCouncil(fake, {
      submit_plan: [{ tool: { summary: 'Add sum', steps: [{ title: 'Write sum' }] } }],
      write_files: [{ tool: { files: [{ path: 'src/sum.mjs', content: SUM }] } }],
      write_tests: [{ tool: { files: [{ path: 'test/sum.test.mjs', content: SUM_TEST }] } }],
      reviewer: [review('APPROVE')],
    });
    const requests = await runOn(repo, { councilEnabled: false });
    expect(requests.length).toBeGreaterThanOrEqual(4);
    for (const request of requests) {
      expect(request.system).toContain('(from .github/copilot-instructions.md)');
      expect(request.system).toContain(COPILOT_RULE);
      expect(request.system).not.toContain('THE LAST LINE');
      expect(request.system).toMatch(/\.github\/copilot-instructions\.md is \d+ bytes; only its first \d+ bytes/);
      expect(request.prompt).not.toContain('root:x:0:0');
    }
    const shown = /<repository-instructions>\n([\s\S]*)\n<\/repository-instructions>/.exec(requests[0].system)![1];
    expect(Buffer.byteLength(shown)).toBeLessThanOrEqual(16 * 1024 + 300);
  });
});
