import { checkFilePath } from '#src/agents/workspace/workspace-path.js';
import { normaliseWorkspacePath } from './file-paths.js';

describe('normaliseWorkspacePath', () => {
  it.each([
    ['src/a.ts', 'src/a.ts'],
    ['./src//b.js', 'src/b.js'],
    ['./a/b.py', 'a/b.py'],
  ])('normalises %s to %s', (raw, expected) => {
    expect(normaliseWorkspacePath(raw)).toEqual({ path: expected });
  });

  it.each([
    '',
    '/etc/passwd',
    '../x.js',
    'a/../../x',
    'C:/x',
    'a\\b',
    'x\u0000y',
    '.',
    'dir/',
    '.git/config',
    'node_modules/x/index.js',
    'src/node_modules/x.js',
    // `..` is refused wherever it is, as a workspace refuses it (API.md: `..` refused).
    'a/../b.py',
    `${'d'.repeat(101)}/x.js`,
    `${'d/'.repeat(130)}x.js`,
  ])('refuses %j', (raw) => {
    expect(normaliseWorkspacePath(raw)).toHaveProperty('error');
  });

  it('accepts only what a workspace accepts, in the same form', () => {
    const samples = ['src/a.ts', './src//b.js', 'x/./y.md', 'dir/', 'a/../b', '.github/w.yml', '.GIT/x', 'C:/x'];
    for (const raw of samples) {
      const task = normaliseWorkspacePath(raw);
      if ('path' in task) expect(checkFilePath(raw)).toEqual({ ok: true, path: task.path });
    }
  });
});
