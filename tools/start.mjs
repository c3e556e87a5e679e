#!/usr/bin/env node
// `npm start`: build when the sources are newer than the last build, then run the API (with the
// worker in-process unless WORKER_IN_PROCESS=false). `--worker` runs the worker process instead;
// `--build-only` stops after the build (tests and benchmarks use it).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const stamp = join(root, 'dist/.tsbuildinfo.build');
const lock = join(root, '.build-lock');

function newest(dir) {
  let latest = 0;
  if (!existsSync(dir)) return latest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

const stale = () => {
  const sources = Math.max(
    newest(join(root, 'src')),
    newest(join(root, 'migrations')),
    statSync(join(root, 'tsconfig.build.json')).mtimeMs,
  );
  return !existsSync(stamp) || statSync(stamp).mtimeMs < sources;
};

/** One build at a time: parallel starts (tests, a second terminal) wait for the first. */
async function buildIfNeeded() {
  if (!stale()) {
    process.stderr.write('quorum: build is up to date\n');
    return;
  }
  const deadline = Date.now() + 300_000;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      // A lock older than five minutes belongs to a build that died.
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 300_000)
        rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error('timed out waiting for another build');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  try {
    if (!stale()) {
      process.stderr.write('quorum: build is up to date (built by another start meanwhile)\n');
      return;
    }
    process.stderr.write('quorum: building…\n');
    const started = performance.now();
    const build = spawnSync(
      process.execPath,
      [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')],
      {
        stdio: 'inherit',
      },
    );
    if (build.status !== 0) {
      process.stderr.write(
        `quorum: build failed (tsc exited with ${build.status ?? build.signal}); see the errors above\n`,
      );
      process.exit(build.status ?? 1);
    }
    process.stderr.write(`quorum: build finished in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

await buildIfNeeded();
if (!process.argv.includes('--build-only')) {
  const entry = process.argv.includes('--worker') ? 'dist/src/worker.js' : 'dist/src/main.js';
  await import(join(root, entry));
}
