import { randomUUID } from 'node:crypto';
import { jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { pidsWithMarker, waitFor } from '../support/processes.js';
import { createSandboxHarness, type SandboxHarness } from '../support/sandbox.js';

describe('SandboxService with SANDBOX_DRIVER=process', () => {
  let h: SandboxHarness;
  let warnings: string[];

  beforeAll(async () => {
    warnings = [];
    const spy = jest.spyOn(Logger.prototype, 'warn').mockImplementation(function (this: Logger, message: unknown) {
      warnings.push(String(message));
    });
    try {
      process.env.QUORUM_FAKE_PROVIDER_KEY = 'sk-process-driver-secret';
      h = await createSandboxHarness({ SANDBOX_DRIVER: 'process' });
    } finally {
      spy.mockRestore();
    }
  });
  afterAll(async () => {
    delete process.env.QUORUM_FAKE_PROVIDER_KEY;
    await h?.close();
  });

  it('warns loudly at start-up that it isolates nothing', () => {
    expect(h.sandbox.driver.name).toBe('process');
    expect(warnings).toEqual([expect.stringContaining('WITHOUT ISOLATION')]);
  });

  it('runs tests with real counts and an empty environment', async () => {
    const dir = await h.workspaces.create(randomUUID());
    await h.workspaces.writeFiles(dir, [
      {
        path: 'a.test.mjs',
        content: `import { test } from 'node:test';
import assert from 'node:assert/strict';
test('ok', () => assert.equal(1, 1));
test('no secret', () => assert.equal(process.env.QUORUM_FAKE_PROVIDER_KEY, undefined));
test('bad', () => assert.equal(1, 2));
`,
      },
    ]);
    const result = await h.sandbox.runTests({ workspaceDir: dir, language: 'javascript' });
    expect(result).toMatchObject({ status: 'failed', passed: 2, failed: 1, total: 3 });
    expect(result.failures.map((f) => f.name)).toEqual(['bad']);
  });

  it('still enforces the wall-clock limit and cancellation on the whole process group', async () => {
    const marker = `quorum-process-${randomUUID()}`;
    const dir = await h.workspaces.create(randomUUID());
    await h.workspaces.writeFiles(dir, [
      {
        path: 'loop.test.mjs',
        content: `import { test } from 'node:test';
import { spawn } from 'node:child_process';
test('runs forever', async () => {
  spawn('sh', ['-c', 'while true; do sleep 0.05; done # ${marker}'], { stdio: 'ignore' });
  await new Promise(() => {});
});
`,
      },
    ]);
    const timedOut = await h.sandbox.runTests({
      workspaceDir: dir,
      language: 'javascript',
      limits: { timeoutSeconds: 1 },
    });
    expect(timedOut).toMatchObject({ status: 'timeout', timedOut: true });
    await waitFor(() => pidsWithMarker(marker).length === 0, 1000);

    const controller = new AbortController();
    const running = h.sandbox.runTests({
      workspaceDir: dir,
      language: 'javascript',
      limits: { timeoutSeconds: 30 },
      signal: controller.signal,
    });
    await waitFor(() => pidsWithMarker(marker).length > 0, 10_000);
    const abortedAt = Date.now();
    controller.abort();
    await expect(running).resolves.toMatchObject({ status: 'cancelled' });
    // Killed, not waited for (the test never ends); how fast is the bench's concern.
    expect(Date.now() - abortedAt).toBeLessThan(15_000);
    await waitFor(() => pidsWithMarker(marker).length === 0, 1000);
    // it ran in a throw-away copy: the workspace is what was written to it
    expect((await h.workspaces.readFiles(dir)).map((f) => f.path)).toEqual(['loop.test.mjs']);
  });
});
