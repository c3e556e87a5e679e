import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { registerUser, RegisteredUser } from '../support/auth.js';
import { FakeLlm, startFakeLlm } from '../support/fake-llm/index.js';
import { git } from '../support/git-repos.js';
import { fakeLlmEnv } from '../support/llm.js';
import { review, reviewerOf, scriptCouncil } from '../support/council.js';
import { agentOf, runEvents, scriptAgents, waitForRun } from '../support/runs.js';
import type { AgentReply } from '../support/runs.js';
import { createTestApp, TestApp } from '../support/test-app.js';

const LINES = 1_600;
const BALANCE_LINE = 801;
const REFUND_LINE = 1_201;
const BUGGY = '  return entries.reduce((sum, entry) => sum - entry, 0);';
const FIXED = '  return entries.reduce((sum, entry) => sum + entry, 0);';

/** src/ledger.mjs: 1,600 lines; balance() (line 800) subtracts by mistake, refund() (line 1200) on purpose. */
function ledger(): string {
  const lines: string[] = [];
  for (let n = 1; n <= LINES; n++) {
    if (n === BALANCE_LINE - 1) lines.push('export function balance(entries) {');
    else if (n === BALANCE_LINE) lines.push(BUGGY);
    else if (n === REFUND_LINE - 1) lines.push('export function refund(entries) {');
    else if (n === REFUND_LINE) lines.push(BUGGY);
    else if (n === BALANCE_LINE + 1 || n === REFUND_LINE + 1) lines.push('}');
    else lines.push(`export const RATE_${n} = ${n};`);
  }
  return `${lines.join('\n')}\n`;
}

const OWN_TEST = [
  "import { test } from 'node:test';",
  "import assert from 'node:assert/strict';",
  "import { pad } from 'tiny-pad';",
  "import { balance } from '../src/ledger.mjs';",
  "test('balance adds the entries', () => assert.equal(pad(balance([1, 2]), 3), '003'));",
  '',
].join('\n');

/**
 * A local repository with a real npm dependency (a packed tarball, `file:` in package.json, so no
 * registry is needed) and its lock file, pushed to a bare repository the API reaches as a local path.
 */
