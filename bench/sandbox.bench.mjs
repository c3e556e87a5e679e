// Sandbox start-to-exit cost: an empty test through the real sandbox vs a bare `node -e ''` measured
// in the same run on the same machine. Imports the built app (the bench script builds first).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';

const ITERATIONS = 30;
const WARMUP = 3;

function percentile(sorted, p) {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function measure(fn) {
  for (let i = 0; i < WARMUP; i++) await fn();
  const times = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const started = performance.now();
    await fn();
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return { median: percentile(times, 50), p95: percentile(times, 95) };
}

function node(args, cwd) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: 'ignore', cwd });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`node ${args.join(' ')} exited ${code}`))));
  });
}

const round = (ms) => Math.round(ms * 10) / 10;

export async function run() {
  const dataDir = mkdtempSync(join(tmpdir(), 'quorum-bench-sandbox-'));
  const previous = { DATA_DIR: process.env.DATA_DIR, QUORUM_SKIP_DOTENV: process.env.QUORUM_SKIP_DOTENV };
  process.env.DATA_DIR = dataDir;
  process.env.QUORUM_SKIP_DOTENV = 'true';
  const { AppConfigModule } = await import('../dist/src/config/config.module.js');
  const { SandboxModule } = await import('../dist/src/agents/sandbox/sandbox.module.js');
  const { SandboxService } = await import('../dist/src/agents/sandbox/sandbox.service.js');
  const { WorkspaceService } = await import('../dist/src/agents/workspace/workspace.service.js');
  class SandboxBenchModule {}
  Module({ imports: [AppConfigModule, SandboxModule] })(SandboxBenchModule);
  const app = await NestFactory.createApplicationContext(SandboxBenchModule, { logger: false });
  try {
    const sandbox = app.get(SandboxService);
    const workspaces = app.get(WorkspaceService);
    const dir = await workspaces.create('bench-sandbox');
    await workspaces.writeFiles(dir, [
      { path: 'empty.test.mjs', content: "import { test } from 'node:test';\ntest('empty', () => {});\n" },
    ]);
    const driver = sandbox.driver;
    const limits = sandbox.limits;

    const bare = await measure(() => node(['-e', '']));
    // The same empty test with no sandbox and no reporter: what the test runner itself costs.
    const plainTest = await measure(() => node(['--test'], dir));
    const sandboxedBare = await measure(async () => {
      const outcome = await driver.run({
        workspaceDir: dir,
        argv: [driver.nodePath, '-e', ''],
        env: { PATH: '/usr/bin:/bin' },
        limits,
        readOnlyPaths: [],
      });
      if (outcome.exitCode !== 0) throw new Error(`sandboxed node -e '' failed: ${outcome.output}`);
    });
    const emptyTest = await measure(async () => {
      const result = await sandbox.runTests({ workspaceDir: dir, language: 'javascript' });
      if (result.status !== 'passed' || result.passed !== 1)
        throw new Error(`empty test run: ${result.status} ${result.error ?? ''}`);
    });

    const s = `sandbox (${driver.name})`;
    return [
      { scenario: s, metric: "bare `node -e ''` median ms", value: round(bare.median) },
      { scenario: s, metric: "bare `node -e ''` p95 ms", value: round(bare.p95) },
      {
        scenario: s,
        metric: "sandboxed `node -e ''` median ms",
        value: round(sandboxedBare.median),
        baseline: round(bare.median),
        ratio: round(sandboxedBare.median / bare.median),
      },
      {
        scenario: s,
        metric: "sandboxed `node -e ''` p95 ms",
        value: round(sandboxedBare.p95),
        baseline: round(bare.p95),
        ratio: round(sandboxedBare.p95 / bare.p95),
      },
      {
        scenario: s,
        metric: 'empty test, plain `node --test` (no sandbox) median ms',
        value: round(plainTest.median),
        baseline: round(bare.median),
        ratio: round(plainTest.median / bare.median),
      },
      {
        scenario: s,
        metric: 'empty test, runTests start-to-exit median ms',
        value: round(emptyTest.median),
        baseline: round(bare.median),
        ratio: round(emptyTest.median / bare.median),
      },
      {
        scenario: s,
        metric: 'empty test, runTests start-to-exit p95 ms',
        value: round(emptyTest.p95),
        baseline: round(bare.p95),
        ratio: round(emptyTest.p95 / bare.p95),
      },
    ];
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
    for (const [key, value] of Object.entries(previous)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  }
}

// `node bench/sandbox.bench.mjs` runs it alone.
if (import.meta.url === `file://${process.argv[1]}`) {
  const rows = await run();
  for (const row of rows) process.stdout.write(`${JSON.stringify(row)}\n`);
}
