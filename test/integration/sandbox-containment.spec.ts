import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { DRAIN_GRACE_MS } from '../../src/agents/sandbox/drivers/spawn-bounded.js';
import { pidsWithMarker, waitFor } from '../support/processes.js';
import { createSandboxHarness, type SandboxHarness } from '../support/sandbox.js';

const FAKE_SECRET = 'sk-quorum-fake-secret-0123456789';

/**
 * Time bounds below are a limit plus what the driver itself allows after a kill (the pipes' drain
 * grace) plus this: the most a loaded machine (the whole suite on 2 cores) delays a timer or a
 * process's exit. Each bound stays far below what the run would take were the limit not enforced.
 */
const SCHEDULING_ALLOWANCE_MS = 3000;

/** A generated test file: the hostile behaviour runs inside `node --test` like real agent output would. */
const testFile = (body: string) => `import { test } from 'node:test';
import assert from 'node:assert/strict';
${body}
`;

describe('SandboxService containment (bwrap, real processes)', () => {
  let h: SandboxHarness;
  const small = { timeoutSeconds: 10, maxProcesses: 32, memoryMb: 128, maxOutputBytes: 256 * 1024 };

  beforeAll(async () => {
    // A secret in the parent's environment, as a real API key would be.
    process.env.QUORUM_FAKE_PROVIDER_KEY = FAKE_SECRET;
    h = await createSandboxHarness();
  });
  afterAll(async () => {
    delete process.env.QUORUM_FAKE_PROVIDER_KEY;
    await h?.close();
  });

  async function workspace(files: { path: string; content: string }[]): Promise<string> {
    const dir = await h.workspaces.create(randomUUID());
    await h.workspaces.writeFiles(dir, files);
    return dir;
  }

  /** After whatever the previous test did, the sandbox still runs an ordinary test. */
  async function expectHealthy(): Promise<void> {
    const dir = await workspace([{ path: 'ok.test.mjs', content: testFile(`test('fine', () => assert.ok(true));`) }]);
    await expect(
      h.sandbox.runTests({ workspaceDir: dir, language: 'javascript', limits: small }),
    ).resolves.toMatchObject({
      status: 'passed',
      passed: 1,
    });
  }

  it('gives generated code an empty environment: no secret from the parent is visible', async () => {
    expect(process.env.QUORUM_FAKE_PROVIDER_KEY).toBe(FAKE_SECRET);
    const dir = await workspace([
      {
        path: 'env.test.mjs',
        content: testFile(`test('leaks the environment', () => {
  console.log('ENV=' + JSON.stringify(process.env));
  assert.ok(process.env.QUORUM_FAKE_PROVIDER_KEY, 'no provider key visible');
});`),
      },
    ]);
    const result = await h.sandbox.runTests({ workspaceDir: dir, language: 'javascript', limits: small });
    expect(result).toMatchObject({ status: 'failed', failed: 1 });
    expect(result.failures[0].message).toContain('no provider key visible');
    expect(result.output).not.toContain(FAKE_SECRET);
    const env = JSON.parse(/ENV=(\{.*\})/.exec(result.output)![1]) as Record<string, string>;
    // What the sandbox sets, plus what the test runner adds for its own workers.
    const allowed = [
      'CI',
      'HOME',
      'LANG',
      'NODE_OPTIONS',
      'NO_COLOR',
      'PATH',
      'PWD',
      'PYTHONDONTWRITEBYTECODE',
      'PYTHONUNBUFFERED',
      'XDG_CACHE_HOME',
    ];
    expect(
      Object.keys(env).filter(
        (k) => !allowed.includes(k) && !k.startsWith('NODE_TEST_') && !k.startsWith('npm_config_'),
      ),
    ).toEqual([]);
    expect(env.NODE_OPTIONS).toBe('--max-old-space-size=128');
    expect(env.HOME).toBe('/workspace');
  });

  it('has no network: a connection to a server on 127.0.0.1 fails and the server sees nothing', async () => {
    let connections = 0;
    const server: Server = createServer((socket) => {
      connections++;
      socket.end('hello');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    try {
      const dir = await workspace([
        {
          path: 'net.test.mjs',
          content: testFile(`import { connect } from 'node:net';
test('talks to the host', async () => {
  const reply = await new Promise((resolve, reject) => {
    const socket = connect(${port}, '127.0.0.1');
    socket.on('data', (d) => resolve(String(d)));
    socket.on('error', reject);
  });
  assert.equal(reply, 'hello');
});`),
        },
      ]);
      const result = await h.sandbox.runTests({ workspaceDir: dir, language: 'javascript', limits: small });
      expect(result).toMatchObject({ status: 'failed', failed: 1 });
      expect(result.failures[0].message).toMatch(/ECONNREFUSED|ENETUNREACH/);
      expect(connections).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('lets generated code write only inside the workspace', async () => {
    const dir = await workspace([{ path: 'seed.txt', content: 'seed' }]);
    const outsideFiles = [join(h.dataDir, 'escape.txt'), join(dir, '..', 'escape.txt'), '/tmp/quorum-escape.txt'];
    const dir2 = dir;
    await h.workspaces.writeFiles(dir2, [
      {
        path: 'write.test.mjs',
        content: testFile(`import { writeFileSync } from 'node:fs';
import { readFileSync } from 'node:fs';
test('writes inside', () => { writeFileSync('inside.txt', 'ok'); assert.equal(readFileSync('inside.txt', 'utf8'), 'ok'); });
for (const target of ${JSON.stringify([...outsideFiles, '/usr/quorum-escape.txt', '/etc/quorum-escape.txt'])}) {
  test('writes ' + target, () => { writeFileSync(target, 'escaped'); });
}`),
      },
    ]);
    const result = await h.sandbox.runTests({ workspaceDir: dir, language: 'javascript', limits: small });
    expect(result.passed).toBe(1 + 2); // inside.txt, and /tmp and ../ land on the sandbox's own throw-away tmpfs
    // Even the workspace write stayed in the sandbox's copy: the workspace on disk is what was written to it.
    expect(result.failed).toBe(3);
    expect(result.status).toBe('failed');
    for (const message of result.failures.map((f) => f.message)) expect(message).toMatch(/ENOENT|EROFS|EACCES|EPERM/);
    for (const file of outsideFiles) expect(existsSync(file)).toBe(false);
    expect((await h.workspaces.readFiles(dir)).map((f) => f.path)).toEqual(['seed.txt', 'write.test.mjs']);
  });

  it("keeps a cloned repository's .git read-only and hands the workspace back to its owner", async () => {
    const dir = await workspace([
      {
        path: 'git.test.mjs',
        content: testFile(`import { writeFileSync } from 'node:fs';
test('plants a hook', () => { writeFileSync('.git/hooks/post-commit', '#!/bin/sh\\necho pwned'); });
test('writes a result', () => { writeFileSync('result.txt', 'ok'); });`),
      },
    ]);
    mkdirSync(join(dir, '.git', 'hooks'), { recursive: true });
    writeFileSync(join(dir, '.git', 'HEAD'), 'ref: refs/heads/main\n');
    const result = await h.sandbox.runTests({ workspaceDir: dir, language: 'javascript', limits: small });
    expect(result).toMatchObject({ status: 'failed', passed: 1, failed: 1 });
    expect(result.failures[0]).toMatchObject({ name: 'plants a hook', message: expect.stringMatching(/EROFS/) });
    expect(existsSync(join(dir, '.git', 'hooks', 'post-commit'))).toBe(false);
    expect(existsSync(join(dir, 'result.txt'))).toBe(false);
    for (const file of ['git.test.mjs', '.', '.git/HEAD'])
      expect(statSync(join(dir, file)).uid).toBe(process.getuid!());
  });

  it('refuses to bind anything but a workspace into the sandbox', async () => {
    await expect(h.sandbox.runTests({ workspaceDir: h.dataDir, language: 'javascript' })).rejects.toMatchObject({
      code: 'WORKSPACE_UNSAFE_PATH',
    });
    await expect(h.sandbox.runTests({ workspaceDir: '/', language: 'javascript' })).rejects.toMatchObject({
      code: 'WORKSPACE_UNSAFE_PATH',
    });
  });

  it('contains a fork bomb (RLIMIT_NPROC in its own user namespace), reports it and stays healthy', async () => {
    const marker = `quorum-bomb-${randomUUID()}`;
    const dir = await workspace([
      {
        path: 'bomb.test.mjs',
        content: testFile(`import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
// Processes in the sandbox's pid namespace (threads are not listed, though RLIMIT_NPROC counts them).
const processes = () => readdirSync('/proc').filter((name) => /^\\d+$/.test(name)).length;
test('counts how many processes it may start', async () => {
  const kids = [];
  let refused = 0;
  for (let i = 0; i < 200; i++) {
    const child = spawn('sleep', ['30']);
    child.on('error', () => refused++);
    kids.push(child);
  }
  await new Promise((r) => setTimeout(r, 300));
  const started = kids.filter((k) => k.pid);
  console.log('SPAWNED=' + started.length + ' REFUSED=' + refused);
  // Reaped before the next test, so the bomb starts from the same empty table.
  await Promise.all(started.map((k) => (k.kill('SIGKILL'), k.exitCode === null && k.signalCode === null ? once(k, 'exit') : null)));
});
test('fork bomb', async () => {
  // Left running: it dies with the sandbox's pid namespace, not by our hand.
  spawn('sh', ['-c', 'b() { b | b & }; b # ${marker}'], { stdio: 'ignore', detached: true }).unref();
  const deadline = Date.now() + 15000;
  let peak = 0;
  let full = false;
  while (!full && Date.now() < deadline) {
    peak = Math.max(peak, processes());
    full = spawnSync('true').error?.code === 'EAGAIN';
    await new Promise((r) => setTimeout(r, 20));
  }
  console.log('BOMB_FULL=' + full + ' PEAK=' + Math.max(peak, processes()));
  assert.fail('a fork bomb went off');
});`),
      },
    ]);
    // The bomb reaches the limit within a second on a quiet machine; a loaded one (the whole suite on
    // two cores) once took longer than the 5 s it was given: up to 15 s now, inside a 30 s wall clock.
    const result = await h.sandbox.runTests({
      workspaceDir: dir,
      language: 'javascript',
      limits: { ...small, timeoutSeconds: 30 },
    });
    const spawned = Number(/SPAWNED=(\d+)/.exec(result.output)?.[1]);
    expect(spawned).toBeGreaterThan(0);
    expect(spawned).toBeLessThan(small.maxProcesses);
    // The bomb filled the process table of the sandbox's user, and no more than that.
    const bomb = /BOMB_FULL=(\w+) PEAK=(\d+)/.exec(result.output);
    expect(bomb?.[1]).toBe('true');
    expect(Number(bomb?.[2])).toBeLessThanOrEqual(small.maxProcesses);
    // Reported as what it is, a failed test, and the runner itself finished: not the wall clock.
    expect(result).toMatchObject({ status: 'failed', passed: 1, failed: 1, timedOut: false });
    expect(result.failures).toEqual([{ name: 'fork bomb', message: expect.stringContaining('a fork bomb went off') }]);
    // Nothing of the bomb outlives its sandbox.
    await waitFor(() => pidsWithMarker(marker).length === 0, 2000);
    await expectHealthy();
  });

  it('kills code that loops forever at the wall-clock limit and reports a timeout', async () => {
    const dir = await workspace([
      { path: 'loop.test.mjs', content: testFile(`test('spins', () => { for (;;) {} });`) },
    ]);
    const timeoutMs = 2000;
    const result = await h.sandbox.runTests({
      workspaceDir: dir,
      language: 'javascript',
      limits: { ...small, timeoutSeconds: timeoutMs / 1000 },
    });
    // Killed (not exited) by the wall-clock timer, never before the limit, and promptly after it:
    // left alone, the loop would run until the CPU-time backstop (2 × limit + 5 s of CPU).
    expect(result).toMatchObject({ status: 'timeout', timedOut: true, signal: 'SIGKILL', exitCode: null });
    expect(result.error).toContain('2 s');
    expect(result.durationMs).toBeGreaterThanOrEqual(timeoutMs);
    expect(result.durationMs).toBeLessThan(timeoutMs + DRAIN_GRACE_MS + SCHEDULING_ALLOWANCE_MS);
    await expectHealthy();
  });

  it('stops code that prints 100 MB at the output limit with bounded memory', async () => {
    const dir = await workspace([
      {
        path: 'loud.test.mjs',
        content: testFile(`import { once } from 'node:events';
test('prints 100 MB', async () => {
  const line = 'x'.repeat(1023) + '\\n';
  for (let i = 0; i < 100 * 1024; i++) if (!process.stdout.write(line)) await once(process.stdout, 'drain');
});`),
      },
    ]);
    const maxOutputBytes = 64 * 1024;
    // The output arrives as Buffers (external memory): were it kept whole, the peak would pass 100 MB.
    const baseline = process.memoryUsage().arrayBuffers;
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 5);
    const result = await h.sandbox
      .runTests({ workspaceDir: dir, language: 'javascript', limits: { ...small, maxOutputBytes } })
      .finally(() => clearInterval(sampler));
    // Killed by the output limit (not the wall clock, not its own end) with what fitted.
    expect(result).toMatchObject({ status: 'error', truncated: true, timedOut: false, signal: 'SIGKILL' });
    expect(result.error).toContain(`more than ${maxOutputBytes} bytes`);
    expect(Buffer.byteLength(result.output)).toBeLessThanOrEqual(maxOutputBytes);
    // The host holds the output and its stderr copy (each ≤ maxOutputBytes), the runner's report
    // (≤ 4 MB) and a pipe read per stream in flight: 16 MB bounds all of it with room to spare.
    expect(peak - baseline).toBeLessThan(16 * 1024 * 1024);
    await expectHealthy();
  });

  it('stops a python test that prints 100 MB the same way', async () => {
    const dir = await workspace([
      {
        path: 'test_loud.py',
        content: `import unittest\n\nclass Loud(unittest.TestCase):\n    def test_prints(self):\n        line = "y" * 1023\n        for _ in range(100 * 1024):\n            print(line)\n`,
      },
    ]);
    const result = await h.sandbox.runTests({
      workspaceDir: dir,
      language: 'python',
      limits: { ...small, maxOutputBytes: 64 * 1024 },
    });
    expect(result).toMatchObject({ status: 'error', truncated: true });
    expect(Buffer.byteLength(result.output)).toBeLessThanOrEqual(64 * 1024);
  });

  it('reports a test that exhausts memory through buffered async writes as failed', async () => {
    const dir = await workspace([
      {
        path: 'buffered.test.mjs',
        content: testFile(`test('queues 100 MB of writes', () => {
  const line = 'x'.repeat(1023) + '\\n';
  for (let i = 0; i < 100 * 1024; i++) process.stdout.write(line);
});`),
      },
    ]);
    const result = await h.sandbox.runTests({
      workspaceDir: dir,
      language: 'javascript',
      limits: { ...small, maxOutputBytes: 64 * 1024 },
    });
    expect(['failed', 'error']).toContain(result.status);
    expect(Buffer.byteLength(result.output)).toBeLessThanOrEqual(64 * 1024);
    await expectHealthy();
  });

  it('holds the memory limit: an allocation spree fails the test, not the machine', async () => {
    const dir = await workspace([
      {
        path: 'hog.test.mjs',
        content: testFile(`test('allocates 2 GB', () => {
  const hoard = [];
  for (let i = 0; i < 2048; i++) hoard.push(Buffer.alloc(1024 * 1024, 1));
  assert.equal(hoard.length, 2048);
});`),
      },
    ]);
    const result = await h.sandbox.runTests({ workspaceDir: dir, language: 'javascript', limits: small });
    expect(result.status).toBe('failed');
    expect(result.failed).toBe(1);
    expect(result.passed).toBe(0);
    await expectHealthy();
  });

  it('holds the memory limit for python too: a 1 GB allocation is a failed test', async () => {
    const dir = await workspace([
      {
        path: 'test_hog.py',
        content:
          'import unittest\n\nclass Hog(unittest.TestCase):\n    def test_allocates(self):\n        block = bytearray(1024 * 1024 * 1024)\n        self.assertEqual(len(block), 1024 ** 3)\n',
      },
    ]);
    const result = await h.sandbox.runTests({ workspaceDir: dir, language: 'python', limits: small });
    expect(result).toMatchObject({ status: 'failed', failed: 1, passed: 0 });
    expect(result.failures[0]).toEqual({ name: 'test_hog.Hog.test_allocates', message: 'MemoryError' });
  });

  it('cancels a running sandbox through the AbortSignal at once and kills every process', async () => {
    const marker = `quorum-cancel-${randomUUID()}`;
    const dir = await workspace([
      {
        path: 'forever.test.mjs',
        content: testFile(`import { spawn } from 'node:child_process';
test('runs forever with a detached child', async () => {
  spawn('sh', ['-c', 'while true; do sleep 0.05; done # ${marker}'], { detached: true, stdio: 'ignore' });
  await new Promise(() => {});
});`),
      },
    ]);
    const controller = new AbortController();
    const running = h.sandbox.runTests({
      workspaceDir: dir,
      language: 'javascript',
      limits: { ...small, timeoutSeconds: 30 },
      signal: controller.signal,
    });
    await waitFor(() => pidsWithMarker(marker).length > 0, 10_000);
    const abortedAt = performance.now();
    controller.abort();
    const result = await running;
    // Killed at once by the abort: nothing but the pipes' drain grace stands between it and the result
    // (the wall clock would have taken 30 s).
    expect(performance.now() - abortedAt).toBeLessThan(DRAIN_GRACE_MS + SCHEDULING_ALLOWANCE_MS);
    expect(result).toMatchObject({ status: 'cancelled', timedOut: false, signal: 'SIGKILL' });
    // The detached child (its own session inside the sandbox) went down with the pid namespace.
    await waitFor(() => pidsWithMarker(marker).length === 0, 1000);
  });

  it('bounds what tests may write with the sandbox disk (SANDBOX_DISK_MB), off the host disk', async () => {
    const dir = await workspace([
      {
        path: 'fill.test.mjs',
        content: testFile(`import { writeFileSync } from 'node:fs';
test('fills the disk', () => {
  const chunk = Buffer.alloc(4 * 1024 * 1024, 1);
  for (let i = 0; i < 64; i++) writeFileSync('fill-' + i + '.bin', chunk);
});`),
      },
    ]);
    const result = await h.sandbox.runTests({
      workspaceDir: dir,
      language: 'javascript',
      limits: { ...small, diskMb: 16 },
    });
    expect(result).toMatchObject({ status: 'failed', failed: 1 });
    expect(result.failures[0].message).toContain('ENOSPC');
    expect((await h.workspaces.readFiles(dir)).map((f) => f.path)).toEqual(['fill.test.mjs']);
  });

  it('reports a workspace larger than the sandbox disk as an error', async () => {
    const dir = await workspace([{ path: 'ok.test.mjs', content: testFile(`test('fine', () => {});`) }]);
    writeFileSync(join(dir, 'huge.bin'), Buffer.alloc(10 * 1024 * 1024));
    const result = await h.sandbox.runTests({
      workspaceDir: dir,
      language: 'javascript',
      limits: { ...small, diskMb: 8 },
    });
    expect(result).toMatchObject({ status: 'error', error: "The workspace does not fit in the sandbox's 8 MB disk." });
  });
});
