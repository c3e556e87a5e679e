// Repositories: cost of preparing a run workspace from a git repository and of the planner's view.
// Baselines are measured in the same run: a plain `git clone` (full history, no limits) of the same
// repository, and reading every file of the checkout.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Logger } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { GitService } from '../dist/src/repositories/git.service.js';
import { RepositoryContextService } from '../dist/src/repositories/repository-context.service.js';

const FILES = 2_000;
const COMMITS = 20;
const ROUNDS = 9;

const gitEnv = {
  ...process.env,
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'b',
  GIT_AUTHOR_EMAIL: 'b@b',
  GIT_COMMITTER_NAME: 'b',
  GIT_COMMITTER_EMAIL: 'b@b',
};
const git = (args, cwd) =>
  execFileSync('git', ['-c', 'init.defaultBranch=main', '-c', 'protocol.file.allow=always', ...args], {
    cwd,
    env: gitEnv,
    stdio: 'pipe',
  });

function seed(root) {
  const bare = join(root, 'acme', 'bench.git');
  mkdirSync(bare, { recursive: true });
  git(['init', '-q', '--bare', bare]);
  const work = join(root, 'seed');
  git(['init', '-q', work]);
  for (let c = 0; c < COMMITS; c++) {
    for (let i = 0; i < FILES; i += 1) {
      if (c > 0 && i % 50 !== c) continue;
      const dir = join(work, 'src', `m${i % 40}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `file${i}.ts`), `// revision ${c}\nexport const value${i} = ${i * c};\n`.repeat(20));
    }
    git(['add', '-A'], work);
    git(['commit', '-q', '-m', `commit ${c}`], work);
  }
  git(['push', '-q', bare, 'HEAD:refs/heads/main'], work);
  return bare;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
async function time(fn) {
  const start = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function readAll(dir) {
  let bytes = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) bytes += readAll(path);
    else if (entry.isFile()) bytes += readFileSync(path).length;
  }
  return bytes;
}

export async function run() {
  Logger.overrideLogger(['warn', 'error']);
  const root = mkdtempSync(join(tmpdir(), 'quorum-bench-repo-'));
  try {
    const bare = seed(root);
    const base = (await import('../dist/src/config/repositories.config.js')).repositoriesConfig();
    const config = new ConfigService({ repositories: { ...base, allowLocal: true } });
    const service = new GitService(config);
    const context = new RepositoryContextService(config);

    const shallow = [];
    const full = [];
    const view = [];
    const readEverything = [];
    let workspaceBytes = 0;
    let fullBytes = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const dir = join(root, `ws${r}`);
      shallow.push(await time(() => service.shallowClone(`file://${bare}`, 'main', dir)));
      workspaceBytes = Number(
        execFileSync('du', ['-sb', dir, `${dir}.git`])
          .toString()
          .split('\n')
          .filter(Boolean)
          .reduce((s, l) => s + Number(l.split('\t')[0]), 0),
      );
      view.push(await time(() => context.view(dir, { maxTokens: 12_000, query: 'value42 file42' })));
      readEverything.push(await time(async () => readAll(dir)));
      const fullDir = join(root, `full${r}`);
      full.push(await time(async () => git(['clone', '-q', `file://${bare}`, fullDir])));
      fullBytes = Number(execFileSync('du', ['-sb', fullDir]).toString().split('\t')[0]);
      rmSync(dir, { recursive: true, force: true });
      rmSync(`${dir}.git`, { recursive: true, force: true });
      rmSync(fullDir, { recursive: true, force: true });
    }
    const s = median(shallow);
    const f = median(full);
    const v = median(view);
    const a = median(readEverything);
    return [
      {
        scenario: `repositories: prepare workspace (${FILES} files, ${COMMITS} commits)`,
        metric: 'shallow clone + size check, median ms',
        value: Math.round(s),
        baseline: Math.round(f),
        ratio: +(s / f).toFixed(2),
        target: '≤ 1.5 × plain git clone',
        pass: s / f <= 1.5,
      },
      {
        scenario: 'repositories: workspace disk use',
        metric: 'bytes (checkout + git dir)',
        value: workspaceBytes,
        baseline: fullBytes,
        ratio: +(workspaceBytes / fullBytes).toFixed(2),
        target: '≤ full clone',
        pass: workspaceBytes <= fullBytes,
      },
      {
        scenario: 'repositories: planner view (12k tokens)',
        metric: 'median ms',
        value: Math.round(v),
        baseline: Math.round(a),
        ratio: +(v / a).toFixed(2),
        target: '≤ 2 × reading every file',
        pass: v / a <= 2,
      },
    ];
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
