import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigService } from '@nestjs/config';
import type { AllConfig } from '#src/config/namespaces.js';
import { WorkspaceService } from './workspace.service.js';

function service(
  dataDir: string,
  overrides: Partial<{ maxFiles: number; maxFileBytes: number; maxTotalBytes: number; keepHours: number }> = {},
) {
  const config = {
    get: (ns: string) =>
      ns === 'app'
        ? { dataDir }
        : { workspace: { maxFiles: 10, maxFileBytes: 1000, maxTotalBytes: 2000, keepHours: 24, ...overrides } },
  } as unknown as ConfigService<AllConfig, true>;
  return new WorkspaceService(config);
}

describe('WorkspaceService', () => {
  let dataDir: string;
  let outside: string;
  let ws: WorkspaceService;

  beforeEach(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'quorum-ws-spec-'));
    outside = mkdtempSync(join(tmpdir(), 'quorum-ws-outside-'));
    ws = service(dataDir);
    await ws.onModuleInit();
  });
  afterEach(() => {
    ws.onModuleDestroy();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it('creates one directory per run under DATA_DIR/workspaces, wipes it on re-create and removes it', async () => {
    const dir = await ws.create('run-1');
    expect(dir).toBe(join(dataDir, 'workspaces', 'run-1'));
    writeFileSync(join(dir, 'old.txt'), 'x');
    await ws.create('run-1');
    expect(existsSync(join(dir, 'old.txt'))).toBe(false);
    await ws.remove('run-1');
    expect(existsSync(dir)).toBe(false);
    expect(() => ws.pathFor('../etc')).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED', status: 400 }));
  });

  it('writes and reads files with normalised paths, in path order', async () => {
    const dir = await ws.create('run-2');
    await ws.writeFiles(dir, [
      { path: './src//b.ts', content: 'export const b = 1;\n' },
      { path: 'a.txt', content: 'héllo' },
    ]);
    expect(await ws.readFiles(dir)).toEqual([
      { path: 'a.txt', content: 'héllo' },
      { path: 'src/b.ts', content: 'export const b = 1;\n' },
    ]);
  });

  it.each([
    ['/etc/passwd', 'must be relative to the workspace'],
    ['../escape.txt', 'must not contain ".." segments'],
    ['src/../../escape.txt', 'must not contain ".." segments'],
    ['a\u0000b', 'must not contain NUL or control characters'],
    ['.git/hooks/pre-commit', 'must not be inside .git'],
    ['a\\b', 'must use forward slashes'],
    ['', 'must not be empty'],
  ])('refuses the path %j with a 400 naming the field', async (path, reason) => {
    const dir = await ws.create('run-3');
    await expect(
      ws.writeFiles(dir, [
        { path: 'ok.txt', content: '' },
        { path, content: 'x' },
      ]),
    ).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      status: 400,
      options: { errors: [{ field: 'files[1].path', message: reason }] },
    });
  });

  it('enforces the file count, file size and total size limits', async () => {
    const dir = await ws.create('run-4');
    const many = Array.from({ length: 11 }, (_, i) => ({ path: `f${i}.txt`, content: '' }));
    await expect(ws.writeFiles(dir, many)).rejects.toMatchObject({ options: { errors: [{ field: 'files' }] } });
    await expect(ws.writeFiles(dir, [{ path: 'big.txt', content: 'x'.repeat(1001) }])).rejects.toMatchObject({
      options: { errors: [{ field: 'files[0].content', message: 'must be at most 1000 bytes' }] },
    });
    const three = [0, 1, 2].map((i) => ({ path: `t${i}.txt`, content: 'x'.repeat(900) }));
    await expect(ws.writeFiles(dir, three)).rejects.toMatchObject({
      options: { errors: [{ field: 'files', message: 'must total at most 2000 bytes' }] },
    });
    await expect(
      ws.writeFiles(dir, [
        { path: 'a.txt', content: '' },
        { path: './a.txt', content: '' },
      ]),
    ).rejects.toMatchObject({
      options: { errors: [{ field: 'files[1].path', message: 'repeats a.txt' }] },
    });
  });

  it('never writes through a symbolic link, as a file or as a parent directory', async () => {
    const dir = await ws.create('run-5');
    writeFileSync(join(outside, 'target.txt'), 'original');
    symlinkSync(join(outside, 'target.txt'), join(dir, 'link.txt'));
    symlinkSync(outside, join(dir, 'linkdir'));
    await expect(ws.writeFiles(dir, [{ path: 'link.txt', content: 'pwned' }])).rejects.toMatchObject({
      code: 'WORKSPACE_UNSAFE_PATH',
    });
    await expect(ws.writeFiles(dir, [{ path: 'linkdir/new.txt', content: 'pwned' }])).rejects.toMatchObject({
      code: 'WORKSPACE_UNSAFE_PATH',
    });
    expect(readFileSync(join(outside, 'target.txt'), 'utf8')).toBe('original');
    expect(existsSync(join(outside, 'new.txt'))).toBe(false);
  });

  it('reads neither through symbolic links nor binary files nor tool caches', async () => {
    const dir = await ws.create('run-6');
    writeFileSync(join(outside, 'secret.txt'), 'secret');
    symlinkSync(join(outside, 'secret.txt'), join(dir, 'leak.txt'));
    symlinkSync(outside, join(dir, 'leakdir'));
    writeFileSync(join(dir, 'blob.bin'), Buffer.from([1, 0, 2]));
    mkdirSync(join(dir, '__pycache__'));
    writeFileSync(join(dir, '__pycache__', 'x.pyc'), 'cache');
    writeFileSync(join(dir, 'real.txt'), 'real');
    expect(await ws.readFiles(dir)).toEqual([{ path: 'real.txt', content: 'real' }]);
  });

  it('refuses to read a workspace beyond its limits and paths outside the workspace root', async () => {
    const dir = await ws.create('run-7');
    for (let i = 0; i < 11; i++) writeFileSync(join(dir, `f${i}.txt`), 'x');
    await expect(ws.readFiles(dir)).rejects.toMatchObject({ code: 'WORKSPACE_LIMIT_EXCEEDED' });
    await expect(ws.readFiles(outside)).rejects.toMatchObject({ code: 'WORKSPACE_UNSAFE_PATH' });
    await expect(ws.writeFiles(join(dataDir, 'workspaces'), [{ path: 'x', content: '' }])).rejects.toMatchObject({
      code: 'WORKSPACE_UNSAFE_PATH',
    });
  });

  it('makes a unified diff with added, changed and deleted files', () => {
    const diff = ws.diffFiles(
      [
        { path: 'same.txt', content: 'same\n' },
        { path: 'changed.js', content: 'a\nb\nc\n' },
        { path: 'gone.txt', content: 'bye\n' },
      ],
      [
        { path: 'same.txt', content: 'same\n' },
        { path: 'changed.js', content: 'a\nB\nc\n' },
        { path: 'new.txt', content: 'hi\n' },
      ],
    );
    expect(diff).toBe(
      [
        '--- a/changed.js',
        '+++ b/changed.js',
        '@@ -1,3 +1,3 @@',
        ' a',
        '-b',
        '+B',
        ' c',
        '--- a/gone.txt',
        '+++ /dev/null',
        '@@ -1,1 +0,0 @@',
        '-bye',
        '--- /dev/null',
        '+++ b/new.txt',
        '@@ -0,0 +1,1 @@',
        '+hi',
        '',
      ].join('\n'),
    );
    expect(ws.diffFiles([{ path: 'a', content: 'x' }], [{ path: 'a', content: 'x' }])).toBe('');
  });

  it('sweeps workspaces untouched for WORKSPACE_KEEP_HOURS', async () => {
    const old = await ws.create('old-run');
    const fresh = await ws.create('fresh-run');
    const past = new Date(Date.now() - 25 * 3_600_000);
    utimesSync(old, past, past);
    expect(await ws.sweep()).toBe(1);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(fresh)).toBe(true);
    expect(statSync(join(dataDir, 'workspaces')).mode & 0o777).toBe(0o711);
  });
});
