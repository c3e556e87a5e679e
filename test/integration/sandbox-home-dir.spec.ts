import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import { jest } from '@jest/globals';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { BwrapDriver, findBwrap } from '../../src/agents/sandbox/drivers/bwrap.driver.js';
import { sandboxNodeBinary, unreachableDir } from '../../src/agents/sandbox/sandbox-paths.js';
import { WorkspaceService } from '../../src/agents/workspace/workspace.service.js';
import { createSandboxHarness } from '../support/sandbox.js';

const SANDBOX_UID = 65_534;
const LIMITS = {
  timeoutSeconds: 20,
  memoryMb: 512,
  maxProcesses: 64,
  maxOutputBytes: 100_000,
  maxFileMb: 16,
  diskMb: 64,
};

/**
 * A clone in a 0700 home directory, as root (issue 18 item 2): the bwrap sandbox runs as
 * SANDBOX_UID, which may not search the home directory, so nothing under it can be a bind source.
 */
describe('the sandbox with DATA_DIR and Node under a 0700 home directory (as root)', () => {
  let home: string;

  beforeAll(() => {
    // The situation exists only when the app runs as root (the sandbox then runs as SANDBOX_UID).
    expect(process.getuid?.()).toBe(0);
    home = mkdtempSync(join(tmpdir(), 'quorum-home-'));
    chmodSync(home, 0o700);
  });
  afterAll(() => {
    rmSync(home, { recursive: true, force: true });
  });

  it('runs tests with DATA_DIR inside it: the sandbox files move out, the home stays 0700', async () => {
    const dataDir = join(home, 'quorum', '.data');
    mkdirSync(dataDir, { recursive: true });
    expect(unreachableDir(dataDir, SANDBOX_UID)).toBe(home);
    const harness = await createSandboxHarness({ DATA_DIR: dataDir });
    try {
      const dir = await harness.workspaces.create('home-dir-run');
      expect(dir.startsWith(home)).toBe(false);
      // Every directory above the workspace may be searched by the sandbox user (the workspace itself
      // is handed to it for each run).
      expect(unreachableDir(dirname(dir), SANDBOX_UID)).toBeUndefined();
      await harness.workspaces.writeFiles(dir, [
        { path: 'add.mjs', content: 'export const add = (a, b) => a + b;\n' },
        {
          path: 'add.test.mjs',
          content:
            "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\nimport { add } from './add.mjs';\n" +
            "test('adds', () => assert.equal(add(1, 2), 3));\ntest('fails on purpose', () => assert.equal(add(2, 2), 5));\n",
        },
      ]);
      const result = await harness.sandbox.runTests({ workspaceDir: dir, language: 'javascript' });
      expect({ passed: result.passed, failed: result.failed }).toEqual({ passed: 1, failed: 1 });
      // Nothing was opened up on the way: the home directory is still private.
      expect(statSync(home).mode & 0o777).toBe(0o700);
      expect(harness.workspaces).toBeInstanceOf(WorkspaceService);
    } finally {
      await harness.close();
    }
  });

  it('runs a Node binary that lives inside it, through a link the sandbox user can reach', async () => {
    const nodeDir = join(home, 'quorum', 'node_modules', 'node', 'bin');
    mkdirSync(nodeDir, { recursive: true });
    const nodeInHome = join(nodeDir, 'node');
    copyFileSync(process.execPath, nodeInHome);
    chmodSync(nodeInHome, 0o755);
    const outside = mkdtempSync(join(tmpdir(), 'quorum-sandbox-dir-'));
    chmodSync(outside, 0o711);
    const workspace = join(outside, 'ws');
    mkdirSync(workspace, { mode: 0o700 });
    const run = (nodeBinary: string) =>
      new BwrapDriver({ bwrap: findBwrap(), nodeBinary, python: '/usr/bin/python3', hostUid: SANDBOX_UID }).run({
        workspaceDir: workspace,
        argv: ['/opt/node/bin/node', '-e', 'process.stdout.write(String(6 * 7))'],
        env: {},
        limits: LIMITS,
        readOnlyPaths: [],
      });
    try {
      // Bound from the home directory as it is, bwrap (as the sandbox user) cannot even find it.
      const refused = await run(nodeInHome);
      expect(refused.exitCode).not.toBe(0);
      expect(refused.output).toMatch(/Permission denied/);

      const reachable = sandboxNodeBinary(nodeInHome, outside, SANDBOX_UID);
      expect(reachable.startsWith(outside)).toBe(true);
      expect(sandboxNodeBinary(nodeInHome, outside, SANDBOX_UID)).toBe(reachable); // made once, reused
      const outcome = await run(reachable);
      expect({ exitCode: outcome.exitCode, output: outcome.output }).toEqual({ exitCode: 0, output: '42' });
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it('starts with a SANDBOX_PYTHON inside it, warning which directory is in the way and what to do', async () => {
    // A pyenv-style Python in root's home: a tree that is not moved, unlike the single Node binary.
    const pyDir = join(home, '.pyenv', 'bin');
    mkdirSync(pyDir, { recursive: true });
    const python = join(pyDir, 'python3');
    symlinkSync('/usr/bin/python3', python);
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    try {
      const harness = await createSandboxHarness({ SANDBOX_PYTHON: python });
      await harness.close();
      const lines = warn.mock.calls.map((call) => String(call[0]));
      expect(lines).toContain(
        `SANDBOX_PYTHON=${python} does not run in the sandbox; python tasks will fail (the sandbox user (uid ${SANDBOX_UID}) cannot search ${home}, on the way to it: set SANDBOX_PYTHON to a Python it can reach, e.g. /usr/bin/python3)`,
      );
    } finally {
      warn.mockRestore();
    }
  });

  it('refuses a SANDBOX_DIR inside it at start, naming the directory in the way and what to do', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'quorum-data-'));
    try {
      await expect(createSandboxHarness({ DATA_DIR: dataDir, SANDBOX_DIR: join(home, 'sandbox') })).rejects.toThrow(
        `SANDBOX_DIR=${join(home, 'sandbox')} cannot be reached by the sandbox user (uid ${SANDBOX_UID}): ${home} is mode 0700`,
      );
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
