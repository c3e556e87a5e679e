import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createSandboxHarness, type SandboxHarness } from '../support/sandbox.js';

/**
 * Shell commands in the bwrap sandbox as a repository's own tooling runs them: `npm test` (npm and
 * every Node it starts must get past V8's start-up reservation), installed dependencies mounted
 * read-only, and the network only for setup.
 */
describe('SandboxService commands (bwrap, real processes)', () => {
  let h: SandboxHarness;
  let server: Server;
  let serverUrl: string;
  const hits: string[] = [];
  const limits = { timeoutSeconds: 30, memoryMb: 128, maxProcesses: 64 };

  beforeAll(async () => {
    h = await createSandboxHarness();
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.end('pong');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
    await h?.close();
  });
  beforeEach(() => {
    hits.length = 0;
  });

  async function workspace(files: Record<string, string>): Promise<string> {
    const dir = await h.workspaces.create(randomUUID());
    await h.workspaces.writeFiles(
      dir,
      Object.entries(files).map(([path, content]) => ({ path, content })),
    );
    return dir;
  }

  it('starts npm and the Node processes it runs (npm test → node --test → a test file)', async () => {
    const dir = await workspace({
      'package.json': JSON.stringify({ name: 'demo', version: '1.0.0', scripts: { test: 'node --test' } }),
      'one.test.mjs': "import { test } from 'node:test';\ntest('runs', () => {});\n",
    });
    const result = await h.sandbox.runCommand({ workspaceDir: dir, command: 'npm test', limits });
    expect(result.output).not.toContain('Fatal process out of memory');
    expect(result).toMatchObject({ exitCode: 0, timedOut: false, cancelled: false });
    expect(result.output).toContain('> node --test');
    expect(result.output).toMatch(/pass 1/);
  });

  it('caps the heap of every Node process the command starts at the memory limit', async () => {
    const dir = await workspace({
      'heap.mjs':
        "import v8 from 'node:v8';\nconsole.log('HEAP_MB=' + Math.round(v8.getHeapStatistics().heap_size_limit / 1048576));\n",
    });
    const result = await h.sandbox.runCommand({ workspaceDir: dir, command: 'sh -c "node heap.mjs"', limits });
    expect(result.exitCode).toBe(0);
    const heapMb = Number(/HEAP_MB=(\d+)/.exec(result.output)?.[1]);
    expect(heapMb).toBeGreaterThan(0);
    expect(heapMb).toBeLessThanOrEqual(limits.memoryMb + 64);
  });

  it('still holds the memory limit for a process started through the shell: a 2 GB allocation fails', async () => {
    const dir = await workspace({
      'hog.mjs':
        'const hoard = [];\nfor (let i = 0; i < 2048; i++) hoard.push(Buffer.alloc(1024 * 1024, 1));\nconsole.log("ALLOCATED " + hoard.length);\n',
    });
    const result = await h.sandbox.runCommand({ workspaceDir: dir, command: 'node hog.mjs', limits });
    expect(result.exitCode).not.toBe(0);
    expect(result.output).not.toContain('ALLOCATED 2048');
  });

  it('shows installed dependencies read-only in the workspace, their tools on PATH', async () => {
    const cache = mkdtempSync(join(h.dataDir, 'deps-'));
    chmodSync(cache, 0o755);
    try {
      const pkg = join(cache, 'node_modules', 'greeter');
      mkdirSync(pkg, { recursive: true });
      writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'greeter', version: '1.0.0', main: 'index.js' }));
      writeFileSync(join(pkg, 'index.js'), "module.exports = () => 'hello from greeter';\n");
      mkdirSync(join(cache, 'node_modules', '.bin'));
      writeFileSync(join(cache, 'node_modules', '.bin', 'greet'), '#!/bin/sh\necho greeted\n', { mode: 0o755 });
      const dir = await workspace({
        'use.cjs':
          "console.log(require('greeter')());\ntry { require('fs').writeFileSync('node_modules/x', '1'); console.log('WROTE'); } catch (e) { console.log('REFUSED ' + e.code); }\n",
      });
      const result = await h.sandbox.runCommand({
        workspaceDir: dir,
        command: 'node use.cjs && greet',
        limits,
        mounts: [{ source: join(cache, 'node_modules'), target: 'node_modules' }],
      });
      expect(result.exitCode).toBe(0);
      expect(result.output).toContain('hello from greeter');
      expect(result.output).toContain('REFUSED EROFS');
      expect(result.output).toContain('greeted');
      expect(existsSync(join(cache, 'node_modules', 'x'))).toBe(false);
      expect(existsSync(join(dir, 'node_modules'))).toBe(false);
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('gives commands no network: a server on the host loopback sees no request', async () => {
    const dir = await workspace({
      'call.mjs': `try { await fetch('${serverUrl}/from-command'); console.log('REACHED'); } catch (e) { console.log('BLOCKED ' + (e.cause?.code ?? e.message)); }\n`,
    });
    const result = await h.sandbox.runCommand({ workspaceDir: dir, command: 'node call.mjs', limits });
    expect(result.output).toContain('BLOCKED');
    expect(hits).toEqual([]);
  });

  it('gives setup the network and one writable host directory, and still no secrets', async () => {
    process.env.QUORUM_SETUP_SECRET = 'setup-secret-value';
    const out = mkdtempSync(join(h.dataDir, 'out-'));
    try {
      const dir = await workspace({
        'fetch.mjs': `const r = await fetch('${serverUrl}/from-setup'); console.log('GOT ' + await r.text());\nconsole.log('SECRET=' + (process.env.QUORUM_SETUP_SECRET ?? 'none'));\n`,
      });
      const result = await h.sandbox.runSetupCommand({
        workspaceDir: dir,
        command: 'node fetch.mjs && echo installed > "$QUORUM_OUTPUT_DIR/product.txt" && echo elsewhere > fetch.mjs',
        limits: { ...h.sandbox.limits, ...limits },
        outputDir: out,
        network: true,
      });
      expect(result.exitCode).toBe(0);
      expect(result.output).toContain('GOT pong');
      expect(result.output).toContain('SECRET=none');
      expect(hits).toEqual(['/from-setup']);
      expect(readFileSync(join(out, 'product.txt'), 'utf8')).toBe('installed\n');
      // The workspace itself is still a private copy.
      expect(readFileSync(join(dir, 'fetch.mjs'), 'utf8')).toContain('from-setup');
    } finally {
      delete process.env.QUORUM_SETUP_SECRET;
      rmSync(out, { recursive: true, force: true });
    }
  });
});