function createNpmRepository(): { path: string; cleanup(): void } {
  const root = mkdtempSync(join(tmpdir(), 'quorum-npm-repo-'));
  const pkg = join(root, 'tiny-pad');
  const work = join(root, 'work');
  const bare = join(root, 'ledger.git');
  const files: Record<string, string> = {
    'tiny-pad/package.json': '{"name":"tiny-pad","version":"1.0.0","type":"module","main":"index.js"}\n',
    'tiny-pad/index.js': "export const pad = (value, width) => String(value).padStart(width, '0');\n",
    'work/package.json':
      JSON.stringify(
        {
          name: 'ledger',
          version: '1.0.0',
          type: 'module',
          scripts: { test: 'node --test' },
          dependencies: { 'tiny-pad': 'file:vendor/tiny-pad-1.0.0.tgz' },
        },
        null,
        2,
      ) + '\n',
    'work/src/ledger.mjs': ledger(),
    'work/test/ledger.test.mjs': OWN_TEST,
    'work/.gitignore': 'node_modules/\n',
  };
  for (const [file, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), content);
  }
  const npm = (args: string[], cwd: string) =>
    execFileSync('npm', args, {
      cwd,
      stdio: 'pipe',
      env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false' },
    });
  mkdirSync(join(work, 'vendor'));
  npm(['pack', '--silent', '--pack-destination', join(work, 'vendor')], pkg);
  npm(['install', '--package-lock-only', '--offline', '--ignore-scripts'], work);
  git(['init', '-q', '--bare', bare]);
  git(['init', '-q', work]);
  git(['add', '-A'], work);
  git(['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'Ledger'], work);
  git(['push', '-q', bare, 'HEAD:refs/heads/main'], work);
  return { path: bare, cleanup: () => rmSync(root, { recursive: true, force: true }) };
}

/**
 * The issue's scenario: a scripted tool-calling model fixes one line of a 1,600-line file in a real
 * npm repository (search → read → an ambiguous edit, refused → an exact edit → `npm test` → finish),
 * the tester writes and runs a test, and the run completes on its first iteration with a diff of
 * exactly that line (plus the new test).
 */
describe('a tool loop on a real npm repository (HTTP, local git, fake LLM, real sandbox)', () => {
  let fake: FakeLlm;
  let t: TestApp;
  let alice: RegisteredUser;
  let repo: { path: string; cleanup(): void };
  let local: Server;
  let localHits = 0;
  let repositoryId: string;

  beforeAll(async () => {
    repo = createNpmRepository();
    local = createServer((_req, res) => {
      localHits++;
      res.end('reached');
    });
    await new Promise<void>((resolve) => local.listen(0, '127.0.0.1', resolve));
    fake = await startFakeLlm();
    t = await createTestApp({
      env: fakeLlmEnv(fake, { ALLOW_LOCAL_REPOSITORIES: 'true', AGENT_TIMEOUT_SECONDS: '20' }),
    });
    alice = await registerUser(t);
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
    await new Promise((resolve) => local?.close(resolve));
    repo?.cleanup();
  });

  /** Creates a task on the test repository, executes it and waits for its end (fake requests before it: `requestsBefore`). */
  async function runRepositoryTask(body: Record<string, unknown>) {
    const task = await t
      .http()
      .post('/api/v1/tasks')
      .set(alice.auth)
      .send({ language: 'javascript', repositoryId, ...body })
      .expect(201);
    const taskId = task.body.task.id as string;
    const requestsBefore = fake.requests.length;
    const queued = await t.http().post(`/api/v1/tasks/${taskId}/execute`).set(alice.auth).expect(202);
    const run = await waitForRun(t, alice.auth, queued.body.run.id, ['completed', 'failed'], 150_000);
    return { taskId, run, requestsBefore };
  }

  it('search → read → refused ambiguous edit → exact edit → npm test → finish; the diff is one line', async () => {
    const localUrl = `http://127.0.0.1:${(local.address() as AddressInfo).port}/`;
    const newTest = [
      "import { test } from 'node:test';",
      "import assert from 'node:assert/strict';",
      "import { balance, refund } from '../src/ledger.mjs';",
      "test('balance of nothing is zero', () => assert.equal(balance([]), 0));",
      "test('refund still subtracts', () => assert.equal(refund([1, 2]), -3));",
      `test('cannot reach a local server', async () => { await assert.rejects(fetch('${localUrl}', { signal: AbortSignal.timeout(1500) })); });`,
      '',
    ].join('\n');
    const script = scriptAgents(fake, {
      submit_plan: [{ tool: { summary: 'Fix balance', steps: [{ title: 'balance must add' }] } }],
      write_files: [
        { calls: [{ name: 'search', arguments: { pattern: 'function balance' } }] },
        { calls: [{ name: 'read_file', arguments: { path: 'src/ledger.mjs', startLine: 799, endLine: 803 } }] },
        { calls: [{ name: 'edit_file', arguments: { path: 'src/ledger.mjs', oldText: BUGGY, newText: FIXED } }] },
        {
          calls: [
            {
              name: 'edit_file',
              arguments: {
                path: 'src/ledger.mjs',
                oldText: `export function balance(entries) {\n${BUGGY}`,
                newText: `export function balance(entries) {\n${FIXED}`,
              },
            },
          ],
        },
        { calls: [{ name: 'run_command', arguments: { command: 'npm test' } }] },
        { tool: { files: [], notes: 'balance() adds now' } },
      ],
      write_tests: [
        { calls: [{ name: 'write_file', arguments: { path: 'test/balance.test.mjs', content: newTest } }] },
        { calls: [{ name: 'run_command', arguments: { command: 'node --test test/balance.test.mjs' } }] },
        { tool: { files: [] } },
      ],
      submit_review: [{ tool: { verdict: 'APPROVE', summary: 'One-line fix.', score: 9, issues: [] } }],
    });
    const repository = await t.http().post('/api/v1/repositories').set(alice.auth).send({ url: repo.path }).expect(201);
    repositoryId = repository.body.id;
    const task = await t
      .http()
      .post('/api/v1/tasks')
      .set(alice.auth)
      .send({
        title: 'Fix balance',
        description: 'balance() subtracts the entries; it must add them.',
        language: 'javascript',
        repositoryId: repository.body.id,
        config: { testCommand: 'npm test' },
      })
      .expect(201);
    const taskId = task.body.task.id as string;
    const queued = await t.http().post(`/api/v1/tasks/${taskId}/execute`).set(alice.auth).expect(202);
    const run = await waitForRun(t, alice.auth, queued.body.run.id, ['completed', 'failed'], 150_000);
    expect(run).toMatchObject({ status: 'completed', iteration: 1 });
    expect(script.remaining()).toEqual({ submit_plan: 0, write_files: 0, write_tests: 0, submit_review: 0 });

    const told = (tool: string) =>
      fake.requests
        .filter((r) => agentOf(r) === tool)
        .map((r) => r.toolResults.filter((result) => result.latest).map((result) => result.content));
    const coder = told('write_files');
    expect(coder[1]).toEqual([`src/ledger.mjs:800: export function balance(entries) {`]);
    expect(coder[2][0]).toBe(
      [
        '799\texport const RATE_799 = 799;',
        '800\texport function balance(entries) {',
        `801\t${BUGGY}`,
        '802\t}',
        '803\texport const RATE_803 = 803;',
        '(798 more lines above)',
        '(797 more lines below: call read_file with startLine=804, or search for what you need)',
      ].join('\n'),
    );
    expect(coder[3][0]).toContain(
      `matches 2 times in src/ledger.mjs (at lines ${BALANCE_LINE}, ${REFUND_LINE}); nothing changed`,
    );
    expect(coder[4][0]).toContain(`801\t${FIXED}`);
    expect(coder[5][0]).toMatch(/ pass 1\n/);
    expect(coder[5][0]).toMatch(/\[exit code 0\]$/);
    // The reviewer judged the change the tools made (both finishing calls named no file): the
    // changed files whole and the diff against the base commit.
    const [reviewRequest] = fake.requests.filter((r) => agentOf(r) === 'submit_review');
    expect(reviewRequest.prompt).toContain(`--- src/ledger.mjs\nexport const RATE_1 = 1;`);
    expect(reviewRequest.prompt).toContain('--- test/balance.test.mjs');
    expect(reviewRequest.prompt).toContain("The change against the repository's base commit:\ndiff --git");
    expect(reviewRequest.prompt).toContain(`\n-${BUGGY}\n+${FIXED}\n`);
    expect(reviewRequest.prompt).not.toContain('node_modules');
    // The tester was shown the change under test (made with tools only) as a diff.
    const [testerRequest] = fake.requests.filter((r) => agentOf(r) === 'write_tests');
    expect(testerRequest.prompt).toContain("The change under test (a diff against the repository's base commit");
    expect(testerRequest.prompt).toContain(`\n-${BUGGY}\n+${FIXED}\n`);
    const tester = told('write_tests');
    expect(tester[1][0]).toBe('Created test/balance.test.mjs (6 lines).');
    expect(tester[2][0]).toMatch(/ pass 3\n/);

    const events = await runEvents(t, alice.auth, run.id);
    expect(
      events
        .filter((e) => e.type === 'agent.tool_call')
        .map((e) => [e.data.agent, e.data.tool, e.data.target, e.data.ok]),
    ).toEqual([
      ['coder', 'search', 'function balance', true],
      ['coder', 'read_file', 'src/ledger.mjs:799-803', true],
      ['coder', 'edit_file', 'src/ledger.mjs', false],
      ['coder', 'edit_file', 'src/ledger.mjs', true],
      ['coder', 'run_command', 'npm test', true],
      ['tester', 'write_file', 'test/balance.test.mjs', true],
      ['tester', 'run_command', 'node --test test/balance.test.mjs', true],
    ]);

    // The repository's own test and the tester's ran in the test step; the local server saw nothing.
    const result = (await t.http().get(`/api/v1/tasks/${taskId}/result`).set(alice.auth).expect(200)).body;
    expect(result.tests).toMatchObject({ passed: 4, failed: 0 });
    // The tester's tests are the file its write_file made, though its finishing call named none.
    expect(result.tests.files).toEqual([{ path: 'test/balance.test.mjs', content: newTest }]);
    expect(localHits).toBe(0);

    // The diff: exactly the one line of the large file, and the new test; nothing installed.
    const diff = result.diff as string;
    const ledgerDiff = diff.split(/^diff --git /m).find((part) => part.startsWith('a/src/ledger.mjs'))!;
    const changed = ledgerDiff.split('\n').filter((line) => /^[-+](?![-+]{2} )/.test(line));
    expect(changed).toEqual([`-${BUGGY}`, `+${FIXED}`]);
    expect(diff).toContain('b/test/balance.test.mjs');
    expect(diff).not.toContain('node_modules');
    expect(diff.match(/^diff --git /gm)).toHaveLength(2);
    // The result's files are the diff's: the edited file and the test written with write_file,
    // though both finishing calls had no files.
    expect(result.files.map((f: { path: string }) => f.path)).toEqual(['src/ledger.mjs', 'test/balance.test.mjs']);
    expect(result.files[0].content).toContain(FIXED);
    // The patch is the same commit: its diff is the result's diff, byte for byte.
    const patch = await t.http().get(`/api/v1/tasks/${taskId}/patch`).set(alice.auth).expect(200);
    expect(patch.text.endsWith(diff)).toBe(true);
    expect(events.find((e) => e.type === 'setup.completed')?.data).toMatchObject({ cached: false });

    // A second run on the same lock file reuses the installed dependencies.
    scriptAgents(fake, {
      submit_plan: [{ tool: { summary: 'Fix balance', steps: [{ title: 'balance must add' }] } }],
      write_files: [
        {
          calls: [
            {
              name: 'edit_file',
              arguments: {
                path: 'src/ledger.mjs',
                oldText: `export function balance(entries) {\n${BUGGY}`,
                newText: `export function balance(entries) {\n${FIXED}`,
              },
            },
          ],
        },
        { tool: { files: [] } },
      ],
      write_tests: [{ tool: { files: [] } }],
      submit_review: [{ tool: { verdict: 'APPROVE', summary: 'ok', issues: [] } }],
    });
    const again = await t.http().post(`/api/v1/tasks/${taskId}/execute`).set(alice.auth).expect(202);
    const second = await waitForRun(t, alice.auth, again.body.run.id, ['completed', 'failed'], 150_000);
    expect(second).toMatchObject({ status: 'completed', iteration: 1 });
    const secondEvents = await runEvents(t, alice.auth, second.id);
    expect(secondEvents.find((e) => e.type === 'setup.completed')?.data).toMatchObject({ cached: true });
    expect(secondEvents.find((e) => e.type === 'tests.completed')?.data).toMatchObject({ passed: 1, failed: 0 });
  });
  it('a run that fails on the way still shows what changed: the commit’s hunks, the same in the diff and the patch', async () => {
    // A single-shot coder rewrites the whole 1,600-line file to change one line; the tester never
    // calls its tool, so the run fails before any outcome of its own.
    const fixed = ledger().replace(
      `export function balance(entries) {\n${BUGGY}`,
      `export function balance(entries) {\n${FIXED}`,
    );
    scriptAgents(fake, {
      submit_plan: [{ tool: { summary: 'Fix balance', steps: [{ title: 'balance must add' }] } }],
      write_files: [{ tool: { files: [{ path: 'src/ledger.mjs', content: fixed }] } }],
      write_tests: [{ text: 'no tool call' }, { text: 'still none' }],
    });
    const task = await t
      .http()
      .post('/api/v1/tasks')
      .set(alice.auth)
      .send({
        title: 'Fix balance again',
        description: 'balance() subtracts the entries; it must add them.',
        language: 'javascript',
        repositoryId,
      })
      .expect(201);
    const taskId = task.body.task.id as string;
    const queued = await t.http().post(`/api/v1/tasks/${taskId}/execute`).set(alice.auth).expect(202);
    const run = await waitForRun(t, alice.auth, queued.body.run.id, ['completed', 'failed'], 150_000);
    expect(run).toMatchObject({ status: 'failed', error: expect.stringContaining('write_tests') });
    const result = (await t.http().get(`/api/v1/tasks/${taskId}/result`).set(alice.auth).expect(200)).body;
    const diff = result.diff as string;
    expect(diff.match(/^diff --git .*$/gm)).toEqual(['diff --git a/src/ledger.mjs b/src/ledger.mjs']);
    expect(diff.split('\n').filter((line) => /^[-+](?![-+]{2} )/.test(line))).toEqual([`-${BUGGY}`, `+${FIXED}`]);
    expect(diff).not.toContain('RATE_100 ');
    expect(diff.split('\n').length).toBeLessThan(20);
    const patch = await t.http().get(`/api/v1/tasks/${taskId}/patch`).set(alice.auth).expect(200);
    expect(patch.text.endsWith(diff)).toBe(true);
  });

  it('a revision works on what the first iteration answered, and keeps its own edits', async () => {
    // Iteration 1 answers whole files (single-shot); the reviewer asks for changes. Iteration 2's
    // coder (the tester is not asked again: the tests exist) must find those files in the checkout, and its edit must survive the test step and the
    // commit (an older copy of the answered file must not be written over it).
    const fixed = ledger().replace(
      `export function balance(entries) {\n${BUGGY}`,
      `export function balance(entries) {\n${FIXED}`,
    );
    const firstTest = [
      "import { test } from 'node:test';",
      "import assert from 'node:assert/strict';",
      "import { balance } from '../src/ledger.mjs';",
      "test('balance adds', () => assert.equal(balance([1, 2]), 3));",
      '',
    ].join('\n');
    const script = scriptAgents(fake, {
      submit_plan: [{ tool: { summary: 'Fix balance', steps: [{ title: 'balance must add' }] } }],
      write_files: [
        { tool: { files: [{ path: 'src/ledger.mjs', content: fixed }] } },
        { calls: [{ name: 'read_file', arguments: { path: 'src/ledger.mjs', startLine: 801, endLine: 801 } }] },
        {
          calls: [
            {
              name: 'edit_file',
              arguments: {
                path: 'src/ledger.mjs',
                oldText: 'export const RATE_1 = 1;',
                newText: 'export const RATE_1 = 1.5;',
              },
            },
          ],
        },
        { tool: { files: [] } },
      ],
      write_tests: [{ tool: { files: [{ path: 'test/first.test.mjs', content: firstTest }] } }],
      submit_review: [
        { tool: { verdict: 'REVISE', summary: 'RATE_1 must be 1.5.', issues: [] } },
        { tool: { verdict: 'APPROVE', summary: 'ok', issues: [] } },
      ],
    });
    const { taskId, run, requestsBefore } = await runRepositoryTask({
      title: 'Fix balance and RATE_1',
      description: 'balance() must add; RATE_1 is 1.5.',
    });
    expect(run).toMatchObject({ status: 'completed', iteration: 2 });
    expect(script.remaining()).toEqual({ submit_plan: 0, write_files: 0, write_tests: 0, submit_review: 0 });
    // The second iteration's coder read the first iteration's answer from the checkout.
    const coderTold = fake.requests
      .slice(requestsBefore)
      .filter((r) => agentOf(r) === 'write_files')
      .map((r) => r.toolResults.filter((result) => result.latest).map((result) => result.content));
    expect(coderTold[2][0]).toContain(`801\t${FIXED}`);
    // Its prompt showed the change so far (the answered file and the tests) and the findings.
    const revising = fake.requests.slice(requestsBefore).filter((r) => agentOf(r) === 'write_files')[1];
    expect(revising.prompt).toContain('This is revision 2. Your change so far (a diff against');
    expect(revising.prompt).toContain(`\n-${BUGGY}\n+${FIXED}\n`);
    expect(revising.prompt).toContain('+++ b/test/first.test.mjs');
    expect(revising.prompt).toContain('Fix these findings:\nReview verdict REVISE: RATE_1 must be 1.5.');
    const result = (await t.http().get(`/api/v1/tasks/${taskId}/result`).set(alice.auth).expect(200)).body;
    expect(result.tests).toMatchObject({ passed: 2, failed: 0 });
    expect(result.tests.files).toEqual([{ path: 'test/first.test.mjs', content: firstTest }]);
    const changed = (result.diff as string).split('\n').filter((line) => /^[-+](?![-+]{2} )/.test(line));
    expect(changed).toEqual(
      expect.arrayContaining([
        '-export const RATE_1 = 1;',
        '+export const RATE_1 = 1.5;',
        `-${BUGGY}`,
        `+${FIXED}`,
        "+test('balance adds', () => assert.equal(balance([1, 2]), 3));",
      ]),
    );
    const ledgerFile = (result.files as Array<{ path: string; content: string }>).find(
      (f) => f.path === 'src/ledger.mjs',
    )!;
    expect(ledgerFile.content.startsWith('export const RATE_1 = 1.5;\n')).toBe(true);
    expect(ledgerFile.content).toContain(FIXED);
  });

  it('a council judges each iteration on the checkout’s change, so a revision made with tools is not "the same files"', async () => {
    // Both coder iterations change the checkout with edit_file and name no file in their finishing
    // call; security's critical finding vetoes the first iteration: the judges must see each iteration's change (else the second looks like the first and
    // the council stops the run as stuck).
    const edit = (oldText: string, newText: string): AgentReply => ({
      calls: [{ name: 'edit_file', arguments: { path: 'src/ledger.mjs', oldText, newText } }],
    });
    const council = scriptCouncil(fake, {
      submit_plan: [{ tool: { summary: 'Fix balance', steps: [{ title: 'balance must add' }] } }],
      write_files: [
        edit(`export function balance(entries) {\n${BUGGY}`, `export function balance(entries) {\n${FIXED}`),
        { tool: { files: [] } },
        edit('export const RATE_2 = 2;', 'export const RATE_2 = 2.5;'),
        { tool: { files: [] } },
      ],
      write_tests: [{ tool: { files: [] } }, { tool: { files: [] } }],
      judges: {
        security: [review('REVISE', [{ severity: 'critical', message: 'RATE_2 must be 2.5' }]), review('APPROVE')],
        performance: [review('APPROVE')],
        maintainability: [review('APPROVE')],
      },
    });
    const { run, requestsBefore } = await runRepositoryTask({
      title: 'Fix balance and RATE_2',
      description: 'balance() must add; RATE_2 is 2.5.',
      config: { councilEnabled: true },
    });
    expect(run).toMatchObject({ status: 'completed', iteration: 2 });
    expect(council.remaining()).toEqual({ submit_plan: 0, write_files: 0, write_tests: 0, reviewer: 0 });
    const security = fake.requests.slice(requestsBefore).filter((r) => reviewerOf(r) === 'security');
    expect(security).toHaveLength(2);
    expect(security[0].prompt).toContain('# Change against the base commit');
    expect(security[0].prompt).toContain(`+${FIXED}`);
    expect(security[0].prompt).not.toContain('+export const RATE_2 = 2.5;');
    expect(security[1].prompt).toContain('+export const RATE_2 = 2.5;');
    // The changed file, whole and numbered, as the judges cite lines.
    expect(security[1].prompt).toContain(`## src/ledger.mjs`);
    expect(security[1].prompt).toContain(` 801| ${FIXED}`);
  });
});
