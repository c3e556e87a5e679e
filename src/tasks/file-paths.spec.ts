import { normaliseWorkspacePath } from './file-paths.js';

describe('normaliseWorkspacePath', () => {
  it.each([
    ['src/a.ts', 'src/a.ts'],
    ['./src//b.js', 'src/b.js'],
    ['a/../b.py', 'b.py'],
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
  ])('refuses %j', (raw) => {
    expect(normaliseWorkspacePath(raw)).toHaveProperty('error');
  });
});
